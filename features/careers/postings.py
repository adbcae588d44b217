"""Employer profiles and job postings: validation, the posting's life, the plan limit, expiry.

No Litestar here: controllers, jobs and tests call these functions directly.

A posting's life: draft -> pending (waits for an admin, features/careers/moderation.py) ->
active | rejected; active -> closed (the employer) | expired (its time is up); closed or
expired -> pending again (renew), and a new expiry is set when an admin approves it again.

Expiry is a rule applied when reading (an active posting whose `expires_at` has passed counts as
expired everywhere), so nothing depends on a job having run; `expire_due` also writes the status
down, so lists and counts in the database agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import structlog
from piccolo.columns.combination import Or

from features.careers import files
from features.careers.tables import EmployerProfile, Job, StoredFile
from portal import runtime
from portal.accounts.service import AccountView, admin_update
from portal.accounts.tables import Account
from portal.errors import NotFound, PortalError, ValidationFailed

log = structlog.get_logger("careers.postings")

# Fixed lists: the form offers them, the search filters on them, the JSON-LD maps them. -----

WORK_MODES = {"remote": "Remote", "hybrid": "Hybrid", "onsite": "On-site"}
EMPLOYMENT_TYPES = {
    "full_time": "Full-time",
    "part_time": "Part-time",
    "contract": "Contract",
    "per_diem": "Per diem",
    "temporary": "Temporary",
}
EXPERIENCE = {"entry": "Entry level", "mid": "Mid level", "senior": "Senior"}
CREDENTIALS = {
    "CPC": "Certified Professional Coder (AAPC)",
    "COC": "Certified Outpatient Coder (AAPC)",
    "CIC": "Certified Inpatient Coder (AAPC)",
    "CRC": "Certified Risk Adjustment Coder (AAPC)",
    "CPB": "Certified Professional Biller (AAPC)",
    "CPMA": "Certified Professional Medical Auditor (AAPC)",
    "CDIP": "Certified Documentation Integrity Practitioner (AHIMA)",
    "CCS": "Certified Coding Specialist (AHIMA)",
    "CCS-P": "Certified Coding Specialist – Physician-based (AHIMA)",
    "CCA": "Certified Coding Associate (AHIMA)",
    "RHIT": "Registered Health Information Technician (AHIMA)",
    "RHIA": "Registered Health Information Administrator (AHIMA)",
}
SPECIALTIES = (
    "Inpatient",
    "Outpatient",
    "Emergency department",
    "Evaluation and management",
    "Risk adjustment (HCC)",
    "Surgery",
    "Anesthesia",
    "Cardiology",
    "Oncology",
    "Orthopedics",
    "Radiology",
    "Pathology and laboratory",
    "Gastroenterology",
    "Obstetrics and gynecology",
    "Pediatrics",
    "Behavioral health",
    "Home health and hospice",
    "Auditing",
    "Clinical documentation (CDI)",
    "Denials and appeals",
    "Billing and AR",
)
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
}  # fmt: skip
STATUS_LABELS = {
    "draft": "Draft",
    "pending": "Waiting for review",
    "active": "Live",
    "rejected": "Not approved",
    "closed": "Closed",
    "expired": "Expired",
}
APPLY_MODES = {"portal": "On the portal (resume upload)", "external": "On our own site (a link)"}
SALARY_PERIODS = {"year": "per year", "hour": "per hour"}

HOURS_PER_YEAR = 2080  # 40 hours x 52 weeks: how hourly pay compares with yearly salaries
MAX_TITLE = 160
MAX_ORGANISATION = 160
MAX_CITY = 100
MAX_DESCRIPTION = 20_000
MAX_URL = 500
MAX_WEBSITE = 300
MAX_ABOUT = 5_000
MAX_YEARLY = 1_000_000
MAX_HOURLY = 500
POSTING_ROLES = ("employer", "admin")


class PlanLimitReached(PortalError):
    status_code = 409


class NotAllowed(PortalError):
    status_code = 403


class WrongState(PortalError):
    """The posting is not in a state that allows this (a double click, a stale page)."""

    status_code = 409


def _now() -> datetime:
    return datetime.now(UTC)


# Views -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployerView:
    account_id: int
    organisation: str
    website: str
    about: str
    logo_file_id: int | None

    @property
    def logo_url(self) -> str | None:
        return f"/careers/logos/{self.logo_file_id}" if self.logo_file_id else None


def _employer(row: Mapping[str, Any]) -> EmployerView:
    return EmployerView(
        account_id=row["account_id"],
        organisation=row["organisation"],
        website=row["website"],
        about=row["about"],
        logo_file_id=row["logo_file_id"],
    )


def _money(amount: int, period: str) -> str:
    if period == "hour":
        hourly = Decimal(amount) / HOURS_PER_YEAR
        return f"${hourly:,.2f}".replace(".00", "")
    return f"${amount:,}"


@dataclass(frozen=True)
class JobView:
    """A posting as pages, mails and feeds show it. `status` is the effective one: an active
    posting past its expiry reads "expired" even before `expire_due` has written it down."""

    id: int
    account_id: int
    title: str
    organisation: str
    city: str
    state: str
    work_mode: str
    employment_type: str
    credentials: tuple[str, ...]
    specialties: tuple[str, ...]
    experience: str
    salary_min: int | None
    salary_max: int | None
    salary_period: str
    description: str
    apply_mode: str
    apply_url: str
    status: str
    reject_reason: str
    posted_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def url(self) -> str:
        return f"/careers/jobs/{self.id}"

    @property
    def is_live(self) -> bool:
        return self.status == "active"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def work_mode_label(self) -> str:
        return WORK_MODES.get(self.work_mode, self.work_mode)

    @property
    def employment_type_label(self) -> str:
        return EMPLOYMENT_TYPES.get(self.employment_type, self.employment_type)

    @property
    def experience_label(self) -> str:
        return EXPERIENCE.get(self.experience, self.experience)

    @property
    def state_name(self) -> str:
        return STATES.get(self.state, self.state)

    @property
    def location_label(self) -> str:
        place = ", ".join(p for p in (self.city, self.state) if p)
        if self.work_mode == "remote":
            return (
                f"Remote ({self.state_name} only)" if self.state else "Remote (anywhere in the US)"
            )
        return f"{place} ({self.work_mode_label})" if place else self.work_mode_label

    @property
    def salary_top(self) -> int | None:
        """What the salary sort and filter compare: the top of the range, else its bottom."""
        return self.salary_max if self.salary_max is not None else self.salary_min

    @property
    def salary_label(self) -> str:
        low, high, period = self.salary_min, self.salary_max, self.salary_period
        per = SALARY_PERIODS.get(period, "per year")
        if low is not None and high is not None and low != high:
            return f"{_money(low, period)}–{_money(high, period)} {per}"
        if low is not None or high is not None:
            amount = low if low is not None else high
            assert amount is not None
            prefix = "From " if high is None else ("Up to " if low is None else "")
            return f"{prefix}{_money(amount, period)} {per}"
        return ""


def _json_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # a JSON column read without load_json
        value = json.loads(value or "[]")
    return tuple(str(v) for v in value or ())


def job_view(row: Mapping[str, Any], now: datetime | None = None) -> JobView:
    now = now or _now()
    status = row["status"]
    expires_at = row["expires_at"]
    if status == "active" and expires_at is not None and expires_at <= now:
        status = "expired"
    return JobView(
        id=row["id"],
        account_id=row["account_id"],
        title=row["title"],
        organisation=row["organisation"],
        city=row["city"],
        state=row["state"],
        work_mode=row["work_mode"],
        employment_type=row["employment_type"],
        credentials=_json_list(row["credentials"]),
        specialties=_json_list(row["specialties"]),
        experience=row["experience"],
        salary_min=row["salary_min"],
        salary_max=row["salary_max"],
        salary_period=row["salary_period"],
        description=row["description"],
        apply_mode=row["apply_mode"],
        apply_url=row["apply_url"],
        status=status,
        reject_reason=row["reject_reason"],
        posted_at=row["posted_at"],
        expires_at=expires_at,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# Listing columns: everything but search_text (only the search reads it, in SQL).
VIEW_COLUMNS = tuple(c for c in Job._meta.columns if c._meta.name != "search_text")


async def get_job(job_id: int) -> JobView | None:
    row = await Job.select(*VIEW_COLUMNS).where(Job.id == job_id).output(load_json=True).first()
    return job_view(row) if row else None


async def jobs_by_ids(ids: Iterable[int]) -> dict[int, JobView]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await Job.select(*VIEW_COLUMNS).where(Job.id.is_in(wanted)).output(load_json=True)
    now = _now()
    return {row["id"]: job_view(row, now) for row in rows}


async def jobs_of(account_id: int) -> list[JobView]:
    """An employer's postings: live and waiting first, then drafts, then the rest, newest first."""
    rows = (
        await Job.select(*VIEW_COLUMNS)
        .where(Job.account_id == account_id)
        .order_by(Job.updated_at, ascending=False)
        .output(load_json=True)
    )
    order = {"active": 0, "pending": 1, "rejected": 2, "draft": 3, "expired": 4, "closed": 5}
    now = _now()
    views = [job_view(row, now) for row in rows]
    return sorted(views, key=lambda j: order.get(j.status, 9))  # stable: newest first within


async def job_for_owner(account: AccountView, job_id: int) -> JobView:
    """The account's own posting; another employer's is "not found", not "forbidden", so ids
    say nothing about who posts what."""
    job = await get_job(job_id)
    if job is None or job.account_id != account.id:
        raise NotFound("There is no such posting, or it is not yours.")
    return job


# Employer profiles -----------------------------------------------------------------------------


def can_post(account: AccountView | None) -> bool:
    return account is not None and account.role in POSTING_ROLES


async def get_profile(account_id: int) -> EmployerView | None:
    row = await EmployerProfile.select().where(EmployerProfile.account_id == account_id).first()
    return _employer(row) if row else None


async def profiles_of(account_ids: Iterable[int]) -> dict[int, EmployerView]:
    wanted = list(set(account_ids))
    if not wanted:
        return {}
    rows = await EmployerProfile.select().where(EmployerProfile.account_id.is_in(wanted))
    return {row["account_id"]: _employer(row) for row in rows}


def _web_address(raw: str, field_name: str, max_chars: int, required: bool) -> str:
    """An http(s) address with a host; a bare "example.org" gets https:// in front."""
    value = raw.strip()
    if not value:
        if required:
            raise ValidationFailed({field_name: "Enter the address (https://...)."})
        return ""
    if len(value) > max_chars:
        raise ValidationFailed({field_name: f"The address is longer than {max_chars} characters."})
    if "://" not in value and not value.lower().startswith(("javascript:", "data:", "mailto:")):
        value = f"https://{value}"
    parts = urlsplit(value)
    host = parts.hostname or ""
    if (
        parts.scheme.lower() not in ("http", "https")
        or "." not in host
        or any(ch.isspace() for ch in value)
    ):
        raise ValidationFailed(
            {field_name: "Enter a web address starting with https:// or http://."}
        )
    return value


@dataclass(frozen=True)
class ProfileInput:
    organisation: str = ""
    website: str = ""
    about: str = ""


def _check_profile(data: ProfileInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    organisation = data.organisation.strip()
    if not organisation:
        errors["organisation"] = "Enter your organisation's name."
    elif len(organisation) > MAX_ORGANISATION:
        errors["organisation"] = f"Keep the name under {MAX_ORGANISATION} characters."
    try:
        website = _web_address(data.website, "website", MAX_WEBSITE, required=False)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        website = ""
    if len(data.about) > MAX_ABOUT:
        errors["about"] = f"Keep “About” under {MAX_ABOUT:,} characters ({len(data.about):,} now)."
    if errors:
        raise ValidationFailed(errors)
    return {"organisation": organisation, "website": website, "about": data.about.strip()}


async def save_profile(
    account: AccountView,
    data: ProfileInput,
    *,
    logo: tuple[str, bytes] | None = None,
    remove_logo: bool = False,
) -> EmployerView:
    """Create or update the account's employer profile; `logo` is (filename, bytes), checked by
    content. A member who creates a profile becomes an employer (staff keep their role)."""
    values = _check_profile(data)
    logo_id: int | None = None
    if logo is not None:
        try:
            logo_id = await files.store_logo(account.id, logo[0], logo[1])
        except files.UploadError as exc:
            raise ValidationFailed({"logo": str(exc)}) from exc
    old = await get_profile(account.id)
    if logo_id is not None:
        new_logo = logo_id
    elif remove_logo or old is None:
        new_logo = None
    else:
        new_logo = old.logo_file_id
    now = _now()
    if old is None:
        await EmployerProfile.insert(
            EmployerProfile(account_id=account.id, logo_file_id=new_logo, **values)
        ).on_conflict(target=EmployerProfile.account_id, action="DO NOTHING")
    await EmployerProfile.update(
        {
            EmployerProfile.organisation: values["organisation"],
            EmployerProfile.website: values["website"],
            EmployerProfile.about: values["about"],
            EmployerProfile.logo_file_id: new_logo,
            EmployerProfile.updated_at: now,
        }
    ).where(EmployerProfile.account_id == account.id)
    if old is not None and old.logo_file_id and old.logo_file_id != new_logo:
        # The old logo is nobody's any more; browsers that cached it never ask again (new id).
        await StoredFile.delete().where(StoredFile.id == old.logo_file_id)
    await _become_employer(account.id)
    profile = await get_profile(account.id)
    assert profile is not None
    return profile


async def _become_employer(account_id: int) -> None:
    """A member with a profile is an employer. Through the accounts service (cache, audit log),
    with the row's own plan and status, not the request's cached view of them."""
    row = (
        await Account.select(Account.role, Account.plan, Account.disabled)
        .where(Account.id == account_id)
        .first()
    )
    if row is None or row["role"] != "member":
        return  # staff keep their role
    await admin_update(
        account_id,
        role="employer",
        plan=row["plan"],
        disabled=bool(row["disabled"]),
        actor_id=account_id,
    )
    log.info("member became an employer", account_id=account_id)


async def is_logo(file_id: int) -> bool:
    """Logos are public; any other stored file (a resume) is not served by the logo route."""
    return await EmployerProfile.exists().where(EmployerProfile.logo_file_id == file_id)


# Job input and validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class JobInput:
    """The posting form as typed: strings, and the chosen boxes of the two lists."""

    title: str = ""
    organisation: str = ""
    city: str = ""
    state: str = ""
    work_mode: str = ""
    employment_type: str = ""
    credentials: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()
    experience: str = ""
    salary_min: str = ""
    salary_max: str = ""
    salary_period: str = "year"
    description: str = ""
    apply_mode: str = "portal"
    apply_url: str = ""

    @classmethod
    def from_form(
        cls, fields: Mapping[str, str], lists: Mapping[str, list[str]] | None = None
    ) -> JobInput:
        lists = lists or {}
        text = {
            name: str(fields.get(name, "") or "")
            for name in cls.__dataclass_fields__
            if name not in ("credentials", "specialties")
        }
        text["salary_period"] = text["salary_period"] or "year"
        text["apply_mode"] = text["apply_mode"] or "portal"
        return cls(
            credentials=tuple(lists.get("credentials", ())),
            specialties=tuple(lists.get("specialties", ())),
            **text,
        )

    @classmethod
    def from_job(cls, job: JobView) -> JobInput:
        def amount(value: int | None) -> str:
            if value is None:
                return ""
            if job.salary_period == "hour":
                return f"{Decimal(value) / HOURS_PER_YEAR:.2f}".replace(".00", "")
            return str(value)

        return cls(
            title=job.title,
            organisation=job.organisation,
            city=job.city,
            state=job.state,
            work_mode=job.work_mode,
            employment_type=job.employment_type,
            credentials=job.credentials,
            specialties=job.specialties,
            experience=job.experience,
            salary_min=amount(job.salary_min),
            salary_max=amount(job.salary_max),
            salary_period=job.salary_period,
            description=job.description,
            apply_mode=job.apply_mode,
            apply_url=job.apply_url,
        )


_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")


def _amount(raw: str, period: str, label: str) -> tuple[int | None, str | None]:
    """(yearly dollars or None, error message or None) for one end of the pay range."""
    value = raw.strip().replace(",", "").replace("$", "").replace(" ", "")
    if not value:
        return None, None
    if not _MONEY.match(value):
        return None, f"Enter the {label} pay as a number, like 52000 or 25.50."
    number = Decimal(value)
    if number <= 0:
        return None, f"The {label} pay must be more than zero."
    if period == "hour":
        if number > MAX_HOURLY:
            return None, f"${number:,} an hour looks like a yearly salary: choose “per year”."
        return int((number * HOURS_PER_YEAR).to_integral_value()), None
    if number < 1000:
        return None, f"${number:,} a year looks like an hourly rate: choose “per hour”."
    if number > MAX_YEARLY:
        return None, f"Enter a yearly salary up to ${MAX_YEARLY:,}."
    return int(number.to_integral_value()), None


def validate_job(data: JobInput) -> dict[str, Any]:
    """The posting's column values, or ValidationFailed naming each field that needs fixing."""
    errors: dict[str, str] = {}
    title = " ".join(data.title.split())
    if not title:
        errors["title"] = "Enter the job title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title under {MAX_TITLE} characters ({len(title)} now)."
    organisation = " ".join(data.organisation.split())
    if not organisation:
        errors["organisation"] = "Enter the organisation that is hiring."
    elif len(organisation) > MAX_ORGANISATION:
        errors["organisation"] = f"Keep the organisation under {MAX_ORGANISATION} characters."
    work_mode = data.work_mode.strip()
    if work_mode not in WORK_MODES:
        errors["work_mode"] = "Choose remote, hybrid or on-site."
    city = " ".join(data.city.split())
    if len(city) > MAX_CITY:
        errors["city"] = f"Keep the city under {MAX_CITY} characters."
    elif not city and work_mode in ("hybrid", "onsite"):
        errors["city"] = "Enter the city where the job is (needed for hybrid and on-site jobs)."
    state = data.state.strip().upper()
    if state and state not in STATES:
        errors["state"] = "Choose a state from the list (a two-letter USPS code such as TX)."
    elif not state and work_mode in ("hybrid", "onsite"):
        errors["state"] = "Choose the state where the job is (needed for hybrid and on-site jobs)."
    if data.employment_type not in EMPLOYMENT_TYPES:
        errors["employment_type"] = "Choose the type of employment."
    if data.experience not in EXPERIENCE:
        errors["experience"] = "Choose the experience level."
    unknown = [c for c in data.credentials if c not in CREDENTIALS]
    if unknown:
        errors["credentials"] = (
            f"Unknown credential “{unknown[0][:20]}”: choose from {', '.join(CREDENTIALS)}."
        )
    odd = [s for s in data.specialties if s not in SPECIALTIES]
    if odd:
        errors["specialties"] = f"Unknown specialty “{odd[0][:40]}”: choose from the list."
    period = data.salary_period if data.salary_period in SALARY_PERIODS else ""
    if not period:
        errors["salary_period"] = "Choose per year or per hour."
    low, low_error = _amount(data.salary_min, period or "year", "lowest")
    high, high_error = _amount(data.salary_max, period or "year", "highest")
    if low_error:
        errors["salary_min"] = low_error
    if high_error:
        errors["salary_max"] = high_error
    if low is not None and high is not None and low > high:
        errors["salary_max"] = "The highest pay must be at least the lowest pay."
    description = data.description.strip()
    if not description:
        errors["description"] = "Describe the job: duties, requirements, schedule, benefits."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = (
            f"Keep the description under {MAX_DESCRIPTION:,} characters ({len(description):,} now)."
        )
    apply_url = ""
    if data.apply_mode not in APPLY_MODES:
        errors["apply_mode"] = "Choose how people apply."
    elif data.apply_mode == "external":
        try:
            apply_url = _web_address(data.apply_url, "apply_url", MAX_URL, required=True)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    values: dict[str, Any] = {
        "title": title,
        "organisation": organisation,
        "city": city,
        "state": state,
        "work_mode": work_mode,
        "employment_type": data.employment_type,
        # In the lists' own order, once each, whatever order the form sent.
        "credentials": [c for c in CREDENTIALS if c in data.credentials],
        "specialties": [s for s in SPECIALTIES if s in data.specialties],
        "experience": data.experience,
        "salary_min": low,
        "salary_max": high,
        "salary_period": period,
        "description": description,
        "apply_mode": data.apply_mode,
        "apply_url": apply_url,
    }
    values["search_text"] = search_text(values)
    return values


def search_text(values: Mapping[str, Any]) -> str:
    """What full-text search matches: lower case, every field a reader might type."""
    parts = [
        values["title"],
        values["organisation"],
        values["city"],
        values["state"],
        STATES.get(values["state"], ""),
        WORK_MODES.get(values["work_mode"], ""),
        EMPLOYMENT_TYPES.get(values["employment_type"], ""),
        EXPERIENCE.get(values["experience"], ""),
        " ".join(values["credentials"]),
        " ".join(values["specialties"]),
        values["description"],
    ]
    return "\n".join(p for p in parts if p).lower()


def _column_values(values: Mapping[str, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for name, value in values.items():
        column = Job._meta.get_column_by_name(name)
        # JSON columns take their text in an UPDATE on both databases.
        out[column] = json.dumps(value) if name in ("credentials", "specialties") else value
    return out


# The plan limit ----------------------------------------------------------------------------------


def posting_limit(account: AccountView) -> int | None:
    """How many postings the account may have live or waiting at once; None: no limit."""
    if account.role == "admin":
        return None
    limits = runtime.current().settings.careers.active_postings
    return int(limits.get(account.plan, limits.get("free", 1)))


def _counted(now: datetime) -> Any:
    """Postings that use a plan slot: waiting for review, or live and not yet expired."""
    return Or(Job.status == "pending", (Job.status == "active") & (Job.expires_at > now))


async def slots_used(account_id: int) -> int:
    return await Job.count().where((Job.account_id == account_id) & _counted(_now()))


def limit_message(limit: int, plan: str) -> str:
    noun = "posting" if limit == 1 else "postings"
    more = (
        " Close one, or upgrade to Pro to run more at once."
        if plan == "free"
        else " Close one to submit another."
    )
    return (
        f"Your {plan.title()} plan allows {limit} {noun} live or waiting for review at a time, "
        f"and you have {limit}.{more}"
    )


async def _to_pending(account: AccountView, job: JobView, allowed_from: tuple[str, ...]) -> None:
    """Move a posting to pending within the plan limit. Two submits racing could both pass a
    count-then-write check, so the write comes first and is undone if the count is then over."""
    limit = posting_limit(account)
    if limit is not None and await slots_used(account.id) >= limit:
        raise PlanLimitReached(limit_message(limit, account.plan))
    raw = ("active",) if "expired" in allowed_from else ()
    updated = (
        await Job.update({Job.status: "pending", Job.reject_reason: "", Job.updated_at: _now()})
        .where((Job.id == job.id) & Job.status.is_in([*allowed_from, *raw]))
        .returning(Job.id)
    )
    if not updated:
        raise WrongState("This posting cannot be sent for review now: reload the page.")
    if limit is not None and await slots_used(account.id) > limit:
        await Job.update({Job.status: job.status}).where(Job.id == job.id)
        raise PlanLimitReached(limit_message(limit, account.plan))


# The posting's life ----------------------------------------------------------------------------


def _require_poster(account: AccountView) -> None:
    if not can_post(account):
        raise NotAllowed("Only employer accounts post jobs: create your employer profile first.")


async def create_job(account: AccountView, data: JobInput) -> JobView:
    """A new posting, saved as a draft."""
    _require_poster(account)
    values = validate_job(data)
    row = Job(account_id=account.id, status="draft", **values)
    await row.save()
    job = await get_job(int(row.id))
    assert job is not None
    log.info("job draft created", job_id=job.id, account_id=account.id)
    return job


async def update_job(account: AccountView, job_id: int, data: JobInput) -> JobView:
    """Save edits. A live posting goes back to review (what an admin approved is what shows);
    a waiting one stays waiting; drafts, rejected, closed and expired ones keep their status."""
    _require_poster(account)
    job = await job_for_owner(account, job_id)
    values = validate_job(data)
    changes = _column_values(values)
    changes[Job.updated_at] = _now()
    if job.status == "active":
        changes[Job.status] = "pending"
    await Job.update(changes).where(Job.id == job.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    return fresh


async def submit_job(account: AccountView, job_id: int) -> JobView:
    """Send a draft (or a rejected posting, after edits) to the admins for review."""
    _require_poster(account)
    job = await job_for_owner(account, job_id)
    if job.status == "pending":
        return job  # a second click
    if job.status not in ("draft", "rejected"):
        raise WrongState(f"This posting is {job.status_label.lower()}; it cannot be submitted.")
    await _to_pending(account, job, ("draft", "rejected"))
    log.info("job submitted for review", job_id=job.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    return fresh


async def close_job(account: AccountView, job_id: int) -> JobView:
    """Take a live or waiting posting down; it can be renewed later."""
    job = await job_for_owner(account, job_id)
    if job.status == "closed":
        return job
    if job.status not in ("active", "pending"):
        raise WrongState(f"This posting is {job.status_label.lower()}; there is nothing to close.")
    await Job.update({Job.status: "closed", Job.updated_at: _now()}).where(
        (Job.id == job.id) & Job.status.is_in(["active", "pending"])
    )
    log.info("job closed", job_id=job.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    return fresh


async def renew_job(account: AccountView, job_id: int) -> JobView:
    """A closed or expired posting goes back to review; approval starts a new posting period."""
    _require_poster(account)
    job = await job_for_owner(account, job_id)
    if job.status == "pending":
        return job
    if job.status not in ("closed", "expired"):
        raise WrongState(
            f"This posting is {job.status_label.lower()}; only closed or expired "
            "postings are renewed."
        )
    await _to_pending(account, job, ("closed", "expired"))
    log.info("job renewed", job_id=job.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    return fresh


async def delete_draft(account: AccountView, job_id: int) -> None:
    job = await job_for_owner(account, job_id)
    if job.status != "draft":
        raise WrongState("Only drafts are deleted; close a posting instead.")
    await Job.delete().where((Job.id == job.id) & (Job.status == "draft"))


async def expire_due(now: datetime | None = None) -> int:
    """Write down the expiry of live postings whose time is up; how many. Safe to run anywhere
    and often (the search calls it, the daily job too): reads never depend on it."""
    now = now or _now()
    rows = (
        await Job.update({Job.status: "expired", Job.updated_at: now})
        .where((Job.status == "active") & (Job.expires_at <= now))
        .returning(Job.id)
    )
    if rows:
        log.info("jobs expired", count=len(rows))
    return len(rows)


@dataclass(frozen=True)
class Dashboard:
    """What the employer's page shows."""

    profile: EmployerView | None
    jobs: list[JobView] = field(default_factory=list)
    used: int = 0
    limit: int | None = None

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.used >= self.limit


async def dashboard(account: AccountView) -> Dashboard:
    return Dashboard(
        profile=await get_profile(account.id),
        jobs=await jobs_of(account.id),
        used=await slots_used(account.id),
        limit=posting_limit(account),
    )
