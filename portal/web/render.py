"""The one render helper: a full page, or a fragment for htmx, with the shared context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request
from litestar.response import Template

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
    return MeterBadge(await metering.remaining(subject, CODE_PAGE_VIEWS), subject.plan_key)


async def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragments: Mapping[str, str] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Template:
    """Render `template`, or the fragment registered for the request's HX-Target.

    `fragments` maps an element id (HX-Target) to the partial template that fills it. Fragments
    carry the meter badge as an out-of-band swap, so the header stays right without a reload.
    """
    fragments = fragments or {}
    fragment = wants_fragment(request, tuple(fragments))
    account = await current_account(request)
    ctx = {
        "account": account,
        "meter": await meter_badge(request),
        "nav": [f.nav for f in runtime.current().features if f.nav is not None],
        "is_fragment": fragment,
        **(context or {}),
    }
    name = fragments[request.headers["hx-target"]] if fragment else template
    cookie = guest_cookie(request)
    return Template(
        template_name=name,
        context=ctx,
        status_code=status_code,
        media_type=MediaType.HTML,  # a POST handler's default would be JSON
        headers={"Vary": "HX-Request", **(headers or {})},
        cookies=[cookie] if cookie else None,
    )
