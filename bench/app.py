"""The bench app: the installed portal plus bare endpoints to measure pages and APIs against.

`GET /_bench/bare` renders `bench/bare.html` (a minimal HTML page with a 20-item loop) through the
same Litestar app, middleware and Jinja environment as the portal's pages, but with no portal
layout, no render helper and no database access. It is the baseline for page benchmarks.

`GET /_bench/bare.json` returns a small constant dict serialised by Litestar (a few keys and a
5-item list), through the same middleware, with no database access: the baseline for JSON API
benchmarks (bench/search_speed.py).

With `BENCH_NO_WARM_UP=1` in the environment no feature warms up when the app starts (the
search index is then loaded by the first search, not in the background at start-up), so that
bench/search_speed.py can read the process's memory before and after the load.

Run: `uvicorn bench.app:create_bench_app --factory` (from the repository root).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from litestar import Litestar, get
from litestar.response import Template

from portal.app import create_app
from portal.feature import Feature
from portal.installed import installed_features
from portal.settings import Settings

BARE_PATH = "/_bench/bare"
BARE_JSON_PATH = "/_bench/bare.json"
NO_WARM_UP_ENV = "BENCH_NO_WARM_UP"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
BARE_ITEMS: tuple[dict[str, str | int], ...] = tuple(
    {"id": i, "label": f"Item number {i}"} for i in range(20)
)
BARE_JSON: dict[str, object] = {
    "query": "bare",
    "total": 5,
    "items": [{"code": f"X{i:02d}", "title": f"Item number {i}"} for i in range(5)],
}


@get(BARE_PATH, name="bench_bare", include_in_schema=False)
async def bare() -> Template:
    return Template(template_name="bench/bare.html", context={"title": "Bare", "items": BARE_ITEMS})


@get(BARE_JSON_PATH, name="bench_bare_json", include_in_schema=False)
async def bare_json() -> dict[str, object]:
    return BARE_JSON


bench_feature = Feature(name="bench", route_handlers=[bare, bare_json], template_dir=TEMPLATE_DIR)


def create_bench_app() -> Litestar:
    """Entry point for `uvicorn bench.app:create_bench_app --factory`."""
    features = installed_features()
    if os.environ.get(NO_WARM_UP_ENV):
        features = [dataclasses.replace(f, warm_up=None) for f in features]
    return create_app(Settings.from_env(), [*features, bench_feature])
