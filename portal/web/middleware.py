"""Security headers on every response, and a structured access log.

The headers go on through a before_send hook, so pages, htmx fragments, error pages, static
files, the JSON API and the rate limiter's own 429s all carry them (tests/test_security_headers.py).
The CSP allows scripts from this origin only (no inline script, no eval: the pages have none, and
htmx is configured with allowEval false) and no framing; HSTS is sent only when BASE_URL is https.

Cookie flags are set where each cookie is made, all SameSite=Lax and Secure behind https:
the session (portal/app.py: HttpOnly), the guest id (portal/web/identity.py: HttpOnly) and the
CSRF token (portal/app.py: not HttpOnly, because portal.js reads it to send x-csrftoken on htmx
requests; it is no secret from the page, and SameSite plus its signature do the work).

The access log records the route template (/codes/{system}/{code}), never the query string or
form data, which may carry case text.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("portal.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if secure:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def security_headers_hook(secure: bool) -> Any:
    """A before_send hook: it sees every response, 404s and error pages included."""
    extra = [(k.decode(), v.decode()) for k, v in security_headers(secure)]

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            for key, value in extra:
                if key not in headers:
                    headers[key] = value

    return before_send


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # The full template the router matched (/account/verify/{token}); a handler's own
            # `paths` would leave out its controller's prefix.
            log.info(
                "request",
                method=scope["method"],
                route=scope.get("path_template") or "unmatched",
                status=status["code"],
                ms=round((time.perf_counter() - start) * 1000, 1),
            )
