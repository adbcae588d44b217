"""Shared test infrastructure: a PostgreSQL database and a Redis prefix of this run's own, a real
SMTP server (aiosmtpd) that captures mail, and the app in the full mode."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.support.mailbox import Mailbox

RUN_ID = uuid.uuid4().hex[:10]
PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = f"portal_test_{RUN_ID}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STATE_DIR = Path(tempfile.mkdtemp(prefix=f"portal-test-{RUN_ID}-"))
MAILBOX = Mailbox()
SHARED_DATA = Path(
    os.environ.get("PORTAL_DATA_DIR") or Path(__file__).resolve().parent.parent / "shared" / "data"
)


def pytest_configure(config: pytest.Config) -> None:
    # Before any portal module reads its settings: the full mode against this run's resources.
    MAILBOX.start()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    os.environ.update(
        {
            "DATABASE_URL": f"{base}/{PG_DB}",
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": f"test-{RUN_ID}:",
            "SMTP_URL": f"smtp://127.0.0.1:{MAILBOX.port}",
            "SECRET_KEY": f"test-secret-{RUN_ID}",
            "ARGON2_PROFILE": "cheapest",
            "PORTAL_STATE_DIR": str(STATE_DIR),
            "BASE_URL": "http://testserver",
            "AUTO_MIGRATE": "1",
            "LOG_LEVEL": "WARNING",
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    MAILBOX.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests last: they start servers of their own and are the slowest.
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


@pytest.fixture(scope="session")
def mailbox() -> Mailbox:
    return MAILBOX


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{PG_DB}"')
    await admin.close()
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await admin.close()
        client = aioredis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(match=f"test-{RUN_ID}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(scope="session")
async def app(database: str):  # type: ignore[no-untyped-def]
    """The portal in the full mode, plus the small metered page the tests mount."""
    from portal.app import create_app
    from portal.installed import installed_features
    from portal.settings import Settings
    from tests.support.metered_page import feature as metered_page

    application = create_app(Settings.from_env(), [*installed_features(), metered_page])
    # The start-up and shut-down hooks, called directly: pytest-asyncio may finalise a session
    # fixture in another task, which anyio's lifespan task group refuses.
    for hook in application.on_startup:
        await hook(application)
    yield application
    for hook in application.on_shutdown:
        await hook(application)


@pytest.fixture(scope="session")
async def worker(app):  # type: ignore[no-untyped-def]
    """A real arq worker on the test loop, consuming the jobs the app enqueues."""
    from portal import runtime
    from portal.worker import build_worker

    w = build_worker(runtime.current())
    task = asyncio.create_task(w.async_run())
    yield w
    task.cancel()
    await w.close()


@pytest.fixture(scope="session")
async def icd10cm_loaded(app):  # type: ignore[no-untyped-def]
    """FY2025 titles then the FY2026 tabular, as `portal data import icd-10-cm` loads them."""
    from features.case2code.importing import icd10cm
    from features.case2code.importing.base import load
    from features.case2code.importing.context import ImportContext
    from portal import runtime

    results = [
        await load(dataset, runtime.current().engine)
        for dataset in icd10cm.datasets(ImportContext(SHARED_DATA))
    ]
    return results


@pytest.fixture(scope="session")
async def catalog_loaded(icd10cm_loaded):  # type: ignore[no-untyped-def]
    """Every code set `portal data import` knows, from the real files, into this run's database."""
    from rich.console import Console

    from features.case2code.importing.context import ImportContext
    from features.case2code.importing.runner import run_imports
    from portal import runtime

    report = await run_imports(
        ImportContext(SHARED_DATA), runtime.current().engine, console=Console(quiet=True)
    )
    assert report.ok, report.failed
    return report


@pytest.fixture(scope="session")
async def search_ready(catalog_loaded):  # type: ignore[no-untyped-def]
    """The process's search index, built from every code set of this run's database."""
    from features.case2code.search import service

    return await service.ready()


@pytest.fixture
async def client(app, worker):  # type: ignore[no-untyped-def]
    from tests.support.client import PortalClient

    async with PortalClient(app) as c:
        yield c
