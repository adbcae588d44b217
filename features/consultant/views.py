"""CaseConsultant's pages: send a case, read its thread, reply; the consultants' review queue.

Forms post and redirect (post/redirect/get); the thread page polls its status with htmx while
the analysis job runs. Staff (consultant, admin roles) review drafts and approve answers.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import FromPath
from litestar.response import Redirect

from features.consultant import service
from features.consultant.attachments import MAX_BYTES, Attachment, AttachmentError, read_attachment
from features.consultant.service import ConsultError, ConsultView, LimitReached
from portal import runtime
from portal.accounts.service import AccountView
from portal.metering import service as metering
from portal.metering.service import Subject
from portal.settings import CONSULTS
from portal.web.htmx import is_htmx
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]
# Five attachments of 5 MB and the text: the portal's 1 MB body limit is too small here.
UPLOAD_BODY_LIMIT = 5 * MAX_BYTES + 1024 * 1024


async def _signed_in(request: PageRequest) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to send and read consults.")
    return account


async def _staff(request: PageRequest) -> AccountView:
    account = await _signed_in(request)
    if not service.is_staff(account):
        raise PermissionDeniedException("Consultants only.")
    return account


async def _mine(request: PageRequest, key: str) -> tuple[AccountView, ConsultView]:
    account = await _signed_in(request)
    found = await service.get(key[:40], account)
    if found is None:
        raise NotFoundException("There is no such consult, or it is not yours.")
    return account, found


async def _posted(request: PageRequest) -> tuple[dict[str, str], list[Attachment]]:
    """The form's text fields, and its files read and checked by content (AttachmentError)."""
    form = await request.form()
    fields: dict[str, str] = {}
    files: list[Attachment] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if not value.filename:
                continue  # the empty file input of a form sent without a file
            data = await value.read(MAX_BYTES + 1)
            files.append(read_attachment(value.filename, data))
        elif name not in fields:
            fields[name] = str(value)[:60_000]
    return fields, files


async def _quota(account: AccountView) -> dict[str, Any]:
    subject = Subject.user(account.id, account.plan)
    rule = runtime.current().settings.meters.rule(CONSULTS, account.plan)
    return {"remaining": await metering.remaining(subject, CONSULTS), "limit": rule.limit}


async def _index(
    request: PageRequest,
    account: AccountView | None,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    context: dict[str, Any] = {
        "form": {"nonce": secrets.token_hex(16), **(form or {})},
        "error": error,
        "max_mb": MAX_BYTES // (1024 * 1024),
        "settings": runtime.current().settings.consult,
    }
    if account is not None:
        context.update(
            consults=await service.consults_of(account.id),
            quota=await _quota(account),
            address=await service.personal_address(account.id),
            staff=service.is_staff(account),
        )
    return await render(request, "consultant/index.html", context, status_code=status_code)


@get("/consultant", name="consultant")
async def index(request: PageRequest) -> Response[Any]:
    return await _index(request, await current_account(request))


@post("/consultant", name="consultant-submit", request_max_body_size=UPLOAD_BODY_LIMIT)
async def submit(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request)
    try:
        fields, files = await _posted(request)
    except AttachmentError as exc:
        return await _index(request, account, error=str(exc), status_code=422)
    nonce = fields.get("nonce", "")[:32] or secrets.token_hex(16)
    form_id = f"<web-{nonce}@{service.mail_domain()}>"
    again = await service.thread_for_mail(account.id, [form_id])
    if again is not None:  # a second click: the first one's consult
        return Redirect(path=again.url, status_code=303)
    try:
        done = await service.submit(
            account,
            fields.get("subject", ""),
            fields.get("text", ""),
            files,
            message_id=form_id,
            charge_key=nonce,
        )
    except LimitReached as exc:
        return await _index(request, account, form=fields, error=str(exc), status_code=429)
    except ConsultError as exc:
        again = await service.thread_for_mail(account.id, [form_id])
        if again is not None:  # two clicks raced: the other one stored it
            return Redirect(path=again.url, status_code=303)
        return await _index(request, account, form=fields, error=str(exc), status_code=422)
    return Redirect(path=f"{done.consult.url}?sent=1", status_code=303)


async def _thread(
    request: PageRequest,
    account: AccountView,
    consult: ConsultView,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return await render(
        request,
        "consultant/thread.html",
        {
            "consult": consult,
            "messages": await service.messages(consult),
            "mine": consult.account_id == account.id,
            "staff": service.is_staff(account),
            "sent": request.query_params.get("sent") == "1",
            "error": error,
            "nonce": secrets.token_hex(16),
            "max_mb": MAX_BYTES // (1024 * 1024),
        },
        fragments={"consult-status": "consultant/_status.html"},
        status_code=status_code,
    )


@get("/consultant/{key:str}", name="consultant-thread")
async def thread(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    account, consult = await _mine(request, key)
    polling = is_htmx(request) and request.headers.get("hx-target") == "consult-status"
    if polling and not consult.working:  # the job is done: the whole thread shows the result
        return Response("", headers={"HX-Refresh": "true", "Vary": "HX-Request"})
    return await _thread(request, account, consult)


@post(
    "/consultant/{key:str}/reply", name="consultant-reply", request_max_body_size=UPLOAD_BODY_LIMIT
)
async def reply(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    account, consult = await _mine(request, key)
    if consult.account_id != account.id:
        raise PermissionDeniedException(
            "Only the sender replies here; consultants answer in review."
        )
    try:
        fields, files = await _posted(request)
        nonce = fields.get("nonce", "")[:32] or secrets.token_hex(16)
        await service.follow_up(
            consult,
            account,
            fields.get("text", ""),
            files,
            message_id=f"<web-{nonce}@{service.mail_domain()}>",
        )
    except (AttachmentError, ConsultError) as exc:
        return await _thread(request, account, consult, error=str(exc), status_code=422)
    return Redirect(path=f"{consult.url}?sent=1", status_code=303)


@post("/consultant/prefill", name="consultant-prefill")
async def prefill(request: PageRequest) -> Response[Any]:
    """The new-consult form filled in from another product (CasePilot's "Send to
    CaseConsultant"): shown for the sender to check and send; nothing is stored yet."""
    account = await _signed_in(request)
    form = await request.form()
    fields = {name: str(form.get(name, ""))[:60_000] for name in ("subject", "text")}
    return await _index(request, account, form=fields)


@post("/consultant/address/rotate", name="consultant-rotate")
async def rotate(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request)
    await service.rotate_address(account.id)
    return Redirect(path="/consultant#address", status_code=303)


@get("/consultant/confirm/{token:str}", name="consultant-confirm")
async def confirm_page(request: PageRequest, token: FromPath[str]) -> Response[Any]:
    await _signed_in(request)
    return await render(request, "consultant/confirm.html", {"token": token[:80]})


@post("/consultant/confirm/{token:str}", name="consultant-confirm-post")
async def confirm(request: PageRequest, token: FromPath[str]) -> Response[Any]:
    account = await _signed_in(request)
    try:
        consult = await service.confirm_held(token[:80], account)
    except LimitReached as exc:
        return await render(
            request, "consultant/confirm.html", {"token": token, "error": str(exc)}, status_code=429
        )
    except ConsultError as exc:
        return await render(
            request, "consultant/confirm.html", {"token": token, "error": str(exc)}, status_code=410
        )
    return Redirect(path=f"{consult.url}?sent=1", status_code=303)


# Review -------------------------------------------------------------------------------------


@get("/consultant/review", name="consultant-review-queue")
async def review_queue(request: PageRequest) -> Response[Any]:
    await _staff(request)
    return await render(
        request, "consultant/review_queue.html", {"queue": await service.review_queue()}
    )


@get("/consultant/review/{key:str}", name="consultant-review")
async def review(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    account = await _staff(request)
    consult = await service.get(key[:40], account)
    if consult is None:
        raise NotFoundException("There is no such consult.")
    return await _review(request, consult)


async def _review(
    request: PageRequest,
    consult: ConsultView,
    *,
    draft: str | None = None,
    error: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response[Any]:
    return await render(
        request,
        "consultant/review.html",
        {
            "consult": consult,
            "messages": await service.messages(consult),
            "draft": consult.draft if draft is None else draft,
            "error": error,
            "saved": saved,
        },
        status_code=status_code,
    )


@post("/consultant/review/{key:str}", name="consultant-review-post")
async def review_post(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    account = await _staff(request)
    consult = await service.get(key[:40], account)
    if consult is None:
        raise NotFoundException("There is no such consult.")
    form = await request.form()
    action, text = str(form.get("action", "")), str(form.get("draft", ""))[:60_000]
    if action == "save":
        await service.save_draft(consult, text)
        return await _review(request, (await service.by_id(consult.id)) or consult, saved=True)
    if action == "close":
        await service.close(consult)
        return Redirect(path="/consultant/review", status_code=303)
    if action != "approve":
        return await _review(
            request, consult, draft=text, error="Choose an action.", status_code=422
        )
    try:
        await service.save_draft(consult, text)
        await service.approve(consult, account, text)
    except ConsultError as exc:
        return await _review(request, consult, draft=text, error=str(exc), status_code=422)
    return Redirect(path=f"/consultant/review/{consult.key}?approved=1", status_code=303)


ROUTES = [
    index,
    submit,
    prefill,
    review_queue,
    review,
    review_post,
    rotate,
    confirm_page,
    confirm,
    thread,
    reply,
]
