"""The one metering API every product calls: remaining(subject, meter), consume(...).

The ledger (MeterEvent) is the truth. consume() counts and appends inside a transaction that
holds a lock on the subject's keys (advisory locks on PostgreSQL, the write lock on SQLite),
so concurrent requests for the last unit grant exactly one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from piccolo.columns.combination import Or

from portal import db, runtime
from portal.metering.tables import MeterEvent
from portal.settings import MeterRule


@dataclass(frozen=True)
class Subject:
    """Who is metered: an account, or a guest known by cookie and client address."""

    kind: Literal["user", "guest"]
    id: str
    plan: str | None = None  # "free" / "pro" for accounts; None for guests
    address: str | None = None  # keyed hash of the client address, guests only
    fresh: bool = False  # a guest id minted by this request: it has no events of its own yet

    @classmethod
    def user(cls, account_id: int, plan: str) -> Subject:
        return cls(kind="user", id=str(account_id), plan=plan)

    @classmethod
    def guest(cls, guest_id: str, client_address: str, secret: str, fresh: bool = False) -> Subject:
        digest = hmac.new(secret.encode(), client_address.encode(), hashlib.sha256).hexdigest()
        return cls(kind="guest", id=guest_id, address=digest[:64], fresh=fresh)

    @property
    def ledger_id(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def plan_key(self) -> str:
        return "guest" if self.kind == "guest" else (self.plan or "free")


@dataclass(frozen=True)
class Grant:
    granted: bool
    charged: bool  # False for a repeat view or an unlimited plan
    remaining: int | None  # None: unlimited


def _window_start(rule: MeterRule, now: datetime) -> datetime:
    if rule.window == "calendar_month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return now - timedelta(days=rule.window_days)


def _subject_filter(subject: Subject):  # type: ignore[no-untyped-def]
    # A guest's quota follows both the cookie and the address: clearing cookies does not reset it.
    if subject.kind == "guest" and subject.address:
        return Or(MeterEvent.subject == subject.ledger_id, MeterEvent.address == subject.address)
    return MeterEvent.subject == subject.ledger_id


async def _used(subject: Subject, meter: str, since: datetime) -> int:
    return await MeterEvent.count().where(
        (MeterEvent.meter == meter) & (MeterEvent.created_at >= since) & _subject_filter(subject)
    )


# Every page shows the badge, so remaining() is read far more often than the ledger changes.
# A short-lived cache answers it; consume() drops the subject's entry. The ledger stays the truth:
# consume() never reads the cache.
CACHE_TTL_S = 60


def _cache_key(subject: Subject, meter: str) -> str:
    if subject.fresh:  # only the address can have events: every cookie-less visit shares them
        return f"{meter}:address:{subject.address}"
    return f"{meter}:{subject.ledger_id}:{subject.address or ''}"


async def remaining(subject: Subject, meter: str, now: datetime | None = None) -> int | None:
    rule = runtime.current().settings.meters.rule(meter, subject.plan_key)
    if rule.limit is None:
        return None
    if now is not None:  # a question about another moment: straight to the ledger
        return max(rule.limit - await _used(subject, meter, _window_start(rule, now)), 0)
    cache = runtime.current().meter_cache
    cached = await cache.get(_cache_key(subject, meter))
    if cached is not None:
        return int(cached)
    left = max(rule.limit - await _used(subject, meter, _window_start(rule, datetime.now(UTC))), 0)
    await cache.set(_cache_key(subject, meter), str(left), expires_in=CACHE_TTL_S)
    return left


async def consume(subject: Subject, meter: str, key: str, now: datetime | None = None) -> Grant:
    """Spend one unit of `meter` on `key`, unless the subject saw `key` recently (free)."""
    grant = await _consume(subject, meter, key, now)
    if grant.charged:  # after the commit, so no reader can cache the value from before it
        await runtime.current().meter_cache.delete(_cache_key(subject, meter))
        if now is None:
            moment = datetime.now(UTC)
            hours = runtime.current().settings.meters.repeat_free_hours
            await _remember_seen(f"seen:{_cache_key(subject, meter)}:{key}", moment, moment, hours)
    return grant


async def _remember_seen(cache_key: str, viewed_at: datetime, now: datetime, hours: int) -> None:
    """Cache "seen" until the free-repeat window of that view closes, not a second longer."""
    if viewed_at.tzinfo is None:
        viewed_at = viewed_at.replace(tzinfo=UTC)
    left = int((viewed_at + timedelta(hours=hours) - now).total_seconds())
    if left > 0:
        await runtime.current().meter_cache.set(cache_key, "1", expires_in=left)


async def _consume(subject: Subject, meter: str, key: str, now: datetime | None) -> Grant:
    real_time = now is None
    rt = runtime.current()
    policy = rt.settings.meters
    rule = policy.rule(meter, subject.plan_key)
    now = now or datetime.now(UTC)
    if rule.limit is None:
        return Grant(granted=True, charged=False, remaining=None)

    repeat_since = now - timedelta(hours=policy.repeat_free_hours)
    seen = (MeterEvent.meter == meter) & (MeterEvent.key == key)
    seen = seen & (MeterEvent.created_at >= repeat_since) & _subject_filter(subject)
    # A repeat view is free whatever else happens: answer it without the lock (most page views
    # are repeats, and the lock serialises a subject's requests), from the cache when we can.
    # (The cache follows the clock: a caller asking about another moment goes to the ledger.)
    seen_key = f"seen:{_cache_key(subject, meter)}:{key}" if real_time else None
    if seen_key and await rt.meter_cache.get(seen_key) is not None:
        return Grant(granted=True, charged=False, remaining=await remaining(subject, meter))
    last = (
        await MeterEvent.select(MeterEvent.created_at)
        .where(seen)
        .order_by(MeterEvent.created_at, ascending=False)
        .first()
    )
    if last is not None:
        if seen_key:
            await _remember_seen(seen_key, last["created_at"], now, policy.repeat_free_hours)
        return Grant(granted=True, charged=False, remaining=await remaining(subject, meter))

    lock_keys = [f"meter:{meter}:{subject.ledger_id}"]
    if subject.address:
        lock_keys.append(f"meter:{meter}:addr:{subject.address}")
    async with db.serialized(rt.engine, lock_keys):
        used = await _used(subject, meter, _window_start(rule, now))
        left = max(rule.limit - used, 0)
        if await MeterEvent.exists().where(seen):  # a concurrent request charged it meanwhile
            return Grant(granted=True, charged=False, remaining=left)
        if left <= 0:
            return Grant(granted=False, charged=False, remaining=0)
        # The idempotency key is unique in the ledger: even without the lock, the same view
        # in the same window could not be charged twice.
        bucket = int(now.timestamp() // (policy.repeat_free_hours * 3600))
        await MeterEvent.insert(
            MeterEvent(
                meter=meter,
                subject=subject.ledger_id,
                address=subject.address,
                key=key,
                idempotency_key=f"{meter}:{subject.ledger_id}:{key}:{bucket}",
                created_at=now,
            )
        )
        return Grant(granted=True, charged=True, remaining=left - 1)
