"""Job alerts: a saved search mailed as a daily or weekly digest of new matches, with a signed
one-click unsubscribe link; and CareerCenter's scheduled jobs.

No Litestar here. The digest job is idempotent per alert and period: the AlertDelivery row
(unique per alert and period) is written before the mail, and the mail's dedupe key is the same
pair, so a second run in the same period (a retried job, a second worker) sends nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from features.careers import postings, search
from features.careers.postings import JobView
from features.careers.search import SearchForm
from features.careers.tables import AlertDelivery, JobAlert
from portal import runtime
from portal.accounts.service import AccountView
from portal.accounts.tables import Account
from portal.errors import ValidationFailed
from portal.jobs.schedule import Schedule
from portal.jobs.spec import JobSpec
from portal.mail.sender import send_mail

log = structlog.get_logger("careers.alerts")

FREQUENCIES = {"daily": "Daily", "weekly": "Weekly"}
MAX_ALERTS = 20  # per account: a digest per alert is already a lot of mail
MAX_MATCHES = 100  # new matches recorded per digest; the mail lists the first MAX_LISTED
MAX_LISTED = 20
# The search window opens a little before the last digest, so a posting approved while that
# digest was being built is not missed; what was listed before is left out by id.
OVERLAP = timedelta(hours=1)


@dataclass(frozen=True)
class AlertView:
    id: int
    account_id: int
    query: dict[str, str]
    frequency: str
    active: bool
    created_at: datetime

    @property
    def form(self) -> SearchForm:
        return SearchForm.from_query(self.query)

    @property
    def summary(self) -> str:
        return self.form.summary

    @property
    def search_url(self) -> str:
        return self.form.url()

    @property
    def frequency_label(self) -> str:
        return FREQUENCIES.get(self.frequency, self.frequency)


def _view(row: Mapping[str, Any]) -> AlertView:
    query = row["query"]
    return AlertView(
        id=row["id"],
        account_id=row["account_id"],
        query=dict(query) if isinstance(query, dict) else {},
        frequency=row["frequency"],
        active=row["active"],
        created_at=row["created_at"],
    )


async def _alerts(where: Any) -> list[AlertView]:
    rows = (
        await JobAlert.select()
        .where(where)
        .order_by(JobAlert.created_at, ascending=False)
        .output(load_json=True)
    )
    return [_view(r) for r in rows]


async def list_alerts(account_id: int) -> list[AlertView]:
    return await _alerts(JobAlert.account_id == account_id)


async def create_alert(
    account: AccountView, params: Mapping[str, Any], frequency: str
) -> AlertView:
    """An alert for the search `params` state (as /careers takes them). The same search again
    (a double click, a second visit) updates the first alert's frequency and turns it back on."""
    if frequency not in FREQUENCIES:
        raise ValidationFailed({"frequency": "Choose daily or weekly."})
    query = SearchForm.from_query(params).as_dict()
    query.pop("sort", None)  # a digest lists what is new, newest first, whatever the sort
    query.pop("posted_within", None)  # "new since the last digest" replaces it
    mine = await list_alerts(account.id)
    same = next((a for a in mine if a.query == query), None)
    if same is not None:
        await JobAlert.update({JobAlert.frequency: frequency, JobAlert.active: True}).where(
            JobAlert.id == same.id
        )
        return (await _alerts(JobAlert.id == same.id))[0]
    if len(mine) >= MAX_ALERTS:
        raise ValidationFailed(
            {"frequency": f"You have {MAX_ALERTS} alerts, the most we keep: delete one first."}
        )
    row = JobAlert(account_id=account.id, query=query, frequency=frequency, active=True)
    await row.save()
    log.info("alert created", alert_id=row.id, frequency=frequency)
    return (await _alerts(JobAlert.id == row.id))[0]


async def delete_alert(account_id: int, alert_id: int) -> bool:
    owned = (JobAlert.id == alert_id) & (JobAlert.account_id == account_id)
    if not await JobAlert.exists().where(owned):
        return False
    await AlertDelivery.delete().where(AlertDelivery.alert_id == alert_id)
    await JobAlert.delete().where(owned)
    return True


async def set_active(account_id: int, alert_id: int, active: bool) -> bool:
    rows = (
        await JobAlert.update({JobAlert.active: active})
        .where((JobAlert.id == alert_id) & (JobAlert.account_id == account_id))
        .returning(JobAlert.id)
    )
    return bool(rows)


async def forget_account(account_id: int) -> None:
    ids = [
        r["id"] for r in await JobAlert.select(JobAlert.id).where(JobAlert.account_id == account_id)
    ]
    if ids:
        await AlertDelivery.delete().where(AlertDelivery.alert_id.is_in(ids))
    await JobAlert.delete().where(JobAlert.account_id == account_id)


# --- the signed unsubscribe link --------------------------------------------------------------

_TOKEN = re.compile(r"^(\d{1,12})-([0-9a-f]{32})$")


def _signature(alert_id: int) -> str:
    key = runtime.current().settings.security.secret_key.encode()
    message = f"careers-alert-unsubscribe:{alert_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(alert_id: int) -> str:
    """The alert's own token: it works without logging in, for this alert only."""
    return f"{alert_id}-{_signature(alert_id)}"


def unsubscribe_url(alert_id: int) -> str:
    base = runtime.current().settings.base_url
    return f"{base}/careers/alerts/unsubscribe/{unsubscribe_token(alert_id)}"


def alert_id_from_token(token: str) -> int | None:
    match = _TOKEN.match(token or "")
    if not match:
        return None
    alert_id = int(match.group(1))
    return alert_id if hmac.compare_digest(match.group(2), _signature(alert_id)) else None


async def _by_token(token: str, active: bool) -> AlertView | None:
    alert_id = alert_id_from_token(token)
    if alert_id is None:
        return None
    await JobAlert.update({JobAlert.active: active}).where(JobAlert.id == alert_id)
    found = await _alerts(JobAlert.id == alert_id)
    return found[0] if found else None


async def unsubscribe(token: str) -> AlertView | None:
    """Turn the alert off (idempotent); None for a forged token or a deleted alert."""
    alert = await _by_token(token, active=False)
    if alert is not None:
        log.info("alert unsubscribed", alert_id=alert.id)
    return alert


async def resubscribe(token: str) -> AlertView | None:
    """Undo an unsubscribe (a mail scanner may have opened the link)."""
    return await _by_token(token, active=True)


# --- the digest -------------------------------------------------------------------------------

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    frequency: str
    key: str  # "2026-11-27" or "2026-W48"
    start: datetime  # its first moment (UTC): an alert is due once it was created before it


def day_period(day: date) -> Period:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Period("daily", day.isoformat(), start)


def week_period(day: date) -> Period:
    year, week, _ = day.isocalendar()
    monday = date.fromisocalendar(year, week, 1)
    return Period("weekly", f"{year}-W{week:02d}", datetime(*monday.timetuple()[:3], tzinfo=UTC))


def periods(period: str | None = None) -> dict[str, Period]:
    """The periods a run covers, by frequency. A day (default: today, UTC) runs the daily
    alerts for that day and the weekly ones for its ISO week; a week runs the weekly ones."""
    if period is None or _DAY.match(period):
        day = date.fromisoformat(period) if period else datetime.now(UTC).date()
        return {"daily": day_period(day), "weekly": week_period(day)}
    match = _WEEK.match(period)
    if match:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        return {"weekly": week_period(monday)}
    raise ValueError(f"period {period!r} is neither YYYY-MM-DD nor YYYY-Www")


async def send_digests(period: str | None = None) -> int:
    """Job: mail every due alert its new matches for the period; how many digests were mailed.

    An alert is due in a period that began after it was created (the first digest comes the
    next day, or the next Monday), once per period. Alerts of disabled or unconfirmed accounts
    wait. A failing alert does not stop the others; the job then fails, and its retry skips
    what was done.
    """
    covered = periods(period)
    alerts = await _alerts(
        (JobAlert.active == True) & JobAlert.frequency.is_in(list(covered))  # noqa: E712
    )
    due = [a for a in alerts if a.created_at < covered[a.frequency].start]
    emails = await _mailable({a.account_id for a in due})
    mailed, failed = 0, 0
    for alert in due:
        email = emails.get(alert.account_id)
        if email is None:
            continue
        try:
            mailed += await digest(alert, covered[alert.frequency], email)
        except Exception:
            failed += 1
            log.exception("alert digest failed", alert_id=alert.id)
    if failed:
        raise RuntimeError(f"{failed} of {len(due)} alert digests failed")
    return mailed


async def _mailable(account_ids: set[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    rows = await Account.select(Account.id, Account.email).where(
        Account.id.is_in(list(account_ids))
        & (Account.disabled == False)  # noqa: E712
        & Account.email_verified_at.is_not_null()
    )
    return {r["id"]: r["email"] for r in rows}


async def digest(alert: AlertView, period: Period, email: str) -> bool:
    """One alert's digest for one period: True when this call recorded and mailed it."""
    recorded = await _delivery(alert.id, period.key)
    created = recorded is None
    if recorded is None:
        job_ids = await _new_matches(alert)
        # The delivery is written before the mail: a second run in the period finds it. Its
        # job_ids are what the mail lists, so a retry after a crash mails the same digest.
        rows = (
            await AlertDelivery.insert(
                AlertDelivery(alert_id=alert.id, period=period.key, job_ids=job_ids)
            )
            .on_conflict(target=(AlertDelivery.alert_id, AlertDelivery.period), action="DO NOTHING")
            .returning(AlertDelivery.id)
        )
        if not rows:  # a concurrent run recorded it first: that one mails
            return False
        recorded = job_ids
    if not recorded:
        return False  # nothing new: the empty delivery still moves the window forward
    found = await postings.jobs_by_ids(recorded)
    jobs = [found[i] for i in recorded if i in found and found[i].is_live]
    if not jobs:
        return False
    await _mail(alert, period, email, jobs)
    return created


async def _delivery(alert_id: int, period_key: str) -> list[int] | None:
    row = (
        await AlertDelivery.select(AlertDelivery.job_ids)
        .where((AlertDelivery.alert_id == alert_id) & (AlertDelivery.period == period_key))
        .output(load_json=True)
        .first()
    )
    return [int(i) for i in row["job_ids"] or ()] if row else None


async def _new_matches(alert: AlertView) -> list[int]:
    """Postings matching the alert that went live since its last digest (or its creation),
    minus those an earlier digest listed; newest first."""
    earlier = (
        await AlertDelivery.select(AlertDelivery.job_ids, AlertDelivery.sent_at)
        .where(AlertDelivery.alert_id == alert.id)
        .order_by(AlertDelivery.sent_at, ascending=False)
        .output(load_json=True)
    )
    since = alert.created_at  # never what was posted before the alert existed
    if earlier:
        since = max(since, earlier[0]["sent_at"] - OVERLAP)
    listed = {int(i) for row in earlier for i in row["job_ids"] or ()}
    form = SearchForm.from_query({**alert.query, "sort": "newest"})
    page = await search.find(form, page=1, per_page=MAX_MATCHES, since=since)
    return [job.id for job in page.jobs if job.id not in listed]


async def _mail(alert: AlertView, period: Period, email: str, jobs: list[JobView]) -> None:
    base = runtime.current().settings.base_url
    unsubscribe = unsubscribe_url(alert.id)
    count = len(jobs)
    noun = "job" if count == 1 else "jobs"
    await send_mail(
        email,
        f"{count} new coding {noun}: {alert.summary}",
        "careers_alert_digest",
        {
            "alert": alert,
            "jobs": jobs[:MAX_LISTED],
            "more": max(0, count - MAX_LISTED),
            "count": count,
            "period": period,
            "search_link": f"{base}{alert.search_url}",
            "manage_link": f"{base}/careers/my#alerts",
            "unsubscribe_link": unsubscribe,
        },
        dedupe_key=f"careers-alert:{alert.id}:{period.key}",
        # RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# --- scheduled jobs ---------------------------------------------------------------------------


async def expire_postings() -> int:
    """Job: write down the expiry of postings whose time is up (reads apply it anyway)."""
    return await postings.expire_due()


JOBS = [
    JobSpec("careers.alert_digests", send_digests, timeout_s=600, max_tries=3, retry_delay_s=60),
    JobSpec("careers.expire_postings", expire_postings, timeout_s=120, max_tries=3),
]
# UTC times: expiries first, so a digest never lists a posting that expired overnight.
SCHEDULES = [
    Schedule("careers.expire_postings", hour=5, minute=0),
    Schedule("careers.alert_digests", hour=6, minute=0),
]
