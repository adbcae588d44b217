"""Applications, saved jobs and who may see a resume: the seeker's and the employer's services.

No Litestar here: controllers, jobs and tests call these functions directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from features.careers import files, postings
from features.careers.postings import JobView
from features.careers.tables import Application, Job, SavedJob, StoredFile
from portal import runtime
from portal.accounts.service import AccountView, get_account
from portal.accounts.tables import Account
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.mail.sender import send_mail

log = structlog.get_logger("portal.careers")

STATUSES = ("new", "reviewing", "interview", "rejected", "hired")
STATUS_LABELS = {
    "new": "New",
    "reviewing": "Reviewing",
    "interview": "Interview",
    "rejected": "Not selected",
    "hired": "Hired",
}


@dataclass(frozen=True)
class ApplicationView:
    id: int
    job_id: int
    account_id: int
    status: str
    cover_note: str
    resume_file_id: int
    created_at: datetime
    updated_at: datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _application(row: dict) -> ApplicationView:
    return ApplicationView(
        id=row["id"],
        job_id=row["job_id"],
        account_id=row["account_id"],
        status=row["status"],
        cover_note=row["cover_note"],
        resume_file_id=row["resume_file_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@dataclass(frozen=True)
class JobActions:
    """What the job page offers this reader: apply, the existing application, save."""

    application: ApplicationView | None
    saved: bool
    can_apply: bool
    # Why not, when can_apply is False: "guest" (log in first), "own" (the employer's own job),
    # "external" (apply on the employer's site), "applied", "closed" (not active).
    reason: str = ""


async def application_of(account_id: int, job_id: int) -> ApplicationView | None:
    row = (
        await Application.select()
        .where((Application.job_id == job_id) & (Application.account_id == account_id))
        .first()
    )
    return _application(row) if row else None


async def application_by_id(application_id: int) -> ApplicationView | None:
    """No access check: callers have done theirs (set_status, resume_for)."""
    row = await Application.select().where(Application.id == application_id).first()
    return _application(row) if row else None


async def is_saved(account_id: int, job_id: int) -> bool:
    return await SavedJob.exists().where(
        (SavedJob.account_id == account_id) & (SavedJob.job_id == job_id)
    )


async def job_actions(account: AccountView | None, job_id: int) -> JobActions:
    job = await postings.get_job(job_id)  # the effective status: past its expiry is expired
    if account is None:
        reason = "external" if job and job.apply_mode == "external" else "guest"
        return JobActions(None, False, False, reason)
    application = await application_of(account.id, job_id)
    saved = await is_saved(account.id, job_id)
    if application is not None:
        reason = "applied"
    elif job is None or job.status != "active":
        reason = "closed"
    elif job.account_id == account.id:
        reason = "own"
    elif job.apply_mode != "portal":
        reason = "external"
    else:
        reason = ""
    return JobActions(application, saved, reason == "", reason)


# --- applying --------------------------------------------------------------------------------

MAX_COVER_NOTE_CHARS = 5000


class ApplyRefused(PortalError):
    """The job does not take this application (closed, external, the employer's own)."""

    status_code = 409


@dataclass(frozen=True)
class Applied:
    application: ApplicationView
    created: bool  # False: the account had applied already (a second click shows the first)


async def apply(
    account: AccountView, job_id: int, cover_note: str, filename: str, data: bytes
) -> Applied:
    """Apply with a resume (checked by content) and a cover note; once per account and job.

    Raises NotFound (no such job), ApplyRefused, or ValidationFailed with the field to fix.
    """
    existing = await application_of(account.id, job_id)
    if existing is not None:
        return Applied(existing, created=False)
    job = await postings.get_job(job_id)
    if job is None:
        raise NotFound("There is no such job.")
    _check_open(job, account)
    # Browsers send CRLF line ends; the textarea's maxlength counts one character per line end.
    note = (cover_note or "").replace("\r\n", "\n").strip()
    if len(note) > MAX_COVER_NOTE_CHARS:
        raise ValidationFailed(
            {"cover_note": f"The cover note is longer than {MAX_COVER_NOTE_CHARS:,} characters."}
        )
    if not data or not filename:
        raise ValidationFailed({"resume": "Choose your resume: a PDF or Word (.docx) file."})
    try:
        file_id = await files.store_resume(account.id, filename, data)
    except files.UploadError as exc:
        raise ValidationFailed({"resume": str(exc)}) from exc
    rows = (
        await Application.insert(
            Application(
                job_id=job_id, account_id=account.id, cover_note=note, resume_file_id=file_id
            )
        )
        .on_conflict(target=(Application.job_id, Application.account_id), action="DO NOTHING")
        .returning(Application.id)
    )
    if not rows:  # a concurrent submit of the same form won: keep its application, not our file
        await StoredFile.delete().where(StoredFile.id == file_id)
        first = await application_of(account.id, job_id)
        assert first is not None
        return Applied(first, created=False)
    application = await application_of(account.id, job_id)
    assert application is not None
    await _mail_employer(application, job, account)
    log.info("application received", application_id=application.id, job_id=job_id)
    return Applied(application, created=True)


def _check_open(job: JobView, account: AccountView) -> None:
    if job.account_id == account.id:
        raise ApplyRefused("This is your own posting: you cannot apply to it.")
    if job.status != "active":
        raise ApplyRefused("This job is no longer taking applications.")
    if job.apply_mode != "portal":
        raise ApplyRefused("This employer takes applications on its own site.")


async def _mail_employer(application: ApplicationView, job: JobView, who: AccountView) -> None:
    employer = await get_account(job.account_id)
    if employer is None:
        return
    await send_mail(
        employer.email,
        f"New application: {job.title}",
        "careers_new_application",
        {
            "job": job,
            "applicant_email": who.email,
            "link": f"{_base_url()}/careers/employer/jobs/{job.id}/applicants",
        },
        dedupe_key=f"careers-application:{application.id}:received",
    )


def _base_url() -> str:
    return runtime.current().settings.base_url


# --- the employer's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    application: ApplicationView
    email: str
    resume_name: str
    resume_size: int


def _manages(reader: AccountView, job: JobView, *, admin_too: bool = True) -> bool:
    return job.account_id == reader.id or (admin_too and reader.is_admin)


async def applicants(reader: AccountView, job_id: int) -> tuple[JobView, list[Applicant]] | None:
    """The job's applications, newest first, for its employer (or an admin); else None."""
    job = await postings.get_job(job_id)
    if job is None or not _manages(reader, job):
        return None
    rows = (
        await Application.select()
        .where(Application.job_id == job_id)
        .order_by(Application.created_at, ascending=False)
    )
    emails = await _emails({r["account_id"] for r in rows})
    resumes = await _resume_meta({r["resume_file_id"] for r in rows})
    people = [
        Applicant(
            _application(r),
            emails.get(r["account_id"], "(deleted account)"),
            *resumes.get(r["resume_file_id"], ("", 0)),
        )
        for r in rows
    ]
    return job, people


async def applicant_counts(job_ids: list[int]) -> dict[int, dict[str, int]]:
    """Applications per job and status (for an employer's dashboard): {job_id: {status: n}}."""
    if not job_ids:
        return {}
    rows = await Application.select(Application.job_id, Application.status).where(
        Application.job_id.is_in(job_ids)
    )
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        per_job = counts.setdefault(r["job_id"], {})
        per_job[r["status"]] = per_job.get(r["status"], 0) + 1
    return counts


async def _emails(account_ids: set[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    rows = await Account.select(Account.id, Account.email).where(
        Account.id.is_in(list(account_ids))
    )
    return {r["id"]: r["email"] for r in rows}


async def _resume_meta(file_ids: set[int]) -> dict[int, tuple[str, int]]:
    if not file_ids:
        return {}
    rows = await StoredFile.select(StoredFile.id, StoredFile.filename, StoredFile.size).where(
        StoredFile.id.is_in(list(file_ids))
    )
    return {r["id"]: (r["filename"], r["size"]) for r in rows}


async def set_status(actor: AccountView, application_id: int, status: str) -> ApplicationView:
    """Move an application to `status` (the job's employer only) and mail the applicant.

    Any move is allowed except back to "new" (it means "not looked at yet"): an employer must be
    able to undo a mis-click, even on a final status. Raises NotFound for anyone else.
    """
    row = await Application.select().where(Application.id == application_id).first()
    job = await postings.get_job(row["job_id"]) if row else None
    if row is None or job is None or not _manages(actor, job, admin_too=False):
        raise NotFound("There is no such application.")
    if status == row["status"]:
        return _application(row)  # a second click, or Update without a change
    if status not in STATUSES or status == "new":
        raise ValidationFailed({"status": "Choose reviewing, interview, not selected or hired."})
    # Conditional update: of two concurrent changes to the same status, one mails.
    changed = (
        await Application.update(
            {Application.status: status, Application.updated_at: datetime.now(UTC)}
        )
        .where((Application.id == application_id) & (Application.status != status))
        .returning(Application.id)
    )
    application = await application_of(row["account_id"], row["job_id"])
    assert application is not None
    if changed:
        await _mail_status(application, job)
    return application


async def _mail_status(application: ApplicationView, job: JobView) -> None:
    applicant = await get_account(application.account_id)
    if applicant is None:
        return
    await send_mail(
        applicant.email,
        f"Your application for {job.title}: {application.status_label}",
        "careers_application_status",
        {
            "job": job,
            "status": application.status,
            "status_label": application.status_label,
            "link": f"{_base_url()}/careers/my#application-{application.id}",
        },
        # Once per application and status: flipping back and forth does not mail again.
        dedupe_key=f"careers-application:{application.id}:status:{application.status}",
    )


async def resume_for(reader: AccountView | None, application_id: int) -> files.StoredView | None:
    """The application's resume for the applicant or the job's employer; None for anyone else
    (the caller answers 404, so nobody learns that the application exists)."""
    if reader is None:
        return None
    row = await Application.select().where(Application.id == application_id).first()
    if row is None:
        return None
    if row["account_id"] != reader.id:
        job = await postings.get_job(row["job_id"])
        if job is None or job.account_id != reader.id:
            return None
    return await files.get(row["resume_file_id"])


# --- the seeker's lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class MyApplication:
    application: ApplicationView
    job: JobView | None  # None: the posting was deleted
    resume_name: str


async def my_applications(account_id: int) -> list[MyApplication]:
    rows = (
        await Application.select()
        .where(Application.account_id == account_id)
        .order_by(Application.created_at, ascending=False)
    )
    cards = await postings.jobs_by_ids(r["job_id"] for r in rows)
    resumes = await _resume_meta({r["resume_file_id"] for r in rows})
    return [
        MyApplication(
            _application(r), cards.get(r["job_id"]), resumes.get(r["resume_file_id"], ("", 0))[0]
        )
        for r in rows
    ]


async def set_saved(account_id: int, job_id: int, saved: bool) -> bool:
    """Save or unsave a job; idempotent (the form says which it wants, so a double click of
    Save leaves it saved). Returns the new state. Raises NotFound for an unknown job."""
    if saved:
        if not await Job.exists().where(Job.id == job_id):
            raise NotFound("There is no such job.")
        await SavedJob.insert(SavedJob(account_id=account_id, job_id=job_id)).on_conflict(
            target=(SavedJob.account_id, SavedJob.job_id), action="DO NOTHING"
        )
    else:
        await SavedJob.delete().where(
            (SavedJob.account_id == account_id) & (SavedJob.job_id == job_id)
        )
    return saved


async def toggle_saved(account_id: int, job_id: int) -> bool:
    return await set_saved(account_id, job_id, not await is_saved(account_id, job_id))


async def saved_jobs(account_id: int) -> list[JobView]:
    """Saved jobs, most recently saved first (closed ones too, marked, so the list explains
    where a job went)."""
    rows = (
        await SavedJob.select(SavedJob.job_id)
        .where(SavedJob.account_id == account_id)
        .order_by(SavedJob.created_at, ascending=False)
    )
    ids = [r["job_id"] for r in rows]
    jobs = await postings.jobs_by_ids(ids)
    return [jobs[i] for i in ids if i in jobs]


async def forget_account(account_id: int) -> None:
    """An account is deleted: its applications, resumes and saved jobs go with it."""
    await Application.delete().where(Application.account_id == account_id)
    await SavedJob.delete().where(SavedJob.account_id == account_id)
    await files.delete_owned_by(account_id)
