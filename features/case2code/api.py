"""The JSON API: /api/v1/search and /api/v1/codes/{system}/{code} (DESIGN.md section 5).

Rate-limited per client address (portal/app.py). A code's full data is metered like its page:
the API is not a way round the free views.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, Parameter

from features.case2code.pages import code_page
from features.case2code.search import service
from features.case2code.search.hits import (
    MAX_LIMIT,
    SearchHit,
    SearchQueryError,
    SearchUnavailable,
)
from features.case2code.systems import CodeFormatError, system_for
from portal.settings import CODE_PAGE_VIEWS
from portal.web.gate import metered_access

ApiRequest = Request[Any, Any, Any]


def _error(status: int, message: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response({"error": message, **extra}, status_code=status)


def _hit(hit: SearchHit) -> dict[str, Any]:
    return {
        "code": hit.display,
        "system": hit.system,
        "title": hit.title,
        "billable": hit.billable,
        "score": round(hit.score, 3),
        "url": hit.url,
        "needs_seventh": hit.needs_seventh,
        "laterality": hit.laterality,
        "excludes1": list(hit.excludes1),
        "release": hit.release,
    }


@get(
    "/api/v1/search",
    name="api-search",
    summary="Search every code set",
    description=(
        "Codes (with or without the dot, any case, full or a prefix), words in any order, "
        "abbreviations and lay words, typos. Results best first. 400 with a message for an "
        "empty or over-200-character query, an unknown system or a limit out of range; 429 "
        "past the per-address rate limit."
    ),
    tags=["search"],
)
async def api_search(
    q: str = Parameter(default="", description="Code or words, up to 200 characters"),
    system: str = Parameter(default="", description="icd-10-cm, icd-10-pcs, hcpcs or cpt"),
    limit: str = Parameter(default="20", description=f"1 to {MAX_LIMIT}"),
    billable: bool = Parameter(default=False, description="Billable codes only"),
    chapter: str = Parameter(default="", description="ICD-10-CM chapter number"),
) -> Response[dict[str, Any]]:
    try:
        count = int(limit)
    except ValueError:
        return _error(400, f"limit must be a whole number between 1 and {MAX_LIMIT}.")
    try:
        result = await service.search(
            q, system=system or None, billable_only=billable, chapter=chapter or None, limit=count
        )
    except SearchQueryError as exc:
        return _error(400, str(exc))
    except SearchUnavailable as exc:
        return Response(
            {"error": str(exc)},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return Response(
        {
            "query": result.query,
            "mode": result.mode,
            "total": result.total,
            "partial": result.partial,
            "corrections": result.corrections,
            "expansions": result.expansions,
            "releases": list(result.release_names),
            "results": [_hit(h) for h in result.hits],
        }
    )


@get(
    "/api/v1/codes/{system_slug:str}/{raw_code:str}",
    name="api-code",
    summary="One code with everything its page shows",
    description=(
        "Metered like the code page: a guest gets the code, its descriptions and the names of "
        "the locked sections; an account within its quota gets every section."
    ),
    tags=["codes"],
)
async def api_code(
    request: ApiRequest, system_slug: FromPath[str], raw_code: FromPath[str]
) -> Response[dict[str, Any]]:
    system = system_for(system_slug)
    if system is None:
        return _error(404, f"There is no code system “{system_slug[:40]}”.")
    try:
        code = system.normalise(raw_code)
    except CodeFormatError as exc:
        return _error(400, str(exc))
    page = await code_page(system, code)
    if page is None:
        return _error(404, f"{raw_code[:40]} is not a code in {system.label}.")
    access = await metered_access(request, CODE_PAGE_VIEWS, f"{system.slug}:{page.code.code}")
    if not access.page:
        return _error(
            402 if access.reason == "limit" else 401,
            "You have used your free code page views: "
            + ("register for more." if access.reason == "guest" else "Pro has no limit."),
            code=page.code.display,
        )
    view = page.code
    return Response(
        {
            "code": view.display,
            "system": system.slug,
            "title": view.title,
            "short_title": view.short_title,
            "billable": view.billable,
            "status": page.status,
            "release": view.release.label,
            "url": page.path,
            "common_language": page.plain,
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "sources": s.sources,
                    "locked": not access.entitled,
                    "data": plain(s.data) if access.entitled else None,
                }
                for s in page.sections
            ],
            "remaining_views": access.remaining,
        }
    )


def plain(value: Any) -> Any:
    """Section data as JSON: dataclasses as objects (their public fields), dates as ISO."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_") and f.name not in ("html", "rendered")
        }
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


ROUTES = [api_search, api_code]
