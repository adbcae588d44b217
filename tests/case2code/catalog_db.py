"""A database of the import tests' own, so their small releases never replace the real ones that
other catalog tests load into the session's PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from piccolo.engine.base import Engine

from portal import db, runtime
from portal.bootstrap import feature_tables, migrate
from portal.settings import REPO_ROOT, DatabaseSettings

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DATA_DIR = Path(os.environ.get("PORTAL_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
ENGINES = ("postgres", "sqlite")


@asynccontextmanager
async def own_database(kind: str, tmp_path: Path) -> AsyncIterator[Engine]:
    """A fresh, migrated PostgreSQL database (dropped after) or SQLite file, as the runtime's
    engine for the duration; the app's own engine is put back after."""
    rt = runtime.current()
    previous = rt.engine
    tables = feature_tables(rt.features)
    name = f"portal_import_{uuid.uuid4().hex[:10]}"
    if kind == "postgres":
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
    engine = db.make_engine(DatabaseSettings(url=url, auto_migrate=True))
    db.bind_engine(engine, tables)
    await db.start(engine)
    rt.engine = engine
    try:
        await migrate()
        yield engine
    finally:
        rt.engine = previous
        db.bind_engine(previous, tables)
        await db.stop(engine)
        if kind == "postgres":
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
