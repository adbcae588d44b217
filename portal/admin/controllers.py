"""Admin pages: accounts (search, role, plan, disable), the outbox, job failures."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from portal.accounts import service as accounts
from portal.admin import service
from portal.errors import ValidationFailed
from portal.settings import PLANS, ROLES
from portal.web.forms import form_fields
from portal.web.identity import current_account
from portal.web.render import render

AdminRequest = Request[Any, Any, Any]


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    account = await current_account(connection)  # type: ignore[arg-type]
    if account is None:
        raise NotAuthorizedException("Log in to see this page.")
    if not account.is_admin:
        raise PermissionDeniedException("Admins only.")


def _page(page: int | None) -> int:
    return max(page or 1, 1)


class AdminController(Controller):
    path = "/admin"
    guards = [admin_guard]

    @get("/")
    async def dashboard(self, request: AdminRequest) -> Response[Any]:
        return await render(request, "admin/dashboard.html", {"counts": await service.overview()})

    @get("/users")
    async def users(
        self, request: AdminRequest, q: FromQuery[str] = "", page: FromQuery[int | None] = None
    ) -> Response[Any]:
        rows, total = await accounts.search_accounts(q, _page(page))
        return await render(
            request,
            "admin/users.html",
            {
                "rows": rows,
                "total": total,
                "q": q[:200],
                "page": _page(page),
                "page_size": accounts.PAGE_SIZE,
                "roles": ROLES,
                "plans": PLANS,
            },
            fragments={"user-results": "admin/_user_rows.html"},
        )

    @post("/users/{account_id:int}")
    async def update_user(self, request: AdminRequest, account_id: FromPath[int]) -> Any:
        form = await form_fields(request)
        actor = await current_account(request)  # the guard made sure there is one
        try:
            await accounts.admin_update(
                account_id,
                role=form.get("role", ""),
                plan=form.get("plan", ""),
                disabled=form.get("disabled") == "on",
                actor_id=actor.id if actor else None,
            )
        except ValidationFailed as exc:
            return await render(
                request, "error.html", {"status": 422, "message": exc.message}, status_code=422
            )
        query = urlencode({"q": form.get("q", ""), "saved": account_id})
        return Redirect(path=f"/admin/users?{query}", status_code=303)

    @get("/outbox")
    async def outbox(
        self, request: AdminRequest, page: FromQuery[int | None] = None
    ) -> Response[Any]:
        rows, total = await service.outbox_page(_page(page))
        return await render(
            request,
            "admin/outbox.html",
            {"rows": rows, "total": total, "page": _page(page), "page_size": service.PAGE_SIZE},
        )

    @get("/outbox/{message_id:int}")
    async def outbox_message(
        self, request: AdminRequest, message_id: FromPath[int]
    ) -> Response[Any]:
        return await render(
            request,
            "admin/outbox_message.html",
            {"message": await service.outbox_message(message_id)},
        )

    @get("/jobs")
    async def jobs(
        self, request: AdminRequest, page: FromQuery[int | None] = None
    ) -> Response[Any]:
        rows, total = await service.failed_jobs(_page(page))
        return await render(
            request,
            "admin/jobs.html",
            {"rows": rows, "total": total, "page": _page(page), "page_size": service.PAGE_SIZE},
        )

    @post("/jobs/{job_id:str}/retry")
    async def retry(self, request: AdminRequest, job_id: FromPath[str]) -> Redirect:
        await service.retry_job(job_id)
        return Redirect(path="/admin/jobs?retried=1", status_code=303)
