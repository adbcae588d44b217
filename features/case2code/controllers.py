"""Code pages and browse pages: /codes/{system}/{code} and below."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from features.case2code import browse, catalog, mycodes
from features.case2code.pages import code_page
from features.case2code.systems import SYSTEMS, CodeFormatError, System, system_for
from portal.settings import CODE_PAGE_VIEWS
from portal.web.gate import metered_access
from portal.web.identity import current_account
from portal.web.render import GuestShared, prerender, render

PageRequest = Request[Any, Any, Any]


def _system(slug: str) -> System:
    system = system_for(slug)
    if system is None:
        raise NotFoundException(
            f"There is no code system “{slug[:40]}”. Use one of: {', '.join(SYSTEMS)}."
        )
    return system


@get("/codes/{system_slug:str}/{raw_code:str}", name="code-page")
async def code_detail(
    request: PageRequest, system_slug: FromPath[str], raw_code: FromPath[str]
) -> Response[Any]:
    system = _system(system_slug)
    try:
        code = system.normalise(raw_code)
    except CodeFormatError as exc:
        return await render(
            request,
            "case2code/code_error.html",
            {"system": system, "message": str(exc), "raw": raw_code[:40]},
            status_code=400,
        )
    page = await code_page(system, code)
    if page is None:
        release = await catalog.current_release(system.code_set)
        return await render(
            request,
            "case2code/code_missing.html",
            {
                "system": system,
                "raw": raw_code[:40],
                "code": code,
                "nearest": await catalog.nearest(system.slug, code),
                "release": release,
            },
            status_code=404,
        )
    access = await metered_access(request, CODE_PAGE_VIEWS, f"{system.slug}:{page.code.code}")
    # The body depends on the reader only through these three; the rest is the page's data
    # (and the sign-on providers its gates offer, settings that change only in tests).
    providers = request.app.state.runtime.settings.oidc.providers
    seen_as = (access.page, access.entitled, access.reason, tuple(p.key for p in providers))
    body = prerender(
        page.rendered,
        ("body", *seen_as),
        "case2code/_code_body.html",
        {"page": page, "access": access, "next_url": page.path, "sso_providers": providers},
    )
    shared = GuestShared(page.rendered, seen_as) if request.url.path == page.path else None
    # The reader's own star and note, outside the pre-rendered body (guests have none).
    account = await current_account(request)
    mine = await mycodes.entry(account.id, system.slug, page.code.code) if account else None
    return await render(
        request,
        "case2code/code.html",
        {"page": page, "body": body, "mine": mine},
        guest_shared=shared,
    )


@get("/codes/{system_slug:str}", name="browse-system")
async def browse_system(request: PageRequest, system_slug: FromPath[str]) -> Response[Any]:
    system = _system(system_slug)
    return await render(request, "case2code/browse.html", await browse.root(system))


@get("/codes/{system_slug:str}/{kind:str}/{key:str}", name="browse-group")
async def browse_group(
    request: PageRequest, system_slug: FromPath[str], kind: FromPath[str], key: FromPath[str]
) -> Response[Any]:
    system = _system(system_slug)
    context = await browse.group_page(system, kind, key)
    if context is None:
        raise NotFoundException(f"There is no {kind[:20]} “{key[:40]}” in {system.label}.")
    return await render(request, "case2code/browse.html", context)


@get("/case2code/lookup", name="code-lookup")
async def lookup(
    request: PageRequest, system: FromQuery[str] = "icd-10-cm", code: FromQuery[str] = ""
) -> Any:
    """The no-JavaScript path of the lookup form: straight to the code's page."""
    chosen = _system(system)
    try:
        normalised = chosen.normalise(code)
    except CodeFormatError as exc:
        return await render(
            request,
            "case2code/home.html",
            {
                "systems": await browse.overview(),
                "error": str(exc),
                "raw": code[:40],
                "chosen": chosen.slug,
            },
            status_code=400,
        )
    return Redirect(path=f"/codes/{chosen.slug}/{normalised}", status_code=303)


# /case2code itself (search, with the lookup and browse overview) is in search_views.py.
ROUTES = [lookup, code_detail, browse_system, browse_group]
