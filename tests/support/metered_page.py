"""A small metered page the tests mount on the app (code pages arrive with Case2Code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from portal.feature import Feature
from portal.settings import CODE_PAGE_VIEWS
from portal.web.gate import metered_access
from portal.web.render import render


@get("/_test/metered/{key:str}")
async def metered(request: Request[Any, Any, Any], key: FromPath[str]) -> Template:
    access = await metered_access(request, CODE_PAGE_VIEWS, f"test:{key}")
    return await render(request, "tests/metered.html", {"key": key, "access": access})


feature = Feature(
    name="test-metered-page",
    route_handlers=[metered],
    template_dir=Path(__file__).parent / "templates",
)
