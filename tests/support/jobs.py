"""Helpers for tests of background work: wait for a job's row, change settings and job specs
for the length of a block."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from portal import runtime
from portal.jobs.service import TERMINAL
from portal.jobs.tables import Job
from portal.settings import Settings


async def job_row(job_id: str) -> dict[str, Any]:
    row = await Job.select().where(Job.id == uuid.UUID(job_id)).output(load_json=True).first()
    assert row is not None, f"no job {job_id}"
    return row


async def wait_for_job(
    job_id: str, statuses: tuple[str, ...] = TERMINAL, within_s: float = 20.0
) -> dict[str, Any]:
    """The job's row once its status is one of `statuses` (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + within_s
    while True:
        row = await job_row(job_id)
        if row["status"] in statuses:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {row['status']!r}, wanted {statuses}")
        await asyncio.sleep(0.05)


@contextmanager
def runtime_settings(settings: Settings) -> Iterator[Settings]:
    """Run a block with other settings in the process's runtime (the app and worker read them)."""
    rt = runtime.current()
    previous = rt.settings
    rt.settings = settings
    try:
        yield settings
    finally:
        rt.settings = previous


@contextmanager
def smtp_url(url: str | None) -> Iterator[None]:
    """Run a block with another SMTP_URL (None: the embedded mode's kept outbox)."""
    settings = runtime.current().settings
    with runtime_settings(replace(settings, mail=replace(settings.mail, smtp_url=url))):
        yield


@contextmanager
def job_options(name: str, **changes: Any) -> Iterator[None]:
    """Run a block with a job's spec changed (tries, delays): the worker reads it per try."""
    specs = runtime.current().jobs.specs
    original = specs[name]
    specs[name] = replace(original, **changes)
    try:
        yield
    finally:
        specs[name] = original


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
