"""The full mode's runner: arq on Redis, with worker settings built from the features' jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import result_key_prefix
from arq.worker import Retry, func

from portal import runtime
from portal.jobs.service import RetryLater
from portal.jobs.spec import JobSpec


class ArqBackend:
    def __init__(self, redis_url: str, queue_name: str) -> None:
        self.redis_settings = RedisSettings.from_dsn(redis_url)
        self.queue_name = queue_name
        self.pool: ArqRedis | None = None

    async def start(self) -> None:
        self.pool = await create_pool(self.redis_settings, default_queue_name=self.queue_name)

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()
            self.pool = None

    async def submit(self, job_id: str, name: str) -> None:
        if self.pool is None:
            await self.start()
        assert self.pool is not None
        # Our job id is arq's too: a second submit of a queued or running job is a no-op in arq.
        # arq also refuses the id while it keeps the result of the job's last run (keep_result):
        # drop that result, so a finished job submitted again (an admin's retry) runs again.
        await self.pool.delete(result_key_prefix + job_id)
        await self.pool.enqueue_job(name, job_id, _job_id=job_id, _queue_name=self.queue_name)


def worker_functions(specs: Sequence[JobSpec]) -> list[Any]:
    """One arq function per JobSpec, each delegating to the process's JobRegistry.execute."""

    def entry(spec: JobSpec) -> Any:
        async def run(ctx: dict[str, Any], job_id: str) -> None:
            try:
                await runtime.current().jobs.execute(job_id, ctx["job_try"])
            except RetryLater as retry:
                raise Retry(defer=retry.delay_s) from retry

        # arq's own timeout is a backstop above the one execute() enforces.
        return func(run, name=spec.name, timeout=spec.timeout_s + 30, max_tries=spec.max_tries)

    return [entry(spec) for spec in specs]
