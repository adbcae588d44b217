"""Run a block of a test against another database engine (the embedded mode's SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from portal import db, runtime
from portal.bootstrap import feature_tables, migrate
from portal.settings import DatabaseSettings


@asynccontextmanager
async def use_sqlite(path: Path) -> AsyncIterator[None]:
    rt = runtime.current()
    previous = rt.engine
    tables = feature_tables(rt.features)
    engine = db.make_engine(DatabaseSettings(url=f"sqlite:///{path}", auto_migrate=True))
    db.bind_engine(engine, tables)
    await db.start(engine)
    rt.engine = engine
    try:
        await migrate()
        yield
    finally:
        rt.engine = previous
        db.bind_engine(previous, tables)
        await db.stop(engine)
