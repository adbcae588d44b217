"""Start and stop what a process shares (the Runtime): used by the app, the worker and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module

from jinja2 import Environment
from litestar.stores.base import NamespacedStore
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from piccolo.engine.base import Engine
from piccolo.table import Table

from portal import db
from portal.feature import Feature
from portal.file_store import LocalFileStore
from portal.jobs.arq_backend import ArqBackend
from portal.jobs.inprocess import InProcessBackend
from portal.jobs.service import JobRegistry
from portal.logs import configure_logging
from portal.runtime import Runtime, install
from portal.settings import Settings
from portal.templating import make_environment

STORE_NAMESPACES = ("sessions", "kv")


def make_store(settings: Settings) -> NamespacedStore:
    """Sessions, throttles and other rebuildable state: Redis in full mode, files embedded."""
    if settings.redis.url:
        return RedisStore.with_client(
            url=settings.redis.url, namespace=f"{settings.redis.prefix}store"
        )
    root = settings.state_dir / "store"
    for namespace in STORE_NAMESPACES:  # FileStore.with_namespace does not create its folder
        (root / namespace).mkdir(parents=True, exist_ok=True)
    return LocalFileStore(path=root)


def feature_tables(features: Sequence[Feature]) -> list[type[Table]]:
    tables: list[type[Table]] = []
    for feature in features:
        if feature.piccolo_app:
            tables.extend(import_module(feature.piccolo_app).APP_CONFIG.table_classes)
    return tables


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


async def open_database(settings: Settings, features: Sequence[Feature]) -> Engine:
    engine = db.make_engine(settings.database)
    db.bind_engine(engine, feature_tables(features))
    await db.start(engine, settings.database.pool_max_size)
    return engine


async def start_runtime(
    settings: Settings,
    features: Sequence[Feature],
    store: NamespacedStore | None = None,
    jinja: Environment | None = None,
) -> Runtime:
    configure_logging(settings.log_level, settings.log_json)
    engine = await open_database(settings, features)
    if settings.database.auto_migrate:
        await migrate()
    jinja = jinja or make_environment(
        (f.template_dir for f in features if f.template_dir), auto_reload=settings.debug
    )
    specs = {spec.name: spec for f in features for spec in f.jobs}
    backend: InProcessBackend | ArqBackend
    if settings.jobs_backend == "arq":
        assert settings.redis.url
        backend = ArqBackend(settings.redis.url, settings.redis.queue_name)
        await backend.start()
    else:
        backend = InProcessBackend()
    registry = JobRegistry(specs, backend)
    store = store or make_store(settings)
    rt = Runtime(
        settings=settings,
        features=list(features),
        engine=engine,
        jinja=jinja,
        jobs=registry,
        kv=store.with_namespace("kv"),
        # Embedded mode is one process, so its meter cache can live in memory.
        meter_cache=store.with_namespace("meter") if settings.redis.url else MemoryStore(),
    )
    install(rt)
    if isinstance(backend, InProcessBackend):
        backend.attach(registry)
        await backend.resume_pending()
    return rt


async def stop_runtime(rt: Runtime) -> None:
    backend = rt.jobs.backend
    if isinstance(backend, InProcessBackend):
        await backend.drain()
    elif isinstance(backend, ArqBackend):
        await backend.stop()
    await db.stop(rt.engine)
