"""Queries behind the admin pages (outbox, job failures, counts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from portal import runtime
from portal.accounts.tables import Account
from portal.errors import NotFound
from portal.jobs.tables import Job
from portal.mail.tables import OutboxMessage

PAGE_SIZE = 50


async def overview() -> dict[str, int]:
    return {
        "accounts": await Account.count(),
        "outbox_waiting": await OutboxMessage.count().where(OutboxMessage.status == "queued"),
        "outbox_failed": await OutboxMessage.count().where(OutboxMessage.status == "failed"),
        "jobs_failed": await Job.count().where(Job.status == "failed"),
    }


async def outbox_page(page: int = 1) -> tuple[list[dict[str, Any]], int]:
    rows = (
        await OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.to_addr,
            OutboxMessage.subject,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.error,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .order_by(OutboxMessage.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return rows, await OutboxMessage.count()


async def outbox_message(message_id: int) -> dict[str, Any]:
    row = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    if row is None:
        raise NotFound("No such message.")
    return row


async def failed_jobs(page: int = 1) -> tuple[list[dict[str, Any]], int]:
    where = Job.status == "failed"
    rows = (
        await Job.select(
            Job.id,
            Job.name,
            Job.attempts,
            Job.max_tries,
            Job.error,
            Job.created_at,
            Job.finished_at,
        )
        .where(where)
        .order_by(Job.finished_at, ascending=False)
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return rows, await Job.count().where(where)


async def retry_job(job_id: str) -> None:
    try:
        key = uuid.UUID(job_id)
    except ValueError as exc:
        raise NotFound("No such job.") from exc
    rows = (
        await Job.update(
            {
                Job.status: "queued",
                Job.attempts: 0,
                Job.error: None,
                Job.finished_at: None,
                Job.created_at: datetime.now(UTC),
            }
        )
        .where((Job.id == key) & (Job.status == "failed"))
        .returning(Job.id, Job.name)
    )
    if not rows:
        raise NotFound("No failed job with that id.")
    backend = runtime.current().jobs.backend
    assert backend is not None
    await backend.submit(str(rows[0]["id"]), rows[0]["name"])
