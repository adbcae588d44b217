"""Job alerts: saving a search, the digest mailed once per period over real SMTP with only new
matches, the signed one-click unsubscribe, and the daily schedule that enqueues the digest."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from features.careers import alerts
from features.careers.tables import AlertDelivery, JobAlert
from portal import runtime
from portal.accounts.service import AccountView, forget_account, get_account
from portal.accounts.tables import Account
from portal.jobs.inprocess import InProcessBackend
from portal.jobs.schedule import Schedule, Ticker, arq_cron_jobs, enqueue_due
from portal.jobs.service import JobRegistry
from portal.jobs.spec import JobSpec
from portal.jobs.tables import Job as JobRow
from portal.mail.tables import OutboxMessage
from tests.careers.test_applications import make_job, user
from tests.support.client import PortalClient, text_of
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("worker")

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def verified(client: PortalClient) -> AccountView:
    account = await user(client, "alerts")
    await Account.update({Account.email_verified_at: datetime.now(UTC)}).where(
        Account.id == account.id
    )
    forget_account(account.id)
    fresh = await get_account(account.id)
    assert fresh is not None
    return fresh


async def alert_for(account: AccountView, word: str, frequency: str = "daily") -> alerts.AlertView:
    return await alerts.create_alert(account, {"q": word, "work_mode": "remote"}, frequency)


async def digests_of(alert_id: int) -> list[dict[str, Any]]:
    return await OutboxMessage.select().where(
        OutboxMessage.dedupe_key.like(f"careers-alert:{alert_id}:%")
    )


# --- saving a search --------------------------------------------------------------------------


async def test_an_alert_is_saved_from_the_search_form_once(app: Any, client: PortalClient) -> None:
    account = await user(client)
    fields = {"q": "CPC coder", "work_mode": "remote", "state": "tx", "sort": "salary"}
    response = await client.submit("/careers/alerts", {**fields, "frequency": "weekly"})
    assert response.status_code == 303
    assert response.headers["location"] == "/careers/my?alert=created#alerts"
    again = await client.submit("/careers/alerts", {**fields, "frequency": "weekly"})
    assert again.status_code == 303
    mine = await alerts.list_alerts(account.id)
    assert len(mine) == 1, "a double submit keeps one alert"
    assert mine[0].query == {"q": "CPC coder", "work_mode": "remote", "state": "TX"}
    assert mine[0].frequency == "weekly"

    page = await client.get("/careers/my?alert=created")
    text = text_of(page.text)
    assert "Your alert is saved" in text
    assert "“CPC coder”, Remote, in Texas" in text and "Weekly email" in text

    hx = {"HX-Request": "true", "HX-Target": "alert-form"}
    fragment = await client.submit(
        "/careers/alerts", {"q": "CRC", "frequency": "daily"}, headers=hx
    )
    assert fragment.status_code == 200 and "Saved: a daily email" in fragment.text
    bad = await client.submit("/careers/alerts", {"q": "CRC", "frequency": "hourly"}, headers=hx)
    assert bad.status_code == 422 and "Choose daily or weekly" in bad.text

    deleted = await client.submit(f"/careers/alerts/{mine[0].id}/delete", {})
    assert deleted.status_code == 303
    assert [a.query.get("q") for a in await alerts.list_alerts(account.id)] == ["CRC"]

    async with PortalClient(app) as guest:
        response = await guest.submit("/careers/alerts", {"q": "CPC", "frequency": "daily"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/login?next=%2Fcareers%3Fq%3DCPC")


# --- the digest -------------------------------------------------------------------------------


async def test_the_digest_goes_once_per_period_with_only_new_matches(
    client: PortalClient, employer_account: AccountView, mailbox: Mailbox
) -> None:
    seeker = await verified(client)
    word = f"zq{uuid.uuid4().hex[:8]}"
    alert = await alert_for(seeker, word)
    before = await make_job(employer_account.id, title=f"Old {word} coder", work_mode="remote")
    await JobAlert.update({JobAlert.created_at: datetime.now(UTC)}).where(JobAlert.id == alert.id)
    await asyncio.sleep(0.01)
    first = await make_job(employer_account.id, title=f"Remote {word} coder A")
    second = await make_job(employer_account.id, title=f"Remote {word} coder B")
    await make_job(employer_account.id, title=f"Onsite {word} coder", work_mode="onsite")

    # The day it was created: not due yet (its first digest is the next day's).
    await alerts.send_digests(day(0))
    assert not await digests_of(alert.id)

    assert await alerts.send_digests(day(1)) >= 1
    mail = await mailbox.wait_for(seeker.email, f"2 new coding jobs: “{word}”")
    assert f"Remote {word} coder A" in mail.text and f"Remote {word} coder B" in mail.text
    assert f"Old {word} coder" not in mail.text, "posted before the alert"
    assert "Onsite" not in mail.text, "not a match"
    assert f"/careers/jobs/{first}" in mail.text and f"/careers/jobs/{second}" in mail.text
    link = mail.link("/careers/alerts/unsubscribe/")
    assert mail.message["List-Unsubscribe"] == f"<{link}>"
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert before not in (await delivery(alert.id, day(1)))

    # A second run in the same period (a retried job, a second worker) sends nothing.
    await alerts.send_digests(day(1))
    await alerts.send_digests(day(1))
    assert len(await digests_of(alert.id)) == 1
    await asyncio.sleep(0.5)
    assert len(mailbox.find(seeker.email, word)) == 1

    # The next period: only what was posted since, not what the first digest listed.
    third = await make_job(employer_account.id, title=f"Remote {word} coder C")
    await alerts.send_digests(day(2))
    mail = await mailbox.wait_for(seeker.email, f"1 new coding job: “{word}”")
    assert f"Remote {word} coder C" in mail.text
    assert "coder A" not in mail.text and "coder B" not in mail.text
    assert await delivery(alert.id, day(2)) == [third]

    # Nothing new: no mail, but the period is recorded so the next one starts from here.
    await alerts.send_digests(day(3))
    assert await delivery(alert.id, day(3)) == []
    assert len(await digests_of(alert.id)) == 2


async def delivery(alert_id: int, period: str) -> list[int]:
    row = (
        await AlertDelivery.select(AlertDelivery.job_ids)
        .where((AlertDelivery.alert_id == alert_id) & (AlertDelivery.period == period))
        .output(load_json=True)
        .first()
    )
    assert row is not None, f"no delivery for {period}"
    return list(row["job_ids"])


async def test_a_weekly_alert_mails_once_a_week(
    client: PortalClient, employer_account: AccountView, mailbox: Mailbox
) -> None:
    seeker = await verified(client)
    word = f"wk{uuid.uuid4().hex[:8]}"
    alert = await alert_for(seeker, word, "weekly")
    await make_job(employer_account.id, title=f"Remote {word} biller")
    next_monday = TODAY + timedelta(days=7 - TODAY.weekday())
    year, week, _ = next_monday.isocalendar()

    await alerts.send_digests(day(1) if TODAY.weekday() < 6 else day(0))  # still this week
    assert not await digests_of(alert.id)
    await alerts.send_digests(next_monday.isoformat())
    await alerts.send_digests(f"{year}-W{week:02d}")
    await alerts.send_digests((next_monday + timedelta(days=3)).isoformat())
    rows = await digests_of(alert.id)
    assert [r["dedupe_key"] for r in rows] == [f"careers-alert:{alert.id}:{year}-W{week:02d}"]
    await mailbox.wait_for(seeker.email, word)


async def test_no_digest_for_an_unconfirmed_email(
    client: PortalClient, employer_account: AccountView
) -> None:
    seeker = await user(client, "unconfirmed")
    word = f"uc{uuid.uuid4().hex[:8]}"
    alert = await alert_for(seeker, word)
    await make_job(employer_account.id, title=f"Remote {word} coder")
    await alerts.send_digests(day(1))
    assert not await digests_of(alert.id)
    assert not await AlertDelivery.exists().where(AlertDelivery.alert_id == alert.id)


# --- unsubscribe ------------------------------------------------------------------------------


async def test_the_unsubscribe_link_works_without_login_and_twice(
    app: Any, client: PortalClient, employer_account: AccountView, mailbox: Mailbox
) -> None:
    seeker = await verified(client)
    word = f"un{uuid.uuid4().hex[:8]}"
    alert = await alert_for(seeker, word)
    await make_job(employer_account.id, title=f"Remote {word} auditor")
    await alerts.send_digests(day(1))
    link = (await mailbox.wait_for(seeker.email, word)).link("/careers/alerts/unsubscribe/")
    path = link.removeprefix("http://testserver")

    async with PortalClient(app) as browser:  # not logged in: a mail client opening the link
        for _ in range(2):
            page = await browser.get(path)
            assert page.status_code == 200
            assert "You are unsubscribed" in page.text and word in page.text
            assert page.headers["cache-control"] == "no-store"
        assert not (await alerts.list_alerts(seeker.id))[0].active

        undo = await browser.submit(path.replace("/unsubscribe/", "/resubscribe/"), {})
        assert undo.status_code == 200 and "Your alert is on" in undo.text
        assert (await alerts.list_alerts(seeker.id))[0].active

        # RFC 8058 one-click: the mail client POSTs, without a CSRF token.
        one_click = await browser.post(path, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200
        assert not (await alerts.list_alerts(seeker.id))[0].active

        token = path.rsplit("/", 1)[1]
        alert_id, _, signature = token.partition("-")
        forged = f"{int(alert_id) + 1}-{signature}"
        for bad in (forged, "1-" + "0" * 32, "nonsense"):
            response = await browser.get(f"/careers/alerts/unsubscribe/{bad}")
            assert response.status_code == 404
            assert "This link does not work" in response.text

    # Off: the next period sends nothing.
    await make_job(employer_account.id, title=f"Remote {word} auditor two")
    await alerts.send_digests(day(2))
    assert len(await digests_of(alert.id)) == 1


# --- the schedule -----------------------------------------------------------------------------


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        return self.calls


async def test_the_schedule_enqueues_once_per_day_even_when_asked_twice() -> None:
    func = Counting()
    spec = JobSpec(name=f"test.daily.{uuid.uuid4().hex[:8]}", func=func)
    backend = InProcessBackend()
    registry = JobRegistry({spec.name: spec}, backend)
    backend.attach(registry)
    schedule = Schedule(spec.name, hour=6, minute=30)

    early = datetime(2031, 3, 4, 6, 29, tzinfo=UTC)
    assert await enqueue_due(registry, [schedule], early) == [], "not yet due"
    at = datetime(2031, 3, 4, 6, 30, tzinfo=UTC)
    first = await enqueue_due(registry, [schedule], at)
    second = await enqueue_due(registry, [schedule], at + timedelta(hours=5))
    assert first == second and len(first) == 1
    next_day = await enqueue_due(registry, [schedule], at + timedelta(days=1))
    assert next_day != first
    await backend.drain(timeout_s=10)
    rows = await JobRow.select(JobRow.dedupe_key).where(JobRow.name == spec.name)
    assert sorted(r["dedupe_key"] for r in rows) == [
        f"{spec.name}:2031-03-04",
        f"{spec.name}:2031-03-05",
    ]
    assert func.calls == 2


async def test_the_embedded_ticker_enqueues_what_is_due_today_once() -> None:
    func = Counting()
    spec = JobSpec(name=f"test.tick.{uuid.uuid4().hex[:8]}", func=func)
    backend = InProcessBackend()
    registry = JobRegistry({spec.name: spec}, backend)
    backend.attach(registry)
    tickers = [Ticker(registry, [Schedule(spec.name, hour=0)]) for _ in range(2)]
    for ticker in tickers:  # two processes, or a restart
        ticker.start()
    await asyncio.sleep(0.3)
    for ticker in tickers:
        await ticker.stop()
        assert ticker.task is None
    await backend.drain(timeout_s=10)
    rows = await JobRow.select(JobRow.dedupe_key).where(JobRow.name == spec.name)
    today = datetime.now(UTC).date().isoformat()
    assert [r["dedupe_key"] for r in rows] == [f"{spec.name}:{today}"]
    assert func.calls == 1


async def test_the_arq_cron_entries_enqueue_through_the_registry_once_a_day() -> None:
    registry = runtime.current().jobs
    schedule = Schedule("careers.expire_postings", hour=0, minute=0)
    (entry,) = arq_cron_jobs([schedule])
    assert entry.name == "schedule:careers.expire_postings"
    assert entry.hour == 0 and entry.minute == 0 and entry.run_at_startup
    first = await entry.coroutine({})
    second = await entry.coroutine({})
    assert first == second and len(first) == 1
    key = f"careers.expire_postings:{datetime.now(UTC).date().isoformat()}"
    assert await JobRow.count().where(JobRow.dedupe_key == key) == 1
    assert registry.spec("careers.alert_digests").func is alerts.send_digests
    names = {s.job_name for s in alerts.SCHEDULES}
    assert names == {"careers.alert_digests", "careers.expire_postings"}


@pytest.fixture
async def employer_account(app: Any) -> AccountView:
    async with PortalClient(app) as c:
        return await user(c, "employer")
