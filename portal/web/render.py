"""The one render helper: a full page, or a fragment for htmx, with the shared context."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response
from litestar.response import Template
from litestar.template.base import csrf_token
from markupsafe import Markup, escape

from portal import runtime
from portal.metering import service as metering
from portal.settings import CODE_PAGE_VIEWS
from portal.web.htmx import wants_fragment
from portal.web.identity import current_account, guest_cookie, meter_subject


@dataclass(frozen=True)
class MeterBadge:
    remaining: int | None  # None: unlimited
    plan_key: str

    @property
    def label(self) -> str:
        if self.remaining is None:
            return "Unlimited code page views"
        noun = "view" if self.remaining == 1 else "views"
        return f"{self.remaining} code page {noun} remaining"


async def meter_badge(request: Request[Any, Any, Any]) -> MeterBadge:
    subject = await meter_subject(request, create_guest=False)
    known = request.state.get("meter_remaining", {})  # a metered page just asked the ledger
    if CODE_PAGE_VIEWS in known:
        return MeterBadge(known[CODE_PAGE_VIEWS], subject.plan_key)
    return MeterBadge(await metering.remaining(subject, CODE_PAGE_VIEWS), subject.plan_key)


@dataclass(frozen=True)
class GuestShared:
    """Says a page is the same for every guest for whom `key` is the same (and who sees the same
    meter figure): render() keeps it in `cache`, filling in each request's CSRF token.

    Pass it only for the canonical address of a page (the cache keys on the path)."""

    cache: MutableMapping[Hashable, Prerendered]
    key: Hashable


async def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragments: Mapping[str, str] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    guest_shared: GuestShared | None = None,
) -> Response[Any]:
    """Render `template`, or the fragment registered for the request's HX-Target.

    `fragments` maps an element id (HX-Target) to the partial template that fills it. Fragments
    carry the meter badge as an out-of-band swap, so the header stays right without a reload.
    """
    fragments = fragments or {}
    fragment = wants_fragment(request, tuple(fragments))
    account = await current_account(request)
    meter = await meter_badge(request)
    ctx = {
        "account": account,
        "meter": meter,
        "nav": [f.nav for f in runtime.current().features if f.nav is not None],
        "is_fragment": fragment,
        **(context or {}),
    }
    name = fragments[request.headers["hx-target"]] if fragment else template
    cookie = guest_cookie(request)
    common: dict[str, Any] = {
        "status_code": status_code,
        "media_type": MediaType.HTML,  # a POST handler's default would be JSON
        "headers": {"Vary": "HX-Request", **(headers or {})},
        "cookies": [cookie] if cookie else None,
    }
    if guest_shared is not None and account is None and not fragment and not request.url.query:
        # Most code page views are guests (and crawlers) re-reading public pages: the whole
        # page is the same for each of them but for the CSRF token in its forms.
        key = (guest_shared.key, name, status_code, request.url.path, meter)
        page = prerender(guest_shared.cache, key, name, {**ctx, "request": request})
        return Response(page.fill(csrf_input(request)), **common)
    return Template(template_name=name, context=ctx, **common)


def csrf_input(request: Request[Any, Any, Any]) -> str:
    """The hidden CSRF field of this request, as Litestar's templates write it."""
    token = csrf_token({"request": request})
    return f'<input type="hidden" name="_csrf_token" value="{escape(token)}" />'


# Where a pre-rendered part's forms take the request's CSRF input (an HTML comment, so the
# cached text stays valid HTML).
CSRF_SLOT = "<!--csrf-input-->"


@dataclass(frozen=True)
class Prerendered:
    """A part of a page rendered once and shown to every reader in the same situation."""

    html: str

    def fill(self, csrf_input: str) -> Markup:
        """The part with this request's CSRF input in its forms: `{{ part.fill(csrf_input) }}`."""
        return Markup(self.html.replace(CSRF_SLOT, csrf_input))  # noqa: S704 (rendered escaped)


def prerender(
    cache: MutableMapping[Hashable, Prerendered],
    key: Hashable,
    template: str,
    context: Mapping[str, Any],
) -> Prerendered:
    """Render `template` once per `key` into `cache` (a cache the caller owns and expires).

    For parts that depend on the reader only through what `key` says (a code page's body for
    "guest" / "entitled" / "out of views"): rendering them per request was most of a page's cost.
    """
    part = cache.get(key)
    if part is None:
        jinja = runtime.current().jinja
        html = jinja.get_template(template).render({**context, "csrf_input": CSRF_SLOT})
        part = cache[key] = Prerendered(html)
    return part
