"""Employers: the profile (with its logo), their postings, and the posting form.

Any signed-in account may create an employer profile; a member who does becomes an employer
(postings.save_profile). Posting needs the employer (or admin) role and a profile. Every form is
a plain POST that redirects (post/redirect/get); only the Markdown preview uses htmx.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect

from features.careers import postings
from features.careers.files import LOGO_MAX_BYTES
from features.careers.postings import (
    EmployerView,
    JobInput,
    JobView,
    PlanLimitReached,
    ProfileInput,
    WrongState,
)
from portal import runtime
from portal.accounts.service import AccountView
from portal.errors import ValidationFailed
from portal.markdown import to_html
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]

HOME = "/careers/employer"
# The logo may be 2 MB: room for it, the fields and a too-large logo that gets a clear message
# (files.store_logo) rather than the server's bare "too large".
PROFILE_BODY_LIMIT = 3 * LOGO_MAX_BYTES + 256 * 1024
MAX_FORM_FIELD = postings.MAX_DESCRIPTION + 2_000  # long enough to say "too long"
NOTICES = {
    "profile": "Your employer profile is saved.",
    "saved": "Your posting is saved.",
    "submitted": "Sent for review. An admin checks each posting before it goes live; "
    "we email you when it is live or if it needs changes.",
    "closed": "The posting is closed: it no longer shows in search and takes no applications.",
    "renewed": "Sent for review again. Once approved it is live for a new posting period.",
    "deleted": "The draft is deleted.",
}


async def _signed_in(request: PageRequest) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to post jobs.")
    return account


async def _poster(request: PageRequest) -> tuple[AccountView, EmployerView | None]:
    account = await _signed_in(request)
    profile = await postings.get_profile(account.id)
    if profile is not None and not postings.can_post(account):
        raise PermissionDeniedException("Only employer accounts post jobs.")
    return account, profile


async def _dashboard(
    request: PageRequest, account: AccountView, *, error: str | None = None, status: int = 200
) -> Response[Any]:
    board = await postings.dashboard(account)
    done = request.query_params.get("done", "")
    if done == "limit" and board.limit is not None:
        error = "Saved as a draft, not sent for review: " + postings.limit_message(
            board.limit, account.plan
        )
    return await render(
        request,
        "careers/employer/dashboard.html",
        {
            "board": board,
            "done_message": NOTICES.get(done),
            "error": error,
            "can_post": postings.can_post(account),
            "posting_days": runtime.current().settings.careers.posting_days,
        },
        status_code=status,
    )


async def _profile_page(
    request: PageRequest,
    account: AccountView,
    profile: EmployerView | None,
    *,
    data: ProfileInput | None = None,
    errors: dict[str, str] | None = None,
) -> Response[Any]:
    if data is None and profile is not None:
        data = ProfileInput(profile.organisation, profile.website, profile.about)
    return await render(
        request,
        "careers/employer/profile.html",
        {
            "profile": profile,
            "data": data or ProfileInput(),
            "errors": errors or {},
            "posting_days": runtime.current().settings.careers.posting_days,
        },
        status_code=422 if errors else 200,
    )


@get("/careers/employer", name="careers-employer")
async def home(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request)
    profile = await postings.get_profile(account.id)
    if profile is None:
        return await _profile_page(request, account, None)
    return await _dashboard(request, account)


@get("/careers/employer/profile", name="careers-employer-profile")
async def profile_form(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request)
    return await _profile_page(request, account, await postings.get_profile(account.id))


@post(
    "/careers/employer/profile",
    name="careers-employer-profile-save",
    request_max_body_size=PROFILE_BODY_LIMIT,
)
async def profile_save(request: PageRequest) -> Response[Any]:
    account = await _signed_in(request)
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    upload = form.get("logo")
    logo = None
    if isinstance(upload, UploadFile) and upload.filename:
        logo = (upload.filename, await upload.read(LOGO_MAX_BYTES + 1))
    data = ProfileInput(
        organisation=fields.get("organisation", "")[:1000],
        website=fields.get("website", "")[:1000],
        about=fields.get("about", "")[: postings.MAX_ABOUT + 1000],
    )
    try:
        await postings.save_profile(
            account, data, logo=logo, remove_logo=fields.get("remove_logo") == "1"
        )
    except ValidationFailed as exc:
        profile = await postings.get_profile(account.id)
        return await _profile_page(request, account, profile, data=data, errors=exc.fields)
    return Redirect(path=f"{HOME}?done=profile", status_code=303)


# The posting form --------------------------------------------------------------------------------


async def _posted_job(request: PageRequest) -> tuple[JobInput, str]:
    """The posting form's fields (the two box lists as lists) and which button sent it."""
    form = await request.form()
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {"credentials": [], "specialties": []}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key in lists:
            lists[key].append(value[:80])
        elif key not in fields:
            fields[key] = value[:MAX_FORM_FIELD]
    return JobInput.from_form(fields, lists), fields.get("action", "save")


async def _job_form(
    request: PageRequest,
    data: JobInput,
    *,
    job: JobView | None = None,
    errors: dict[str, str] | None = None,
    preview: bool = False,
) -> Response[Any]:
    return await render(
        request,
        "careers/employer/job_form.html",
        {
            "job": job,
            "data": data,
            "errors": errors or {},
            "preview": to_html(data.description) if preview else None,
            "work_modes": postings.WORK_MODES,
            "employment_types": postings.EMPLOYMENT_TYPES,
            "experience_levels": postings.EXPERIENCE,
            "credentials": postings.CREDENTIALS,
            "specialties": postings.SPECIALTIES,
            "states": postings.STATES,
            "apply_modes": postings.APPLY_MODES,
            "periods": postings.SALARY_PERIODS,
            "max_description": postings.MAX_DESCRIPTION,
        },
        status_code=422 if errors else 200,
    )


async def _after_save(account: AccountView, job: JobView, action: str) -> Response[Any]:
    if action != "submit" or job.status == "pending":
        return Redirect(path=f"{HOME}?done=saved", status_code=303)
    try:
        await postings.submit_job(account, job.id)
    except PlanLimitReached:
        return Redirect(path=f"{HOME}?done=limit", status_code=303)
    return Redirect(path=f"{HOME}?done=submitted", status_code=303)


@get("/careers/employer/jobs/new", name="careers-job-new")
async def new_job(request: PageRequest) -> Response[Any]:
    _, profile = await _poster(request)
    if profile is None:
        return Redirect(path=HOME, status_code=303)
    return await _job_form(request, JobInput(organisation=profile.organisation))


@post("/careers/employer/jobs/new", name="careers-job-create")
async def create_job(request: PageRequest) -> Response[Any]:
    account, profile = await _poster(request)
    if profile is None:
        return Redirect(path=HOME, status_code=303)
    data, action = await _posted_job(request)
    if action == "preview":
        return await _job_form(request, data, preview=True)
    try:
        job = await postings.create_job(account, data)
    except ValidationFailed as exc:
        return await _job_form(request, data, errors=exc.fields)
    return await _after_save(account, job, action)


@get("/careers/employer/jobs/{job_id:int}/edit", name="careers-job-edit")
async def edit_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    account, _ = await _poster(request)
    job = await postings.job_for_owner(account, job_id)
    return await _job_form(request, JobInput.from_job(job), job=job)


@post("/careers/employer/jobs/{job_id:int}/edit", name="careers-job-update")
async def update_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    account, _ = await _poster(request)
    job = await postings.job_for_owner(account, job_id)
    data, action = await _posted_job(request)
    if action == "preview":
        return await _job_form(request, data, job=job, preview=True)
    try:
        saved = await postings.update_job(account, job.id, data)
    except ValidationFailed as exc:
        return await _job_form(request, data, job=job, errors=exc.fields)
    if job.status == "active":  # edits of a live posting went back to review
        return Redirect(path=f"{HOME}?done=submitted", status_code=303)
    return await _after_save(account, saved, action)


@post("/careers/employer/preview", name="careers-job-preview")
async def preview(request: PageRequest) -> Response[Any]:
    """The description as the job page will show it (htmx swaps it under the text box)."""
    await _signed_in(request)
    data, _ = await _posted_job(request)
    return await render(
        request, "careers/employer/_preview.html", {"preview": to_html(data.description)}
    )


async def _action(request: PageRequest, job_id: int, name: str) -> Response[Any]:
    account, _ = await _poster(request)
    act = {
        "submitted": postings.submit_job,
        "closed": postings.close_job,
        "renewed": postings.renew_job,
    }
    try:
        if name == "deleted":
            await postings.delete_draft(account, job_id)
        else:
            await act[name](account, job_id)
    except (PlanLimitReached, WrongState) as exc:
        return await _dashboard(request, account, error=exc.message, status=exc.status_code)
    return Redirect(path=f"{HOME}?done={name}", status_code=303)


@post("/careers/employer/jobs/{job_id:int}/submit", name="careers-job-submit")
async def submit_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    return await _action(request, job_id, "submitted")


@post("/careers/employer/jobs/{job_id:int}/close", name="careers-job-close")
async def close_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    return await _action(request, job_id, "closed")


@post("/careers/employer/jobs/{job_id:int}/renew", name="careers-job-renew")
async def renew_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    return await _action(request, job_id, "renewed")


@post("/careers/employer/jobs/{job_id:int}/delete", name="careers-job-delete")
async def delete_job(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    return await _action(request, job_id, "deleted")


ROUTES = [
    home,
    profile_form,
    profile_save,
    new_job,
    create_job,
    edit_job,
    update_job,
    preview,
    submit_job,
    close_job,
    renew_job,
    delete_job,
]
