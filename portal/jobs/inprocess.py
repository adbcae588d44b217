"""The embedded mode's runner: the same JobRegistry.execute, on this process's event loop."""

from __future__ import annotations

import asyncio

import structlog

from portal.jobs.service import JobRegistry, RetryLater
from portal.jobs.tables import Job

log = structlog.get_logger("portal.jobs")


class InProcessBackend:
    def __init__(self) -> None:
        self.registry: JobRegistry | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, registry: JobRegistry) -> None:
        self.registry = registry

    async def submit(self, job_id: str, name: str) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"job:{name}:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: str) -> None:
        assert self.registry is not None
        attempt = 1
        while True:
            try:
                await self.registry.execute(job_id, attempt)
                return
            except RetryLater as retry:
                await asyncio.sleep(retry.delay_s)
                attempt += 1
            except Exception:  # the registry records failures; this is a bug in the runner
                log.exception("job runner error", job_id=job_id)
                return

    async def resume_pending(self) -> None:
        """Jobs left queued or running when the process stopped are run again."""
        rows = await Job.select(Job.id, Job.name).where(Job.status.is_in(["queued", "running"]))
        for row in rows:
            await self.submit(str(row["id"]), row["name"])

    async def drain(self, timeout_s: float = 5.0) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
            for task in pending:
                task.cancel()
