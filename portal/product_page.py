"""A product's landing page, shown until the product's own pages are built."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from portal.feature import NavEntry
from portal.web.render import render


def landing_page(nav: NavEntry, template: str) -> Any:
    @get(nav.href, name=f"landing:{nav.href}")
    async def landing(request: Request[Any, Any, Any]) -> Response[Any]:
        return await render(request, template, {"product": nav})

    return landing
