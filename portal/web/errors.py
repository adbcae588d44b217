"""Every error becomes a clear page (or JSON for the API) with the right status; never a 500 page
that leaks a traceback."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal import runtime
from portal.errors import PortalError, Throttled
from portal.web.forms import safe_next
from portal.web.htmx import is_history_restore, is_htmx

log = structlog.get_logger("portal.web")

FRIENDLY = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is no page at this address.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is too large.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/healthz", "/readyz")) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def _respond(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if _wants_json(request):
        return Response(
            {"error": message, "status": status},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    try:
        nav = [f.nav for f in runtime.current().features if f.nav is not None]
    except RuntimeError:
        nav = []
    return Template(
        template_name="error.html",
        context={
            "status": status,
            "message": message,
            "account": request.state.get("account"),
            "meter": None,
            "nav": nav,
        },
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Vary": "HX-Request", **(headers or {})},
    )


def _login_redirect(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Send a guest who opens a page that needs an account to log in, and back afterwards.

    Only for a page (GET or HEAD) in a browser: JSON clients and forms posted by guests get the
    401. An htmx request gets HX-Redirect, so the login page loads whole rather than being
    swapped into a fragment's target.
    """
    if request.method not in ("GET", "HEAD") or _wants_json(request):
        return None
    # The path as sent (the router drops a trailing slash from scope["path"]).
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    here = path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/account/login?next={quote(safe_next(here), safe='/')}"
    if is_htmx(request) and not is_history_restore(request):
        return _respond(
            request, 401, "Log in to see this page.", {"HX-Redirect": login, "Vary": "HX-Request"}
        )
    return Redirect(path=login, status_code=303, headers={"Vary": "HX-Request"})


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        redirect = _login_redirect(request)
        if redirect is not None:
            return redirect
    if isinstance(exc, PermissionDeniedException) and "csrf" in str(exc.detail).lower():
        message = (
            "This form has expired or was sent from another site. Reload the page and try again."
        )
    elif isinstance(exc, NotAuthorizedException):
        message = "Log in to see this page."
    elif status == 413:
        message = f"What you sent is too large (the limit here is {_body_limit(request)})."
    elif status == 400 and exc.detail:
        message = str(exc.detail)
    else:
        message = FRIENDLY.get(status, str(exc.detail))
    return _respond(request, status, message, dict(exc.headers or {}))


def _body_limit(request: Request[Any, Any, Any]) -> str:
    """The body limit of the route asked (upload forms allow more than the portal's default)."""
    limit = runtime.current().settings.security.max_request_body_bytes
    handler = request.scope.get("route_handler")
    if handler is not None:
        limit = handler.resolve_request_max_body_size() or limit
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def portal_error_handler(request: Request[Any, Any, Any], exc: PortalError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, Throttled) else None
    return _respond(request, exc.status_code, exc.message, headers)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception(
        "unhandled error",
        path=request.scope.get("route_handler").handler_name
        if request.scope.get("route_handler")
        else None,
    )
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, FRIENDLY[500])


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    PortalError: portal_error_handler,
    Exception: unexpected_error_handler,
}
