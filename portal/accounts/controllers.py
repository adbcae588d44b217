"""Account pages: register, log in and out, verify, reset password."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from portal.accounts import audit, service
from portal.errors import InvalidCredentials, InvalidToken, Throttled, ValidationFailed
from portal.web import limits
from portal.web.forms import form_fields, safe_next
from portal.web.htmx import is_htmx
from portal.web.identity import client_address, current_account
from portal.web.render import render
from portal.web.sessions import log_in, log_out

AuthRequest = Request[Any, Any, Any]

SIGNED_IN_TRIGGER = "portal:auth-changed"


def origin(request: AuthRequest) -> dict[str, str]:
    """Who is at the other end, for the audit log (which keeps neither value in clear)."""
    return {
        "address": client_address(request),
        "user_agent": request.headers.get("user-agent", "")[:500],
    }


def retry_after(exc: Throttled) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after_s)}


async def too_many(request: AuthRequest, exc: Throttled) -> Response[Any]:
    return await render(
        request,
        "accounts/message.html",
        {"title": "Too many requests", "message": exc.message},
        status_code=429,
        headers=retry_after(exc),
    )


def _gate_id(raw: str | None) -> str:
    """The gated section a form came from (element ids are built from it)."""
    return raw if raw and len(raw) <= 40 and re.fullmatch(r"[a-z0-9-]+", raw) else "gate"


async def auth_form(
    request: AuthRequest,
    mode: str,
    next_url: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    inline: bool = False,
    gate_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """The register or log-in form: a page of its own, or the block inside a gated section."""
    ctx = {
        "mode": mode,
        "next": next_url,
        "values": values or {},
        "errors": errors or {},
        "inline": inline,
        "gate_id": _gate_id(gate_id),
    }
    if inline and is_htmx(request):
        return await render(
            request, "accounts/_gate_forms.html", ctx, status_code=status_code, headers=headers
        )
    return await render(
        request, f"accounts/{mode}.html", ctx, status_code=status_code, headers=headers
    )


def _signed_in(request: AuthRequest, account_id: int, next_url: str) -> Response[Any]:
    log_in(request, account_id)
    if is_htmx(request):
        # The page listens for this event and swaps its gated sections and header in place.
        return Response(
            content='<p class="notice" role="status">Signed in. Loading…</p>',
            media_type="text/html",
            status_code=200,
            headers={"HX-Trigger": SIGNED_IN_TRIGGER, "Vary": "HX-Request"},
        )
    return Redirect(path=next_url, status_code=303)


class AuthController(Controller):
    path = "/account"

    @get("/register", name="register")
    async def register_page(
        self, request: AuthRequest, next: FromQuery[str | None] = None
    ) -> Response[Any]:
        return await auth_form(request, "register", safe_next(next))

    @post("/register")
    async def register(self, request: AuthRequest) -> Any:
        form = await form_fields(request)
        next_url, inline = safe_next(form.get("next")), form.get("inline") == "1"
        values = {"email": form.get("email", "")}
        try:
            await limits.check_register(client_address(request))
        except Throttled as exc:
            return await auth_form(
                request,
                "register",
                next_url,
                values=values,
                errors={"form": exc.message},
                status_code=429,
                inline=inline,
                gate_id=form.get("gate_id"),
                headers=retry_after(exc),
            )
        try:
            account = await service.register(
                form.get("email", ""), form.get("password", ""), **origin(request)
            )
        except ValidationFailed as exc:
            return await auth_form(
                request,
                "register",
                next_url,
                values=values,
                errors=exc.fields,
                status_code=422,
                inline=inline,
                gate_id=form.get("gate_id"),
            )
        if account is None:
            return await render(
                request,
                "accounts/message.html",
                {
                    "title": "Check your inbox",
                    "message": "We have sent a message to that address. Follow it to continue; "
                    "if you already have an account, log in instead.",
                },
            )
        return _signed_in(request, account.id, next_url)

    @get("/login", name="login")
    async def login_page(
        self, request: AuthRequest, next: FromQuery[str | None] = None
    ) -> Response[Any]:
        return await auth_form(request, "login", safe_next(next))

    @post("/login")
    async def login(self, request: AuthRequest) -> Any:
        form = await form_fields(request)
        next_url, inline = safe_next(form.get("next")), form.get("inline") == "1"
        values = {"email": form.get("email", "")}
        try:
            account = await service.authenticate(
                form.get("email", ""),
                form.get("password", ""),
                client_address(request),
                user_agent=origin(request)["user_agent"],
            )
        except (InvalidCredentials, Throttled) as exc:
            headers = retry_after(exc) if isinstance(exc, Throttled) else None
            return await auth_form(
                request,
                "login",
                next_url,
                values=values,
                errors={"form": exc.message},
                status_code=429 if headers else 422,
                inline=inline,
                gate_id=form.get("gate_id"),
                headers=headers,
            )
        return _signed_in(request, account.id, next_url)

    @get("/logout")
    async def logout_page(self, request: AuthRequest) -> Response[Any]:
        return await render(request, "accounts/logout.html")

    @post("/logout")
    async def logout(self, request: AuthRequest) -> Redirect:
        account = await current_account(request)
        log_out(request)
        if account is not None:
            await audit.record("signout", account_id=account.id, **origin(request))
        return Redirect(path="/", status_code=303)

    @get("/verify/{token:str}")
    async def verify(self, request: AuthRequest, token: FromPath[str]) -> Response[Any]:
        try:
            await service.verify_email(token)
        except InvalidToken as exc:
            return await render(
                request,
                "accounts/message.html",
                {"title": "Link not valid", "message": exc.message, "resend": True},
                status_code=400,
            )
        return await render(
            request,
            "accounts/message.html",
            {
                "title": "Email confirmed",
                "message": "Thank you: your email address is confirmed.",
            },
        )

    @post("/verify/resend")
    async def resend_verification(self, request: AuthRequest) -> Any:
        account = await current_account(request)
        if account is None:
            return Redirect(path="/account/login?next=/account/settings", status_code=303)
        if not account.verified:
            await service.send_verification(account)
        return await render(
            request,
            "accounts/message.html",
            {
                "title": "Check your inbox",
                "message": f"We sent a new link to {account.email}.",
            },
        )

    @get("/password-reset")
    async def forgot_page(self, request: AuthRequest) -> Response[Any]:
        return await render(request, "accounts/forgot.html", {"values": {}, "errors": {}})

    @post("/password-reset")
    async def forgot(self, request: AuthRequest) -> Response[Any]:
        form = await form_fields(request)
        try:
            await limits.check_reset(client_address(request))
        except Throttled as exc:
            return await too_many(request, exc)
        try:
            email = service.normalize_email(form.get("email", ""))
            if await limits.reset_mail_allowed(email):
                await service.start_password_reset(email)
        except ValidationFailed as exc:
            return await render(
                request,
                "accounts/forgot.html",
                {"values": form, "errors": exc.fields},
                status_code=422,
            )
        return await render(
            request,
            "accounts/message.html",
            {
                "title": "Check your inbox",
                "message": "If an account uses that address, we have sent it a link to choose a "
                "new password. The link works once, within the hour.",
            },
        )

    @get("/reset/{token:str}")
    async def reset_page(self, request: AuthRequest, token: FromPath[str]) -> Response[Any]:
        return await render(request, "accounts/reset.html", {"token": token, "errors": {}})

    @post("/reset/{token:str}")
    async def reset(self, request: AuthRequest, token: FromPath[str]) -> Any:
        form = await form_fields(request)
        try:
            account = await service.reset_password(
                token, form.get("password", ""), **origin(request)
            )
        except ValidationFailed as exc:
            return await render(
                request,
                "accounts/reset.html",
                {"token": token, "errors": exc.fields},
                status_code=422,
            )
        except InvalidToken as exc:
            return await render(
                request,
                "accounts/message.html",
                {"title": "Link not valid", "message": exc.message, "reset_again": True},
                status_code=400,
            )
        log_in(request, account.id)
        return Redirect(path="/account/settings?reset=1", status_code=303)

    @get("/email/{token:str}")
    async def confirm_email_change(
        self, request: AuthRequest, token: FromPath[str]
    ) -> Response[Any]:
        try:
            account = await service.confirm_email_change(token, **origin(request))
        except (InvalidToken, ValidationFailed) as exc:
            return await render(
                request,
                "accounts/message.html",
                {"title": "Link not valid", "message": exc.message},
                status_code=400,
            )
        return await render(
            request,
            "accounts/message.html",
            {
                "title": "Email changed",
                "message": f"Your account now uses {account.email}.",
            },
        )
