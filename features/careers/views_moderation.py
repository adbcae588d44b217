"""The admins' review queue: postings waiting for approval, the longest-waiting first."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect

from features.careers import moderation
from features.careers.postings import WrongState
from portal.accounts.service import AccountView
from portal.errors import ValidationFailed
from portal.web.forms import form_fields
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]
QUEUE = "/careers/moderation"
DONE = {"approved": "Approved: the posting is live and the employer was told.",
        "rejected": "Rejected: the employer received your reason by email."}  # fmt: skip


async def _admin(request: PageRequest) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to moderate postings.")
    if not account.is_admin:
        raise PermissionDeniedException("Admins only.")
    return account


async def _queue(
    request: PageRequest,
    *,
    error: str | None = None,
    failed: tuple[int, str, str] | None = None,  # job id, typed reason, message
    status: int = 200,
) -> Response[Any]:
    return await render(
        request,
        "careers/moderation.html",
        {
            "pending": await moderation.pending_jobs(),
            "version": moderation.version,
            "done_message": DONE.get(request.query_params.get("done", "")),
            "error": error,
            "failed": failed,
            "max_reason": moderation.MAX_REASON,
        },
        status_code=status,
    )


@get("/careers/moderation", name="careers-moderation")
async def queue(request: PageRequest) -> Response[Any]:
    await _admin(request)
    return await _queue(request)


@post("/careers/moderation/{job_id:int}/approve", name="careers-approve")
async def approve(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    admin = await _admin(request)
    fields = await form_fields(request)
    try:
        await moderation.approve(admin, job_id, seen=fields.get("version") or None)
    except WrongState as exc:
        return await _queue(request, error=exc.message, status=409)
    return Redirect(path=f"{QUEUE}?done=approved", status_code=303)


@post("/careers/moderation/{job_id:int}/reject", name="careers-reject")
async def reject(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    admin = await _admin(request)
    fields = await form_fields(request)
    reason = fields.get("reason", "")
    try:
        await moderation.reject(admin, job_id, reason, seen=fields.get("version") or None)
    except ValidationFailed as exc:
        return await _queue(request, failed=(job_id, reason, exc.fields["reason"]), status=422)
    except WrongState as exc:
        return await _queue(request, error=exc.message, status=409)
    return Redirect(path=f"{QUEUE}?done=rejected", status_code=303)


ROUTES = [queue, approve, reject]
