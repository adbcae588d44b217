"""Single sign-on pages: the redirect to a provider, its answer, confirming a link, and the
sign-in providers section of the settings page. The flow itself is in oidc_flow.py."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from portal.accounts import identities, oidc_flow
from portal.accounts.controllers import origin
from portal.accounts.oidc import SsoRefused
from portal.accounts.oidc_flow import Client, SignedIn
from portal.accounts.settings_controller import require_account
from portal.errors import InvalidCredentials, NotFound, Throttled
from portal.web.forms import form_fields, safe_next
from portal.web.identity import current_account
from portal.web.render import render
from portal.web.sessions import log_in

SsoRequest = Request[Any, Any, Any]
IDENTITIES = "/account/sso/identities"


def _client(request: SsoRequest) -> Client:
    return Client(**origin(request))


def _session(request: SsoRequest) -> dict[str, Any]:
    # A copy: the flow sets top-level keys, and set_session() hands the whole dict back (a change
    # inside a nested value would look unchanged to the session backend).
    return dict(request.session)


async def _refused(request: SsoRequest, exc: SsoRefused, key: str | None = None) -> Response[Any]:
    return await render(
        request,
        "accounts/sso_refused.html",
        {"message": exc.message, "provider_key": key},
        status_code=400,
    )


def _signed_in(request: SsoRequest, outcome: SignedIn) -> Redirect:
    log_in(request, outcome.account_id)  # a fresh session id; the flow's keys go with the old
    return Redirect(path=safe_next(outcome.next_url), status_code=303)


class SsoController(Controller):
    path = "/account/sso"

    @get("/{provider:str}", name="sso-start")
    async def start(
        self, request: SsoRequest, provider: FromPath[str], next: FromQuery[str | None] = None
    ) -> Response[Any]:
        session = _session(request)
        try:
            url = await oidc_flow.begin(provider, safe_next(next), session)
        except SsoRefused as exc:
            return await _refused(request, exc, provider)
        request.set_session(session)
        return Redirect(path=url, status_code=303)

    @get("/{provider:str}/callback")
    async def callback(self, request: SsoRequest, provider: FromPath[str]) -> Response[Any]:
        session = _session(request)
        account = await current_account(request)
        params = {k: request.query_params.get(k) for k in ("code", "state", "error", "iss")}
        try:
            outcome = await oidc_flow.complete(
                provider, params, session, account.id if account else None, _client(request)
            )
        except SsoRefused as exc:
            request.set_session(session)
            return await _refused(request, exc, provider)
        request.set_session(session)
        if isinstance(outcome, SignedIn):
            return _signed_in(request, outcome)
        return Redirect(path="/account/sso/link", status_code=303)

    @get("/link")
    async def link_page(self, request: SsoRequest) -> Response[Any]:
        return await _link_page(request)

    @post("/link")
    async def confirm(self, request: SsoRequest) -> Response[Any]:
        form = await form_fields(request)
        session = _session(request)
        account = await current_account(request)
        try:
            if account is not None:
                outcome = await oidc_flow.confirm_connect(session, account.id, _client(request))
            else:
                outcome = await oidc_flow.confirm_with_password(
                    session, form.get("password", ""), _client(request)
                )
        except (InvalidCredentials, Throttled) as exc:
            status = 429 if isinstance(exc, Throttled) else 422
            return await _link_page(request, error=exc.message, status_code=status)
        except SsoRefused as exc:
            request.set_session(session)
            return await _refused(request, exc)
        request.set_session(session)
        return _signed_in(request, outcome)

    @post("/link/mail")
    async def mail(self, request: SsoRequest) -> Response[Any]:
        session = _session(request)
        try:
            link = await oidc_flow.mail_link(session)
        except SsoRefused as exc:
            return await _link_page(request, error=exc.message, status_code=400)
        request.set_session(session)
        return await _link_page(
            request,
            notice=f"We sent a link to {link.email}. Open it in this browser within 30 minutes.",
        )

    @get("/link/{token:str}")
    async def mailed_link(self, request: SsoRequest, token: FromPath[str]) -> Response[Any]:
        session = _session(request)
        try:
            outcome = await oidc_flow.confirm_by_mail(session, token, _client(request))
        except SsoRefused as exc:
            request.set_session(session)
            return await _refused(request, exc)
        request.set_session(session)
        return _signed_in(request, outcome)

    @get("/identities")
    async def identities_page(self, request: SsoRequest) -> Response[Any]:
        return await _identities_page(request)

    @post("/identities/{identity_id:int}/unlink")
    async def unlink(self, request: SsoRequest, identity_id: FromPath[int]) -> Response[Any]:
        account = await require_account(request)
        try:
            name = await oidc_flow.unlink(account.id, identity_id, _client(request))
        except (identities.LastSignInMethod, NotFound) as exc:
            return await _identities_page(request, error=exc.message, status_code=422)
        return await _identities_page(request, notice=f"{name} is disconnected.")


async def _link_page(
    request: SsoRequest,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    link = oidc_flow.pending(request.session)
    if link is None:
        return await _refused(request, oidc_flow.nothing_pending())
    context = {"link": link, "link_error": error, "link_notice": notice}
    return await render(request, "accounts/sso_link.html", context, status_code=status_code)


async def _identities_page(
    request: SsoRequest,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    account = await require_account(request)
    context = {
        "identities": await identities.for_account(account.id),
        "has_password": await identities.account_has_password(account.id),
        "sso_error": error,
        "sso_notice": notice,
    }
    return await render(
        request,
        "accounts/sso_identities.html",
        context,
        fragments={"sso-identities": "accounts/_identities.html"},
        status_code=status_code,
    )
