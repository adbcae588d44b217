"""The employer's side of applications: the applicants of a job, their status, their resumes.

Whoever may not see an application gets 404, as if it did not exist: ids say nothing about who
applied where.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from features.careers import applications
from features.careers.applications import STATUS_LABELS, STATUSES
from portal.accounts.service import AccountView
from portal.errors import NotFound, ValidationFailed
from portal.web.forms import form_fields
from portal.web.htmx import is_htmx
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]


async def _signed_in(request: PageRequest) -> AccountView:
    account = await current_account(request)
    if account is None:
        raise NotAuthorizedException("Log in to see the applicants.")
    return account


@get("/careers/employer/jobs/{job_id:int}/applicants", name="careers-applicants")
async def applicants(
    request: PageRequest, job_id: FromPath[int], status: FromQuery[str | None] = None
) -> Response[Any]:
    account = await _signed_in(request)
    found = await applications.applicants(account, job_id)
    if found is None:
        raise NotFoundException("There is no such posting, or it is not yours.")
    job, people = found
    counts = {s: sum(1 for p in people if p.application.status == s) for s in STATUSES}
    shown = [p for p in people if p.application.status == status] if status in STATUSES else people
    context = {
        "job": job,
        "applicants": shown,
        "total": len(people),
        "counts": counts,
        "status_filter": status if status in STATUSES else "",
        "statuses": STATUSES,
        "status_labels": STATUS_LABELS,
        "can_change": job.account_id == account.id,  # an admin looks, the employer decides
        "changed": request.query_params.get("changed"),
    }
    return await render(request, "careers/applicants.html", context)


@post("/careers/applications/{application_id:int}/status", name="careers-application-status")
async def change_status(request: PageRequest, application_id: FromPath[int]) -> Response[Any]:
    account = await _signed_in(request)
    fields = await form_fields(request)
    try:
        application = await applications.set_status(
            account, application_id, fields.get("status", "")
        )
    except NotFound as exc:
        raise NotFoundException(exc.message) from exc
    except ValidationFailed as exc:
        if not is_htmx(request):
            raise
        application = None
        error = exc.message
    else:
        error = None
    if is_htmx(request):
        if application is None:  # a bad status: the row as it is, with the message
            application = await applications.application_by_id(application_id)
            assert application is not None
        context = {
            "app": application,
            "status_error": error,
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
        }
        return await render(
            request,
            "careers/_status_form.html",
            context,
            status_code=422 if error else 200,
        )
    anchor = f"application-{application.id}"
    return Redirect(
        f"/careers/employer/jobs/{application.job_id}/applicants?changed={application.id}#{anchor}",
        status_code=303,
    )


@get("/careers/applications/{application_id:int}/resume", name="careers-resume")
async def resume(request: PageRequest, application_id: FromPath[int]) -> Response[bytes]:
    stored = await applications.resume_for(await current_account(request), application_id)
    if stored is None:  # guests too: a login page would confirm the application exists
        raise NotFoundException("There is no such file.")
    ascii_name = stored.filename.encode("ascii", "replace").decode().replace('"', "")
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(stored.filename)}"
    )
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


ROUTES: list[Any] = [applicants, change_status, resume]
