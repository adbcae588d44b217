"""Moderation: every new or renewed posting waits for an admin, who approves it (it goes live for
`posting_days`) or rejects it with a reason the employer receives by mail.

No Litestar here. Decisions are conditional updates (status still "pending"), so a double click or
two admins at once decide once and mail once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from features.careers.postings import (
    VIEW_COLUMNS,
    EmployerView,
    JobView,
    NotAllowed,
    WrongState,
    get_job,
    job_view,
    profiles_of,
)
from features.careers.tables import Job
from portal import runtime
from portal.accounts.service import AccountView, get_account
from portal.accounts.tables import Account
from portal.errors import NotFound, ValidationFailed
from portal.mail.sender import send_mail

log = structlog.get_logger("careers.moderation")

MAX_REASON = 2000


@dataclass(frozen=True)
class PendingJob:
    job: JobView
    employer_email: str
    profile: EmployerView | None


def _require_admin(account: AccountView) -> None:
    if not account.is_admin:
        raise NotAllowed("Only admins moderate postings.")


async def pending_jobs() -> list[PendingJob]:
    """Postings waiting for review, the longest-waiting first (updated_at: when submitted)."""
    rows = (
        await Job.select(*VIEW_COLUMNS)
        .where(Job.status == "pending")
        .order_by(Job.updated_at)
        .output(load_json=True)
    )
    jobs = [job_view(row) for row in rows]
    owners = list({j.account_id for j in jobs})
    emails: dict[int, str] = {}
    if owners:
        found = await Account.select(Account.id, Account.email).where(Account.id.is_in(owners))
        emails = {r["id"]: r["email"] for r in found}
    profiles = await profiles_of(owners)
    return [PendingJob(j, emails.get(j.account_id, ""), profiles.get(j.account_id)) for j in jobs]


async def pending_count() -> int:
    return await Job.count().where(Job.status == "pending")


async def _pending(job_id: int, seen: str | None) -> JobView:
    job = await get_job(job_id)
    if job is None:
        raise NotFound("There is no such posting.")
    if job.status != "pending":
        raise WrongState(f"This posting was already decided: it is {job.status_label.lower()}.")
    if seen and seen != version(job):
        raise WrongState("The employer changed this posting after you opened it: review it again.")
    return job


def version(job: JobView) -> str:
    """Which version of a waiting posting an admin saw (the form sends it back), and which
    review round a decision belongs to: a posting rejected, edited and sent again is a new round
    and gets a new mail, while a retried decision of the same round is deduplicated."""
    return str(int(job.updated_at.timestamp() * 1000))


async def approve(admin: AccountView, job_id: int, seen: str | None = None) -> JobView:
    _require_admin(admin)
    job = await _pending(job_id, seen)
    now = datetime.now(UTC)
    days = runtime.current().settings.careers.posting_days
    expires = now + timedelta(days=days)
    updated = (
        await Job.update(
            {
                Job.status: "active",
                Job.posted_at: now,
                Job.expires_at: expires,
                Job.reject_reason: "",
                Job.updated_at: now,
            }
        )
        .where((Job.id == job.id) & (Job.status == "pending"))
        .returning(Job.id)
    )
    if not updated:
        raise WrongState("This posting was decided a moment ago: reload the page.")
    log.info("job approved", job_id=job.id, admin_id=admin.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    await _mail(fresh, "approved", version(job))
    return fresh


async def reject(admin: AccountView, job_id: int, reason: str, seen: str | None = None) -> JobView:
    _require_admin(admin)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why: the employer reads it and fixes the posting."})
    if len(reason) > MAX_REASON:
        raise ValidationFailed({"reason": f"Keep the reason under {MAX_REASON:,} characters."})
    job = await _pending(job_id, seen)
    now = datetime.now(UTC)
    updated = (
        await Job.update({Job.status: "rejected", Job.reject_reason: reason, Job.updated_at: now})
        .where((Job.id == job.id) & (Job.status == "pending"))
        .returning(Job.id)
    )
    if not updated:
        raise WrongState("This posting was decided a moment ago: reload the page.")
    log.info("job rejected", job_id=job.id, admin_id=admin.id)
    fresh = await get_job(job.id)
    assert fresh is not None
    await _mail(fresh, "rejected", version(job))
    return fresh


async def _mail(job: JobView, decision: str, review_round: str) -> None:
    employer = await get_account(job.account_id)
    if employer is None:  # disabled or deleted since: nobody to tell
        return
    title = job.title if len(job.title) <= 80 else job.title[:79] + "…"
    subject = (
        f"Your job posting is live: {title}"
        if decision == "approved"
        else f"Your job posting needs changes: {title}"
    )
    await send_mail(
        employer.email,
        subject,
        f"careers_job_{decision}",
        {"job": job},
        dedupe_key=f"careers:job:{job.id}:{decision}:{review_round}",
    )
