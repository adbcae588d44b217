"""Operations endpoints: liveness, readiness (database and Redis), Prometheus metrics."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from redis.asyncio import Redis

from portal import db, runtime

PROMETHEUS = PrometheusConfig(
    app_name="portal", prefix="portal", group_path=True, exclude=["/static", "/metrics"]
)


class MetricsController(PrometheusController):
    path = "/metrics"


@get("/healthz", media_type=MediaType.JSON, exclude_from_csrf=True, include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", media_type=MediaType.JSON, include_in_schema=False)
async def readyz() -> Response[dict[str, Any]]:
    rt = runtime.current()
    checks: dict[str, str] = {}
    try:
        await db.ping(rt.engine)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if rt.settings.redis.url:
        client = Redis.from_url(rt.settings.redis.url, socket_timeout=2)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        finally:
            await client.aclose()
    ready = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
