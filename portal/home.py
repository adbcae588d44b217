from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from portal.web.render import render


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    deleted = request.query_params.get("deleted") == "1"
    return await render(request, "home.html", {"deleted": deleted})
