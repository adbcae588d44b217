"""Every error becomes a clear page (or JSON for the API) with the right status; never a 500 page
that leaks a traceback."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal import runtime
from portal.errors import PortalError, Throttled

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


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, PermissionDeniedException) and "csrf" in str(exc.detail).lower():
        message = (
            "This form has expired or was sent from another site. Reload the page and try again."
        )
    elif isinstance(exc, NotAuthorizedException):
        message = "Log in to see this page."
    elif status == 413:
        limit = runtime.current().settings.security.max_request_body_bytes // 1024
        message = f"What you sent is too large (the limit is {limit} KB)."
    elif status == 400 and exc.detail:
        message = str(exc.detail)
    else:
        message = FRIENDLY.get(status, str(exc.detail))
    return _respond(request, status, message, dict(exc.headers or {}))


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
