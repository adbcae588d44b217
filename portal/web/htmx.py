"""Reading what htmx tells the server about a request."""

from __future__ import annotations

from litestar import Request


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def is_history_restore(request: Request) -> bool:
    return request.headers.get("hx-history-restore-request") == "true"


def wants_fragment(request: Request, targets: tuple[str, ...]) -> bool:
    """A fragment only for htmx requests aimed at a target the page knows; else the page.

    History-restore requests carry HX-Request too and must get the whole page.
    """
    return (
        is_htmx(request)
        and not is_history_restore(request)
        and request.headers.get("hx-target", "") in targets
    )
