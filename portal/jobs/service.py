"""Enqueue jobs, run them, and report their status; the same code under arq and in-process."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from portal.jobs.spec import JobSpec
from portal.jobs.tables import Job

log = structlog.get_logger("portal.jobs")

TERMINAL = ("done", "failed")


class RetryLater(Exception):
    def __init__(self, delay_s: float) -> None:
        super().__init__(f"retry in {delay_s}s")
        self.delay_s = delay_s


class Backend(Protocol):
    async def submit(self, job_id: str, name: str) -> None: ...


class JobRegistry:
    """The jobs of every feature, by name, and the backend that runs them."""

    def __init__(self, specs: Mapping[str, JobSpec], backend: Backend | None = None) -> None:
        self.specs = dict(specs)
        self.backend = backend

    def spec(self, name: str) -> JobSpec:
        try:
            return self.specs[name]
        except KeyError as exc:
            raise KeyError(f"unknown job {name!r}") from exc

    async def enqueue(
        self,
        name: str,
        *,
        dedupe_key: str | None = None,
        owner_id: int | None = None,
        **kwargs: Any,
    ) -> str:
        """Record the job and hand it to the backend; a repeated dedupe_key gives the first job."""
        spec = self.spec(name)
        if self.backend is None:
            raise RuntimeError("no job backend configured")
        if dedupe_key:
            existing = await Job.select(Job.id).where(Job.dedupe_key == dedupe_key).first()
            if existing:
                return str(existing["id"])
        job_id = uuid.uuid4()
        inserted = (
            await Job.insert(
                Job(
                    id=job_id,
                    name=name,
                    dedupe_key=dedupe_key,
                    owner_id=owner_id,
                    kwargs=kwargs,
                    max_tries=spec.max_tries,
                )
            )
            .on_conflict(target=Job.dedupe_key, action="DO NOTHING")
            .returning(Job.id)
        )
        if not inserted:  # a concurrent enqueue with the same dedupe_key won: that is the job
            existing = await Job.select(Job.id).where(Job.dedupe_key == dedupe_key).first()
            assert existing is not None
            return str(existing["id"])
        await self.backend.submit(str(job_id), name)
        return str(job_id)

    async def execute(self, job_id: str, attempt: int) -> None:
        """Run one try. Raises RetryLater when another try should follow."""
        row = await Job.select().where(Job.id == uuid.UUID(job_id)).output(load_json=True).first()
        if row is None or row["status"] in TERMINAL:
            return  # already done: arq may deliver a job twice
        spec = self.spec(row["name"])
        await Job.update(
            {Job.status: "running", Job.attempts: attempt, Job.started_at: datetime.now(UTC)}
        ).where(Job.id == row["id"])
        kwargs = row["kwargs"] or {}
        try:
            result = await asyncio.wait_for(spec.func(**kwargs), timeout=spec.timeout_s)
        except Exception as exc:
            error = (
                f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, TimeoutError)
                else (f"timed out after {spec.timeout_s:g}s")
            )
            final = attempt >= spec.max_tries
            log.warning(
                "job failed",
                job=spec.name,
                job_id=job_id,
                attempt=attempt,
                final=final,
                error_type=type(exc).__name__,
            )
            await Job.update(
                {
                    Job.status: "failed" if final else "queued",
                    Job.error: error[:4000],
                    Job.finished_at: datetime.now(UTC) if final else None,
                }
            ).where(Job.id == row["id"])
            if not final:
                raise RetryLater(spec.retry_delay_s * attempt) from exc
            return
        await Job.update(
            {
                Job.status: "done",
                Job.result: json.dumps(result, default=str),
                Job.error: None,
                Job.finished_at: datetime.now(UTC),
            }
        ).where(Job.id == row["id"])


async def job_status(job_id: str) -> dict[str, Any] | None:
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        return None
    return await Job.select().where(Job.id == key).output(load_json=True).first()
