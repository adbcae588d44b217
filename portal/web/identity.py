"""Who is asking: the signed-in account, or a guest known by a signed cookie and address."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from portal import runtime
from portal.accounts.service import AccountView, get_account
from portal.metering.service import Subject

GUEST_COOKIE = "portal_guest"
_UNSET = object()


async def current_account(request: Request[Any, Any, Any]) -> AccountView | None:
    """The signed-in account, loaded once per request; a disabled account is signed out."""
    cached = request.state.get("account", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    account = None
    uid = request.session.get("uid") if "session" in request.scope else None
    if isinstance(uid, int):
        account = await get_account(uid)
        if account is None:
            request.clear_session()
    request.state.account = account
    return account


def client_address(request: Request[Any, Any, Any]) -> str:
    # uvicorn rewrites the client from X-Forwarded-For only for TRUSTED_PROXIES.
    return request.client.host if request.client else "unknown"


def _sign(value: str) -> str:
    key = runtime.current().settings.security.secret_key.encode()
    return hmac.new(key, f"guest:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def guest_id(request: Request[Any, Any, Any], create: bool = True) -> str | None:
    """The guest's id from its signed cookie; a new one (set by render()) when absent or forged."""
    if request.state.get("guest_id"):
        return request.state.guest_id  # type: ignore[no-any-return]
    raw = request.cookies.get(GUEST_COOKIE, "")
    gid, _, sig = raw.partition(".")
    if gid and sig and hmac.compare_digest(sig, _sign(gid)):
        request.state.guest_id = gid
        return gid
    if not create:
        return None
    gid = secrets.token_hex(16)
    request.state.guest_id = gid
    request.state.new_guest_cookie = True
    return gid


class _GuestCookie(Cookie):
    """The guest cookie, formatted directly: its value is hex and a dot, nothing to quote, and
    Litestar's generic path (SimpleCookie from a deep-copied asdict) was a visible part of a
    cookie-less visitor's page view."""

    def to_header(self, **kwargs: Any) -> str:
        parts = [f"{self.key}={self.value}", f"Max-Age={self.max_age}", f"Path={self.path}"]
        parts += ["HttpOnly"] * bool(self.httponly) + ["Secure"] * bool(self.secure)
        parts.append(f"SameSite={self.samesite}")
        header = kwargs.get("header", "Set-Cookie:")
        return f"{header} {'; '.join(parts)}".strip() if header else "; ".join(parts)


def guest_cookie(request: Request[Any, Any, Any]) -> Cookie | None:
    """The cookie to set on this response, if this request minted a guest id."""
    if not request.state.get("new_guest_cookie"):
        return None
    settings = runtime.current().settings
    gid = request.state.guest_id
    return _GuestCookie(
        key=GUEST_COOKIE,
        value=f"{gid}.{_sign(gid)}",
        max_age=settings.security.guest_cookie_max_age_s,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


async def meter_subject(request: Request[Any, Any, Any], create_guest: bool = True) -> Subject:
    account = await current_account(request)
    if account is not None:
        return Subject.user(account.id, account.plan)
    gid = guest_id(request, create=create_guest)
    secret = runtime.current().settings.security.secret_key
    fresh = gid is None or bool(request.state.get("new_guest_cookie"))
    return Subject.guest(gid or "anonymous", client_address(request), secret, fresh=fresh)
