"""The search page (/case2code) and My codes (/case2code/my): thin controllers over the search
engine (features/case2code/search/service.py) and features/case2code/mycodes.py."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery
from litestar.response import Redirect

from features.case2code import browse, catalog, mycodes
from features.case2code.search import service as search_service
from features.case2code.search.hits import (
    MAX_QUERY_CHARS,
    SYSTEM_FILTERS,
    SearchQueryError,
    SearchResult,
    SearchUnavailable,
)
from features.case2code.systems import SYSTEMS
from portal.accounts.service import AccountView
from portal.errors import ValidationFailed
from portal.web.forms import form_fields, safe_next
from portal.web.htmx import is_htmx, wants_fragment
from portal.web.identity import current_account
from portal.web.render import render

log = structlog.get_logger("case2code.search")

PageRequest = Request[Any, Any, Any]

RESULTS_TARGET = "search-results"
PAGE_SIZE = 20
MORE_SIZE = 100
RECORD_TIMEOUT_S = 2.0  # recording a recent search must never hold a search up for long


@dataclass(frozen=True)
class SearchForm:
    """The search as the URL states it (the URL is the search: reload and back keep it)."""

    q: str = ""
    system: str = ""
    billable: bool = False
    chapter: str = ""
    more: bool = False

    @property
    def filtered(self) -> bool:
        return bool(self.system or self.billable or self.chapter)

    @property
    def chapter_applies(self) -> bool:
        return self.system in ("", "icd-10-cm")

    def url(self, **changes: Any) -> str:
        form = replace(self, **changes)
        params = {
            "q": form.q,
            "system": form.system,
            "billable": "1" if form.billable else "",
            "chapter": form.chapter,
            "more": "1" if form.more else "",
        }
        query = urlencode({k: v for k, v in params.items() if v})
        return f"/case2code?{query}" if query else "/case2code"


@dataclass
class SearchView:
    form: SearchForm
    result: SearchResult | None = None
    error: str | None = None
    status: int = 200
    starred: set[tuple[str, str]] = field(default_factory=set)

    @property
    def corrected_query(self) -> str | None:
        """The query as the engine searched it, when it corrected a typed word."""
        if self.result is None or not self.result.corrections:
            return None
        fixes = {typed.casefold(): used for typed, used in self.result.corrections.items()}
        return " ".join(fixes.get(word.casefold(), word) for word in self.form.q.split())

    @property
    def can_show_more(self) -> bool:
        return (
            self.result is not None
            and not self.form.more
            and self.result.total > len(self.result.hits)
        )


_chapters: tuple[float, list[tuple[str, str]]] = (0.0, [])
_CHAPTERS_TTL_S = 300.0


async def icd10cm_chapters() -> list[tuple[str, str]]:
    """(key, title) of each ICD-10-CM chapter for the filter; kept for 5 minutes (imports only
    change them)."""
    global _chapters
    loaded_at, cached = _chapters
    if cached and time.monotonic() - loaded_at < _CHAPTERS_TTL_S:
        return cached
    groups = await catalog.groups("icd-10-cm", "chapter")
    fresh = [(g.key, g.title) for g in groups]
    _chapters = (time.monotonic(), fresh)
    return fresh


async def _record(account: AccountView, query: str) -> None:
    """Remember the search for My codes; a failure here is logged and the search goes on."""
    try:
        await asyncio.wait_for(mycodes.record_search(account.id, query), RECORD_TIMEOUT_S)
    except Exception:  # never let bookkeeping fail a search
        log.warning("recent search not recorded", account_id=account.id, exc_info=True)


async def _run_search(view: SearchView, chapters: list[tuple[str, str]]) -> None:
    form = view.form
    if form.chapter and form.chapter not in {key for key, _ in chapters}:
        view.error = (
            f"There is no ICD-10-CM chapter “{form.chapter[:20]}”. Choose one from the list."
        )
        view.status = 400
        return
    try:
        view.result = await search_service.search(
            form.q,
            system=form.system or None,
            billable_only=form.billable,
            chapter=(form.chapter or None) if form.chapter_applies else None,
            limit=MORE_SIZE if form.more else PAGE_SIZE,
        )
    except SearchQueryError as exc:
        view.error, view.status = str(exc), 400
    except SearchUnavailable as exc:
        view.error, view.status = str(exc), 503


@get("/case2code", name="case2code")
async def search_page(
    request: PageRequest,
    q: FromQuery[str] = "",
    system: FromQuery[str] = "",
    billable: FromQuery[str] = "",
    chapter: FromQuery[str] = "",
    more: FromQuery[str] = "",
) -> Response[Any]:
    """Search, or (no query) examples, the code lookup and the browse overview.

    htmx's active search asks for #search-results only; everything else gets the whole page.
    """
    form = SearchForm(
        q=q[: MAX_QUERY_CHARS * 5],  # long enough to say it is too long, short enough to echo
        system=system.strip()[:20],
        billable=billable in ("1", "on", "true"),
        chapter=chapter.strip()[:10],
        more=more == "1",
    )
    view = SearchView(form)
    account = await current_account(request)
    chapters = await icd10cm_chapters()
    context: dict[str, Any] = {
        "search": view,
        "chapters": chapters,
        "system_filters": [SYSTEMS[slug] for slug in SYSTEM_FILTERS if slug in SYSTEMS],
        "system_labels": {slug: system.label for slug, system in SYSTEMS.items()},
    }
    if form.q.strip():
        await _run_search(view, chapters)
        if view.result is not None and account is not None:
            if view.result.hits:
                view.starred = await mycodes.starred_among(
                    account.id, [(h.system, h.code) for h in view.result.hits]
                )
            await _record(account, form.q)
    else:
        context["systems"] = await browse.overview()
        if account is not None:
            context["recent"] = await mycodes.recent_searches(account.id, limit=5)
    return await render(
        request,
        "case2code/search.html",
        context,
        fragments={RESULTS_TARGET: "case2code/_search_results.html"},
        status_code=view.status,
        headers={"Retry-After": "5"} if view.status == 503 else None,
    )


SUGGESTIONS = 6


@get("/case2code/suggest", name="search-suggest")
async def suggest(request: PageRequest, q: FromQuery[str] = "") -> Response[Any]:
    """The header search box's suggestions (an htmx fragment); a plain visit goes to the search
    page, which shows the same search in full."""
    if not is_htmx(request):
        return Redirect(path=SearchForm(q=q[:MAX_QUERY_CHARS]).url(), status_code=303)
    context: dict[str, Any] = {"result": None, "message": None}
    if q.strip():
        try:
            context["result"] = await search_service.search(q, limit=SUGGESTIONS)
        except (SearchQueryError, SearchUnavailable) as exc:
            context["message"] = str(exc)
    # Always 200: a suggestion box shows its message rather than failing the page around it.
    return await render(request, "case2code/_suggest.html", context)


# My codes --------------------------------------------------------------------------------------


def _login_first(request: PageRequest, back: str) -> Response[Any]:
    """A guest who posts to My codes: to the log-in page, and back afterwards."""
    login = f"/account/login?next={quote(back, safe='/')}"
    if is_htmx(request):
        return Response("", status_code=401, headers={"HX-Redirect": login, "Vary": "HX-Request"})
    return Redirect(path=login, status_code=303)


async def _my_codes_post(
    request: PageRequest,
) -> tuple[dict[str, str], str, AccountView | None]:
    """A My codes form: its fields, where to go back to (same site only) and who posted it."""
    form = await form_fields(request)
    return form, safe_next(form.get("next"), "/case2code/my"), await current_account(request)


@get("/case2code/my", name="my-codes")
async def my_codes_page(request: PageRequest) -> Response[Any]:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to see your codes.")  # 303 to the log-in page
    return await _my_codes_response(request, account)


async def _my_codes_response(
    request: PageRequest,
    account: AccountView,
    *,
    note_error: tuple[str, str, str, str] | None = None,  # system, code, typed note, message
) -> Response[Any]:
    return await render(
        request,
        "case2code/mycodes.html",
        {
            "mine": await mycodes.my_codes(account.id),
            "recent": await mycodes.recent_searches(account.id),
            "note_error": note_error,
            "max_note": mycodes.MAX_NOTE_CHARS,
        },
        status_code=422 if note_error else 200,
    )


@post("/case2code/my/star", name="my-codes-star")
async def star(request: PageRequest) -> Response[Any]:
    """Star (starred=1) or unstar (starred=0) a code: htmx swaps the button, a plain form is
    sent back to the page it came from."""
    form, back, account = await _my_codes_post(request)
    if account is None:
        return _login_first(request, back)
    system, view = await mycodes.check_code(form.get("system", ""), form.get("code", ""))
    code = view.code
    starred = form.get("starred") == "1"
    await mycodes.set_star(account.id, system.slug, code, starred)
    target = f"star-{system.slug}-{code}"
    if wants_fragment(request, (target,)):
        context = {
            "system": system.slug,
            "code": code,
            "display": view.display,
            "starred": starred,
            "next_url": back,
        }
        return await render(
            request,
            "case2code/_star_fragment.html",
            context,
            fragments={target: "case2code/_star_fragment.html"},
        )
    return Redirect(path=back, status_code=303)


@post("/case2code/my/note", name="my-codes-note")
async def note(request: PageRequest) -> Response[Any]:
    form, back, account = await _my_codes_post(request)
    if account is None:
        return _login_first(request, back)
    system, view = await mycodes.check_code(form.get("system", ""), form.get("code", ""))
    code = view.code
    typed = form.get("note", "")
    target = f"note-{system.slug}-{code}"
    fragment = wants_fragment(request, (target,))
    try:
        saved = await mycodes.save_note(account.id, system.slug, code, typed)
    except ValidationFailed as exc:
        if not fragment:
            return await _my_codes_response(
                request, account, note_error=(system.slug, code, typed, exc.fields["note"])
            )
        saved, error = typed, exc.fields["note"]
    else:
        error = None
    if fragment:
        return await render(
            request,
            "case2code/_note_fragment.html",
            {
                "system": system.slug,
                "code": code,
                "display": view.display,
                "note": saved,
                "error": error,
                "saved": error is None,
                "next_url": back,
                "max_note": mycodes.MAX_NOTE_CHARS,
            },
            fragments={target: "case2code/_note_fragment.html"},
            status_code=422 if error else 200,
        )
    return Redirect(path=back, status_code=303)


@post("/case2code/my/recent/clear", name="my-codes-clear-recent")
async def clear_recent(request: PageRequest) -> Response[Any]:
    _, back, account = await _my_codes_post(request)
    if account is None:
        return _login_first(request, back)
    await mycodes.clear_recent(account.id)
    return Redirect(path=back, status_code=303)


ROUTES = [search_page, suggest, my_codes_page, star, note, clear_recent]
