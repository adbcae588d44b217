"""Account settings: change email (re-verified), change password, delete the account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery
from litestar.response import Redirect

from portal.accounts import audit, service
from portal.accounts.controllers import origin
from portal.accounts.service import AccountView
from portal.errors import ValidationFailed
from portal.web.forms import form_fields
from portal.web.identity import current_account
from portal.web.render import render
from portal.web.sessions import log_out

SettingsRequest = Request[Any, Any, Any]

ACTIVITY_SHOWN = 20  # the account's latest security events on its settings page


async def require_account(request: SettingsRequest) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to see this page.")
    return account


async def settings_page(
    request: SettingsRequest,
    *,
    failed: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response[Any]:
    """`failed` names the form whose `errors` to show, since the forms share field names."""
    account = await require_account(request)
    return await render(
        request,
        "accounts/settings.html",
        {
            "failed": failed,
            "errors": errors or {},
            "flash": notice,
            "activity": await audit.for_account(account.id, ACTIVITY_SHOWN),
        },
        status_code=422 if errors else 200,
    )


class SettingsController(Controller):
    path = "/account/settings"

    @get("/", name="settings")
    async def show(
        self, request: SettingsRequest, reset: FromQuery[str | None] = None
    ) -> Response[Any]:
        await require_account(request)
        return await settings_page(request, notice="Your new password is set." if reset else None)

    @post("/email")
    async def change_email(self, request: SettingsRequest) -> Response[Any]:
        account = await require_account(request)
        form = await form_fields(request)
        try:
            new_email = await service.request_email_change(
                account.id,
                form.get("current_password", ""),
                form.get("new_email", ""),
                **origin(request),
            )
        except ValidationFailed as exc:
            return await settings_page(request, failed="email", errors=exc.fields)
        return await settings_page(
            request, notice=f"We sent a link to {new_email}. Your email changes when you follow it."
        )

    @post("/password")
    async def change_password(self, request: SettingsRequest) -> Response[Any]:
        account = await require_account(request)
        form = await form_fields(request)
        try:
            await service.change_password(
                account.id,
                form.get("current_password", ""),
                form.get("new_password", ""),
                **origin(request),
            )
        except ValidationFailed as exc:
            return await settings_page(request, failed="password", errors=exc.fields)
        return await settings_page(request, notice="Your password is changed.")

    @post("/delete")
    async def delete(self, request: SettingsRequest) -> Any:
        account = await require_account(request)
        form = await form_fields(request)
        if form.get("confirm") != "DELETE":
            return await settings_page(
                request, failed="delete", errors={"confirm": "Type DELETE to confirm."}
            )
        try:
            await service.delete_account(account.id, form.get("password", ""), **origin(request))
        except ValidationFailed as exc:
            return await settings_page(request, failed="delete", errors=exc.fields)
        log_out(request)
        return Redirect(path="/?deleted=1", status_code=303)
