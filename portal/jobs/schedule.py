"""Jobs that run once a day at a set UTC time (a feature's digest mails, expiring postings).

A schedule never runs a job itself: it enqueues it through the JobRegistry with the dedupe key
"<job name>:<date>", so several arq workers, a restarted worker or the embedded mode's ticker
all enqueue it once a day, and the job gets the registry's tries, timeouts and status page.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import structlog

from portal.jobs.service import JobRegistry

log = structlog.get_logger("portal.jobs")

TICK_S = 60.0


@dataclass(frozen=True)
class Schedule:
    """Enqueue `job_name` (a JobSpec of some feature) daily at hour:minute UTC."""

    job_name: str
    hour: int
    minute: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.hour < 24 and 0 <= self.minute < 60):
            raise ValueError(f"bad time {self.hour}:{self.minute} for {self.job_name}")

    def due_at(self, day: date) -> datetime:
        return datetime.combine(day, time(self.hour, self.minute), tzinfo=UTC)

    def dedupe_key(self, day: date) -> str:
        return f"{self.job_name}:{day.isoformat()}"


def due(schedules: Sequence[Schedule], now: datetime) -> list[Schedule]:
    """The schedules whose time today has come: a process that was down at that time still
    enqueues the day's run when it comes back (the dedupe key keeps it to one)."""
    return [s for s in schedules if s.due_at(now.date()) <= now]


async def enqueue_due(
    registry: JobRegistry, schedules: Sequence[Schedule], now: datetime | None = None
) -> list[str]:
    """Enqueue today's due schedules (once a day each, however often this is called)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    job_ids = []
    for schedule in due(schedules, now):
        job_ids.append(
            await registry.enqueue(schedule.job_name, dedupe_key=schedule.dedupe_key(now.date()))
        )
    return job_ids


def check(registry: JobRegistry, schedules: Sequence[Schedule]) -> None:
    """Fail at start-up, not at the scheduled hour, when a schedule names an unknown job."""
    for schedule in schedules:
        registry.spec(schedule.job_name)


def arq_cron_jobs(schedules: Sequence[Schedule]) -> list[Any]:
    """arq cron entries: each enqueues its job at its time, and once at worker start-up to
    catch up a run missed while no worker was up (only if today's time has passed)."""
    from arq import cron

    from portal import runtime  # here: portal.runtime imports portal.feature, which imports us

    def entry(schedule: Schedule) -> Any:
        async def enqueue(ctx: dict[str, Any]) -> list[str]:
            return await enqueue_due(runtime.current().jobs, [schedule])

        return cron(
            enqueue,
            name=f"schedule:{schedule.job_name}",
            hour=schedule.hour,
            minute=schedule.minute,
            second=0,
            run_at_startup=True,
            max_tries=1,
            timeout=60,
        )

    return [entry(s) for s in schedules]


class Ticker:
    """The embedded mode's scheduler: one task that wakes every minute and enqueues what is due
    on the in-process runner."""

    def __init__(self, registry: JobRegistry, schedules: Sequence[Schedule]) -> None:
        self.registry = registry
        self.schedules = list(schedules)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.schedules and self.task is None:
            self.task = asyncio.create_task(self._run(), name="schedules")

    async def _run(self) -> None:
        while True:
            try:
                await enqueue_due(self.registry, self.schedules)
            except Exception:  # a database hiccup must not stop tomorrow's runs
                log.exception("scheduled enqueue failed")
            await asyncio.sleep(TICK_S)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
