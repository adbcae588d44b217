"""The admin's view of the security audit log: every account's events, newest first, filtered by
event and account id, a page at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery

from portal.accounts import audit
from portal.admin.controllers import admin_guard
from portal.web.render import render

PAGE_SIZE = 50


def _account_filter(raw: str) -> tuple[int | None, str | None]:
    """The account id typed in the filter, or an error to show instead of a 400 page."""
    raw = raw.strip()
    if not raw:
        return None, None
    if raw.isdigit() and len(raw) < 19:
        return int(raw), None
    return None, "An account id is a whole number."


class AuditController(Controller):
    path = "/admin/audit"
    guards = [admin_guard]

    @get("/", name="admin-audit")
    async def audit_log(
        self,
        request: Request[Any, Any, Any],
        event: FromQuery[str] = "",
        account: FromQuery[str] = "",
        page: FromQuery[int | None] = None,
    ) -> Response[Any]:
        event = event if event in audit.EVENTS else ""
        account_id, error = _account_filter(account[:40])
        page = max(page or 1, 1)
        rows, total = [], 0
        if error is None:
            total = await audit.count(event or None, account_id)
            rows = await audit.recent(
                PAGE_SIZE, event or None, account_id, offset=(page - 1) * PAGE_SIZE
            )
        filters = {k: v for k, v in (("event", event), ("account", account_id)) if v}
        return await render(
            request,
            "admin/audit.html",
            {
                "rows": rows,
                "total": total,
                "page": page,
                "page_size": PAGE_SIZE,
                "events": audit.EVENTS,
                "event": event,
                "account": "" if account_id is None else str(account_id),
                "error": error,
                "base": "/admin/audit" + (f"?{urlencode(filters)}" if filters else ""),
            },
            status_code=422 if error else 200,
        )
