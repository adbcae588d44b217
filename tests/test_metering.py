"""The metering core: policy, windows, repeat views, guests' two keys, and the race for the last
unit on both engines."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.metering import service as metering
from portal.metering.service import Subject
from portal.metering.tables import MeterEvent
from portal.settings import CODE_PAGE_VIEWS as VIEWS
from tests.support.engines import use_sqlite

pytestmark = pytest.mark.usefixtures("app")

SECRET = "s3cret"


def new_user(plan: str = "free") -> Subject:
    return Subject.user(int(uuid.uuid4().int % 10**9), plan)


def new_guest(address: str | None = None) -> Subject:
    return Subject.guest(
        uuid.uuid4().hex,
        address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9",
        SECRET,
    )


async def test_free_account_gets_five_views_a_calendar_month() -> None:
    user = new_user()
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert await metering.remaining(user, VIEWS, now) == 5
    for i in range(5):
        grant = await metering.consume(user, VIEWS, f"code-{i}", now)
        assert grant.granted and grant.charged and grant.remaining == 4 - i
    refused = await metering.consume(user, VIEWS, "code-5", now)
    assert not refused.granted and refused.remaining == 0
    # The 1st of the next month brings five new views.
    december = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
    assert await metering.remaining(user, VIEWS, december) == 5
    assert (await metering.consume(user, VIEWS, "code-5", december)).granted


async def test_same_code_again_within_24_hours_is_free() -> None:
    user = new_user()
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    first = await metering.consume(user, VIEWS, "E11.9", now)
    again = await metering.consume(user, VIEWS, "E11.9", now + timedelta(hours=23))
    assert first.charged and again.granted and not again.charged
    assert await metering.remaining(user, VIEWS, now) == 4
    later = await metering.consume(user, VIEWS, "E11.9", now + timedelta(hours=25))
    assert later.charged
    assert await metering.remaining(user, VIEWS, now + timedelta(hours=25)) == 3


async def test_guest_gets_one_view_per_30_days_and_clearing_cookies_does_not_reset_it() -> None:
    guest = new_guest("192.0.2.10")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    assert (await metering.consume(guest, VIEWS, "A00.0", now)).granted
    assert not (await metering.consume(guest, VIEWS, "A01.0", now)).granted
    same_address_new_cookie = Subject.guest(uuid.uuid4().hex, "192.0.2.10", SECRET)
    assert await metering.remaining(same_address_new_cookie, VIEWS, now) == 0
    assert not (await metering.consume(same_address_new_cookie, VIEWS, "A02.0", now)).granted
    # The repeat of the code already seen stays free, whichever cookie.
    assert (await metering.consume(same_address_new_cookie, VIEWS, "A00.0", now)).granted
    assert await metering.remaining(guest, VIEWS, now + timedelta(days=31)) == 1


async def test_pro_is_unlimited_and_writes_no_ledger_rows() -> None:
    pro = new_user("pro")
    for i in range(20):
        grant = await metering.consume(pro, VIEWS, f"c{i}")
        assert grant.granted and grant.remaining is None
    assert await metering.remaining(pro, VIEWS) is None
    assert await MeterEvent.count().where(MeterEvent.subject == pro.ledger_id) == 0


async def test_the_ledger_refuses_a_duplicate_idempotency_key() -> None:
    user = new_user()
    now = datetime.now(UTC)
    await metering.consume(user, VIEWS, "dup", now)
    row = await MeterEvent.select().where(MeterEvent.subject == user.ledger_id).first()
    with pytest.raises(Exception):  # unique constraint: the database itself, not our code
        await MeterEvent.insert(
            MeterEvent(
                meter=VIEWS,
                subject=user.ledger_id,
                key="dup",
                idempotency_key=row["idempotency_key"],
            )
        )


async def _race_for_the_last_unit(subject: Subject, prefill: int, same_key: bool = False) -> None:
    now = datetime.now(UTC)
    for i in range(prefill):
        assert (await metering.consume(subject, VIEWS, f"pre-{i}", now)).charged
    assert await metering.remaining(subject, VIEWS, now) == 1

    grants = await asyncio.gather(
        *(
            metering.consume(subject, VIEWS, "same" if same_key else f"race-{i}", now)
            for i in range(50)
        )
    )
    charged = [g for g in grants if g.charged]
    assert len(charged) == 1, f"{len(charged)} of 50 consumers were charged for the last unit"
    if same_key:
        assert all(g.granted for g in grants)  # the others are free repeats of the same view
    else:
        assert sum(g.granted for g in grants) == 1
    assert await metering.remaining(subject, VIEWS, now) == 0
    ledger = await MeterEvent.count().where(MeterEvent.subject == subject.ledger_id)
    assert ledger == prefill + 1


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
@pytest.mark.parametrize("kind", ["free", "guest", "same-key"])
async def test_fifty_concurrent_consumers_of_the_last_unit(
    engine: str, kind: str, tmp_path: Path
) -> None:
    async def run() -> None:
        if kind == "guest":
            await _race_for_the_last_unit(new_guest(), prefill=0)
        else:
            await _race_for_the_last_unit(new_user(), prefill=4, same_key=kind == "same-key")

    if engine == "sqlite":
        async with use_sqlite(tmp_path / "race.sqlite3"):
            await run()
    else:
        await run()
