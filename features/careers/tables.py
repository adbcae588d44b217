"""CareerCenter: employer profiles, job postings, applications, saved jobs, alerts, and the
files (logos, resumes) kept in the database so every app process serves the same ones.

Rows name accounts by id (the `account` table is another Piccolo app's); `on_account_deleted`
removes them.
"""

from piccolo.columns import JSON, Boolean, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class StoredFile(Table, tablename="careers_file"):
    """An uploaded file, checked by content; served only through the controllers that check
    who may see it (a resume: the applicant and the job's employer)."""

    owner_id = Integer(index=True)  # the account that uploaded it
    kind = Varchar(length=8)  # pdf | docx | png | jpeg | webp
    filename = Varchar(length=120)  # sanitised
    size = Integer()
    data = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class EmployerProfile(Table, tablename="careers_employer"):
    account_id = Integer(unique=True)
    organisation = Varchar(length=160)
    website = Varchar(length=300, default="")
    about = Text(default="")  # Markdown, rendered sanitised
    logo_file_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Job(Table, tablename="careers_job"):
    account_id = Integer(index=True)  # the employer
    title = Varchar(length=160)
    organisation = Varchar(length=160)
    city = Varchar(length=100, default="")
    state = Varchar(length=2, default="", index=True)  # USPS code; "" for remote-anywhere
    work_mode = Varchar(length=8, index=True)  # remote | hybrid | onsite
    employment_type = Varchar(length=12)  # full_time | part_time | contract | per_diem | temporary
    credentials = JSON(default="[]")  # ["CPC", "CCS", ...]
    specialties = JSON(default="[]")  # ["Cardiology", "Inpatient", ...]
    experience = Varchar(length=8, index=True)  # entry | mid | senior
    salary_min = Integer(null=True, default=None)  # yearly USD (hourly pay is stored x 2080)
    salary_max = Integer(null=True, default=None)
    salary_period = Varchar(length=6, default="year")  # year | hour: as the employer wrote it
    description = Text()  # Markdown, rendered sanitised with nh3
    apply_mode = Varchar(length=8, default="portal")  # portal | external
    apply_url = Varchar(length=500, default="")
    # draft -> pending (waits for an admin) -> active | rejected; active -> closed | expired;
    # renew: closed/expired -> pending again.
    status = Varchar(length=10, default="draft", index=True)
    reject_reason = Text(default="")
    search_text = Text(default="")  # title, organisation, place, credentials, specialties, text
    posted_at = Timestamptz(null=True, default=None, index=True)  # approved (goes live)
    expires_at = Timestamptz(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Application(Table, tablename="careers_application"):
    """One account's application to one job (unique pair, in the migration)."""

    job_id = Integer(index=True)
    account_id = Integer(index=True)  # the applicant
    cover_note = Text(default="")
    resume_file_id = Integer()
    status = Varchar(length=10, default="new")  # new reviewing interview rejected hired
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class SavedJob(Table, tablename="careers_saved_job"):
    account_id = Integer(index=True)
    job_id = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class JobAlert(Table, tablename="careers_alert"):
    account_id = Integer(index=True)
    query = JSON(default="{}")  # the search form's fields, as /careers takes them
    frequency = Varchar(length=6, default="daily")  # daily | weekly
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class AlertDelivery(Table, tablename="careers_alert_delivery"):
    """One digest per alert and period (unique pair, in the migration): the cron job may run
    twice and the mail still goes once; the jobs it listed are not listed again."""

    alert_id = Integer(index=True)
    period = Varchar(length=12)  # "2026-11-27" (daily) or "2026-W48" (weekly)
    job_ids = JSON(default="[]")
    sent_at = Timestamptz(default=TimestamptzNow())
