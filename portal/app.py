"""The app factory: one Litestar app composed from the installed features."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from portal.bootstrap import make_store, start_runtime, stop_runtime
from portal.feature import Feature
from portal.installed import installed_features
from portal.jobs.inprocess import InProcessBackend
from portal.jobs.schedule import Ticker, check
from portal.ops import PROMETHEUS
from portal.settings import REPO_ROOT, Settings, get_settings
from portal.templating import make_environment
from portal.web.errors import EXCEPTION_HANDLERS
from portal.web.middleware import AccessLogMiddleware, security_headers_hook
from portal.web.rate_limit import MemoryCounter, RateLimitMiddleware, RedisCounter
from portal.web.sessions import PortalSessionConfig

STATIC_DIR = REPO_ROOT / "static"


def create_app(
    settings: Settings | None = None, features: Sequence[Feature] | None = None
) -> Litestar:
    settings = settings or get_settings()
    features = list(features if features is not None else installed_features())
    store = make_store(settings)
    jinja = make_environment(
        (f.template_dir for f in features if f.template_dir), auto_reload=settings.debug
    )

    async def on_startup(app: Litestar) -> None:
        app.state.runtime = await start_runtime(settings, features, store=store, jinja=jinja)
        app.state.warm_ups = [
            asyncio.create_task(f.warm_up(), name=f"warm-up {f.name}")
            for f in features
            if f.warm_up is not None
        ]
        # Embedded mode: this process runs the jobs, so it also enqueues the scheduled ones
        # (in the full mode the arq workers' cron does).
        rt = app.state.runtime
        if isinstance(rt.jobs.backend, InProcessBackend):
            schedules = [s for f in features for s in f.schedules]
            check(rt.jobs, schedules)
            app.state.ticker = Ticker(rt.jobs, schedules)
            app.state.ticker.start()

    async def on_shutdown(app: Litestar) -> None:
        if getattr(app.state, "ticker", None) is not None:
            await app.state.ticker.stop()
        for task in getattr(app.state, "warm_ups", []):
            task.cancel()
        await asyncio.gather(*getattr(app.state, "warm_ups", []), return_exceptions=True)
        if getattr(app.state, "runtime", None) is not None:
            await stop_runtime(app.state.runtime)

    sessions = PortalSessionConfig(
        store="sessions",
        key="portal_session",
        max_age=settings.security.session_max_age_s,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )
    counter = (
        RedisCounter(settings.redis.url, settings.redis.prefix)
        if settings.redis.url
        else MemoryCounter()
    )
    api_limit = DefineMiddleware(
        RateLimitMiddleware,
        path_prefix="/api/v1/",
        per_minute=settings.security.api_requests_per_minute,
        counter=counter,
    )
    return Litestar(
        route_handlers=[static, *(h for f in features for h in f.route_handlers)],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja)),
        middleware=[
            PROMETHEUS.middleware,
            AccessLogMiddleware,
            api_limit,
            sessions.middleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.security.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            exclude=["/api/", "/metrics"],
        ),
        stores={"sessions": store.with_namespace("sessions")},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[security_headers_hook(settings.secure_cookies)],
        request_max_body_size=settings.security.max_request_body_bytes,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(title="Coding portal API", version="1", path="/api/schema"),
        debug=settings.debug,
        logging_config=None,  # portal.logs configures logging (structured, no personal data)
    )


def create_default_app() -> Litestar:
    """Entry point for `uvicorn portal.app:create_default_app --factory`."""
    return create_app()
