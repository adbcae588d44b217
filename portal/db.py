"""Database engines: SQLite (embedded) or PostgreSQL (full), chosen by DATABASE_URL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

from portal.settings import DatabaseSettings


class SharedConnectionSQLiteEngine(SQLiteEngine):
    """SQLite with one long-lived connection for queries outside transactions.

    Piccolo's engine opens a connection (and an aiosqlite thread) per query, which costs 1-7 ms
    a query and dominated page times. The shared connection runs in autocommit mode, so no
    statement leaves a transaction (and the write lock) open; explicit transactions still get
    a connection of their own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shared: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()

    async def _shared_connection(self) -> aiosqlite.Connection:
        if self._shared is None:
            async with self._opening:
                if self._shared is None:
                    kwargs = {**self.connection_kwargs, "isolation_level": None}  # autocommit
                    pending = aiosqlite.connect(**kwargs)
                    # A daemon thread: an engine nobody stopped must not keep the process alive.
                    pending._thread.daemon = True
                    connection = await pending
                    connection.row_factory = dict_factory  # type: ignore[assignment]
                    await connection.execute("PRAGMA foreign_keys = 1")
                    self._shared = connection
        return self._shared

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        connection = await self._shared_connection()
        return await connection.execute_fetchall(query, args or [])  # one trip to its thread

    async def close_shared(self) -> None:
        if self._shared is not None:
            await self._shared.close()
            self._shared = None


def make_engine(settings: DatabaseSettings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # A long busy timeout: SQLite has one writer, and the meter's immediate transactions
        # queue behind each other instead of failing.
        return SharedConnectionSQLiteEngine(path=str(path), timeout=60)
    if settings.url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": settings.url})
    raise ValueError(
        f"DATABASE_URL must be sqlite:///... or postgresql://..., got {settings.url!r}"
    )


def bind_engine(engine: Engine, tables: Iterable[type[Table]]) -> None:
    """Point tables (and Piccolo's migration runner) at one engine."""
    from piccolo.apps.migrations.tables import Migration

    from portal import piccolo_conf

    piccolo_conf.DB = engine
    for table in [*tables, Migration]:
        table._meta._db = engine


async def ping(engine: Engine) -> None:
    await engine.run_querystring(QueryString("SELECT 1"))


async def start(engine: Engine, pool_max_size: int = 20) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(max_size=pool_max_size)
    elif isinstance(engine, SQLiteEngine):
        # WAL lets readers go on while the one writer writes; it persists in the file.
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, SharedConnectionSQLiteEngine):
        await engine.close_shared()


@asynccontextmanager
async def serialized(engine: Engine, lock_keys: Iterable[str]) -> AsyncIterator[None]:
    """A transaction that holds an exclusive lock on each key until it ends.

    PostgreSQL: transaction-scoped advisory locks, taken in sorted order so two callers with
    overlapping keys cannot deadlock. SQLite: an immediate transaction, which takes the
    database's single write lock up front.
    """
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            for key in sorted(set(lock_keys)):
                await engine.run_querystring(
                    QueryString("SELECT pg_advisory_xact_lock({})", _lock_id(key))
                )
            yield
    elif isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
    else:  # pragma: no cover
        raise TypeError(f"unsupported engine {engine!r}")


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
