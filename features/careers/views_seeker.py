"""The seeker's pages: apply, save a job, "my applications", job alerts and their unsubscribe.

Forms post and redirect (post/redirect/get) and work without JavaScript; htmx swaps the Save
button and the alert form in place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect

from features.careers import alerts, applications, postings
from features.careers.applications import ApplyRefused
from portal import runtime
from portal.accounts.service import AccountView
from portal.errors import ValidationFailed
from portal.web.forms import form_fields, safe_next
from portal.web.htmx import is_htmx
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]
# A 5 MB resume, its multipart framing and a 5,000-character note: the portal's 1 MB body limit
# is too small here. Bigger bodies are refused before they are read.
APPLY_BODY_LIMIT = 6 * 1024 * 1024
NOT_A_FORM_FIELD = {"_csrf_token", "frequency", "next", "page"}


async def _signed_in(request: PageRequest, message: str) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException(message)
    return account


def _login(next_url: str) -> Response[Any]:
    """A guest who posts (an expired session): log in, then back to where they were."""
    return Redirect(f"/account/login?{urlencode({'next': next_url})}", status_code=303)


def _seen(url: str) -> Response[Any]:
    return Redirect(url, status_code=303)


# --- applying ---------------------------------------------------------------------------------


async def _apply_page(
    request: PageRequest,
    account: AccountView,
    job_id: int,
    *,
    error: str,
    cover_note: str,
    status_code: int,
) -> Response[Any]:
    """The job's apply form again, with the message and what was typed (the file must be
    chosen again: browsers do not refill file inputs)."""
    job = await postings.get_job(job_id)
    if job is None:
        raise NotFoundException("There is no such job.")
    context = {
        "job": job,
        "actions": await applications.job_actions(account, job_id),
        "apply_error": error,
        "cover_note": cover_note,
    }
    return await render(request, "careers/apply.html", context, status_code=status_code)


@post(
    "/careers/jobs/{job_id:int}/apply", name="careers-apply", request_max_body_size=APPLY_BODY_LIMIT
)
async def apply(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    account = await current_account(request)
    if account is None:
        return _login(f"/careers/jobs/{job_id}")
    limit = runtime.current().settings.careers.max_upload_bytes
    try:
        form = await request.form()
    except HTTPException as exc:
        if exc.status_code != 413:
            raise
        message = f"The file is larger than {limit // (1024 * 1024)} MB."
        return await _apply_page(
            request, account, job_id, error=message, cover_note="", status_code=413
        )
    note = str(form.get("cover_note") or "")[: applications.MAX_COVER_NOTE_CHARS * 2]
    upload = form.get("resume")
    filename, data = "", b""
    if isinstance(upload, UploadFile) and upload.filename:
        filename, data = upload.filename, await upload.read(limit + 1)
    try:
        await applications.apply(account, job_id, note, filename, data)
    except ValidationFailed as exc:
        return await _apply_page(
            request, account, job_id, error=exc.message, cover_note=note, status_code=422
        )
    except ApplyRefused as exc:
        return await _apply_page(
            request, account, job_id, error=exc.message, cover_note=note, status_code=409
        )
    # A second submit lands here too, on the page that shows the first application.
    return _seen(f"/careers/jobs/{job_id}?applied=1#job-actions")


# --- saved jobs -------------------------------------------------------------------------------


@post("/careers/jobs/{job_id:int}/save", name="careers-save")
async def save(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    fields = await form_fields(request)
    back = safe_next(fields.get("next"), f"/careers/jobs/{job_id}")
    account = await current_account(request)
    if account is None:
        return _login(back)
    # The form says what it wants, so a double click of "Save" leaves the job saved.
    want = fields.get("want")
    if want in ("save", "unsave"):
        saved = await applications.set_saved(account.id, job_id, want == "save")
    else:
        saved = await applications.toggle_saved(account.id, job_id)
    if is_htmx(request):
        job = await postings.get_job(job_id)
        context = {"job": job, "saved": saved, "save_next": back}
        return await render(request, "careers/_save_button.html", context)
    return _seen(back)


# --- my applications, saved jobs and alerts ---------------------------------------------------

NOTICES = {
    "created": "Your alert is saved. The first email comes with the next digest.",
    "deleted": "The alert is deleted.",
    "paused": "The alert is off: no more emails for it.",
    "resumed": "The alert is on again.",
}


@get("/careers/my", name="careers-my")
async def my_page(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request, "Log in to see your applications.")
    notice = NOTICES.get(request.query_params.get("alert", ""))
    context = {
        "applications": await applications.my_applications(account.id),
        "saved_jobs": await applications.saved_jobs(account.id),
        "alerts": await alerts.list_alerts(account.id),
        "my_notice": notice,
    }
    return await render(request, "careers/my.html", context)


@post("/careers/alerts", name="careers-alert-create")
async def create_alert(request: PageRequest) -> Response[Any]:
    fields = await form_fields(request)
    params = {k: v for k, v in fields.items() if k not in NOT_A_FORM_FIELD}
    search_url = alerts.SearchForm.from_query(params).url()
    account = await current_account(request)
    if account is None:
        return _login(search_url)
    frequency = fields.get("frequency", "")
    error, alert = None, None
    try:
        alert = await alerts.create_alert(account, params, frequency)
    except ValidationFailed as exc:
        error = exc.message
    if is_htmx(request):
        context = {"alert_saved": alert, "alert_error": error, "alert_query": params}
        status = 422 if error else 200
        return await render(request, "careers/_alert_form.html", context, status_code=status)
    if error:  # without JS: the error page with the message (the back button keeps the search)
        raise ValidationFailed({"frequency": error})
    return _seen("/careers/my?alert=created#alerts")


@post("/careers/alerts/{alert_id:int}/delete", name="careers-alert-delete")
async def delete_alert(request: PageRequest, alert_id: FromPath[int]) -> Response[Any]:
    account = await current_account(request)
    if account is None:
        return _login("/careers/my")
    await alerts.delete_alert(account.id, alert_id)  # gone already (a second click): the same
    return _seen("/careers/my?alert=deleted#alerts")


@post("/careers/alerts/{alert_id:int}/active", name="careers-alert-active")
async def alert_active(request: PageRequest, alert_id: FromPath[int]) -> Response[Any]:
    account = await current_account(request)
    if account is None:
        return _login("/careers/my")
    on = (await form_fields(request)).get("active") == "1"
    await alerts.set_active(account.id, alert_id, on)
    return _seen(f"/careers/my?alert={'resumed' if on else 'paused'}#alerts")


# --- unsubscribe (no login: the signed token is the permission) -------------------------------


@get("/careers/alerts/unsubscribe/{token:str}", name="careers-unsubscribe")
async def unsubscribe(request: PageRequest, token: FromPath[str]) -> Response[Any]:
    alert = await alerts.unsubscribe(token[:64])
    context = {"alert": alert, "token": token[:64], "state": "off"}
    status = 200 if alert else 404
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return await render(
        request, "careers/unsubscribe.html", context, status_code=status, headers=headers
    )


@post(
    "/careers/alerts/unsubscribe/{token:str}",
    name="careers-unsubscribe-one-click",
    exclude_from_csrf=True,  # RFC 8058: the mail client POSTs; the signed token is the check
)
async def unsubscribe_one_click(token: FromPath[str]) -> Response[Any]:
    alert = await alerts.unsubscribe(token[:64])
    if alert is None:
        return Response("Unknown link.", status_code=404, media_type=MediaType.TEXT)
    return Response("Unsubscribed.", status_code=200, media_type=MediaType.TEXT)


@post("/careers/alerts/resubscribe/{token:str}", name="careers-resubscribe")
async def resubscribe(request: PageRequest, token: FromPath[str]) -> Response[Any]:
    alert = await alerts.resubscribe(token[:64])
    context = {"alert": alert, "token": token[:64], "state": "on"}
    return await render(
        request,
        "careers/unsubscribe.html",
        context,
        status_code=200 if alert else 404,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


ROUTES: list[Any] = [
    apply,
    save,
    my_page,
    create_alert,
    delete_alert,
    alert_active,
    unsubscribe,
    unsubscribe_one_click,
    resubscribe,
]
