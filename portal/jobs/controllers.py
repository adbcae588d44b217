"""A job's status, for a page to poll while the job runs."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from portal.jobs.service import TERMINAL, job_status
from portal.web.identity import current_account
from portal.web.render import render


@get("/jobs/{job_id:str}", name="job-status")
async def job_status_page(request: Request[Any, Any, Any], job_id: FromPath[str]) -> Response[Any]:
    job = await job_status(job_id)
    account = await current_account(request)
    # Only the job's owner and admins may see it; others get the same 404 as a missing job.
    if job is None or account is None or not (account.is_admin or job["owner_id"] == account.id):
        raise NotFoundException()
    return await render(
        request,
        "jobs/status.html",
        {"job": job, "terminal": job["status"] in TERMINAL},
        fragments={f"job-{job['id']}": "jobs/_status.html"},
    )
