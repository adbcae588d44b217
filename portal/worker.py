"""`portal worker`: an arq worker running every feature's jobs."""

from __future__ import annotations

from arq.worker import Worker

from portal.bootstrap import start_runtime, stop_runtime
from portal.installed import installed_features
from portal.jobs.arq_backend import ArqBackend, worker_functions
from portal.jobs.schedule import arq_cron_jobs, check
from portal.runtime import Runtime
from portal.settings import Settings


def build_worker(rt: Runtime, *, burst: bool = False) -> Worker:
    backend = rt.jobs.backend
    if not isinstance(backend, ArqBackend):
        raise RuntimeError("portal worker needs REDIS_URL (the full mode)")
    schedules = [s for f in rt.features for s in f.schedules]
    check(rt.jobs, schedules)
    return Worker(  # its own Redis pool: Worker.close() closes it
        functions=worker_functions(list(rt.jobs.specs.values())),
        cron_jobs=arq_cron_jobs(schedules),
        redis_settings=backend.redis_settings,
        queue_name=backend.queue_name,
        burst=burst,
        poll_delay=0.2 if not burst else 0,
        handle_signals=not burst,
        keep_result=3600,
        max_jobs=10,
    )


async def run_worker(settings: Settings) -> None:
    rt = await start_runtime(settings, installed_features())
    worker = build_worker(rt)
    try:
        await worker.main()
    finally:
        await worker.close()
        await stop_runtime(rt)
