"""The public side of CareerCenter: job search (/careers), a job's page, employers' logos.

Thin controllers over features/careers/search.py and postings.py. The search works as a plain
GET form; htmx asks for #search-results only (filters, results and pager, which re-render with
the search they answer, so back and forward show matching filters) and the response's
HX-Push-Url keeps the address bar on the search's clean URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from markupsafe import Markup

from features.careers import applications, files, moderation, postings, search
from features.careers.postings import EmployerView, JobView
from portal import runtime
from portal.markdown import to_html
from portal.web.htmx import is_htmx, wants_fragment
from portal.web.identity import current_account
from portal.web.render import render

PageRequest = Request[Any, Any, Any]

RESULTS_TARGET = "search-results"
PAGE_SIZE = 20
MAX_PAGE = 10_000
LOGO_CACHE = "public, max-age=31536000, immutable"  # a new logo gets a new id


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def _has_empty_params(request: PageRequest) -> bool:
    return any(value == "" for _, value in request.query_params.multi_items())


def _options() -> dict[str, Any]:
    return {
        "work_modes": postings.WORK_MODES,
        "employment_types": postings.EMPLOYMENT_TYPES,
        "experience_levels": postings.EXPERIENCE,
        "credentials": postings.CREDENTIALS,
        "specialties": postings.SPECIALTIES,
        "states": postings.STATES,
        "salary_steps": search.SALARY_STEPS,
        "posted_choices": search.POSTED_WITHIN,
        "sorts": search.SORTS,
    }


@get("/careers", name="careers")
async def search_page(request: PageRequest) -> Response[Any]:
    form, notes = search.SearchForm.parse(request.query_params)
    page = _page_number(request.query_params.get("page"))
    if not is_htmx(request) and not notes and _has_empty_params(request):
        # A plain form sends every empty filter: show the same search at its clean address.
        return Redirect(path=form.page_url(page), status_code=303)
    result = await search.find(form, page=page, per_page=PAGE_SIZE)
    fragment = wants_fragment(request, (RESULTS_TARGET,))
    account = await current_account(request)
    context: dict[str, Any] = {
        "search": form,
        "result": result,
        "notes": notes,
        "logos": await postings.profiles_of(j.account_id for j in result.jobs),
        "now": datetime.now(UTC),
        "can_post": postings.can_post(account),
        "pending_count": await moderation.pending_count() if account and account.is_admin else 0,
        **_options(),
    }
    return await render(
        request,
        "careers/search.html",
        context,
        fragments={RESULTS_TARGET: "careers/_results.html"},
        headers={"HX-Push-Url": form.page_url(result.page)} if fragment else None,
    )


@get("/careers/jobs/{job_id:int}", name="careers-job")
async def job_page(request: PageRequest, job_id: FromPath[int]) -> Response[Any]:
    """A live posting for everyone; a posting that is not live only for its employer, admins
    (both with a preview banner) and someone who applied to it; else 404."""
    job = await postings.get_job(job_id)
    if job is None:
        raise NotFoundException("There is no such job.")
    account = await current_account(request)
    actions = await applications.job_actions(account, job.id)
    owner = account is not None and account.id == job.account_id
    admin = account is not None and account.is_admin
    if not job.is_live and not (owner or admin or actions.application is not None):
        raise NotFoundException("This job is not posted (any more).")
    profile = await postings.get_profile(job.account_id)
    base_url = runtime.current().settings.base_url
    context = {
        "job": job,
        "profile": profile,
        "actions": actions,
        "owner": owner,
        "similar": await search.similar(job) if job.is_live else [],
        "ld_json": _ld_script(structured_data(job, profile, base_url)) if job.is_live else None,
        "credential_names": postings.CREDENTIALS,
    }
    return await render(request, "careers/job.html", context)


@get("/careers/logos/{file_id:int}", name="careers-logo")
async def logo(file_id: FromPath[int]) -> Response[bytes]:
    """Employers' logos are public; other stored files (resumes) are never served here."""
    stored = await files.get(file_id) if await postings.is_logo(file_id) else None
    if stored is None or stored.kind not in files.LOGO_KINDS:
        raise NotFoundException("There is no such logo.")
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "Cache-Control": LOGO_CACHE,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{stored.filename}"',
        },
    )


# schema.org JobPosting ---------------------------------------------------------------------------

EMPLOYMENT_TYPE_LD = {
    "full_time": "FULL_TIME",
    "part_time": "PART_TIME",
    "contract": "CONTRACTOR",
    "per_diem": "PER_DIEM",
    "temporary": "TEMPORARY",
}


def structured_data(job: JobView, profile: EmployerView | None, base_url: str) -> dict[str, Any]:
    """The posting as schema.org JobPosting (what job search engines read)."""
    organisation: dict[str, Any] = {"@type": "Organization", "name": job.organisation}
    if profile is not None and profile.website:
        organisation["sameAs"] = profile.website
    if profile is not None and profile.logo_url:
        organisation["logo"] = base_url + profile.logo_url
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": job.title,
        "description": str(to_html(job.description)),
        "identifier": {"@type": "PropertyValue", "name": job.organisation, "value": str(job.id)},
        "url": base_url + job.url,
        "datePosted": job.posted_at.date().isoformat() if job.posted_at else None,
        "validThrough": job.expires_at.isoformat() if job.expires_at else None,
        "employmentType": EMPLOYMENT_TYPE_LD.get(job.employment_type, "OTHER"),
        "hiringOrganization": organisation,
        "directApply": job.apply_mode == "portal",
    }
    if job.work_mode == "remote":
        data["jobLocationType"] = "TELECOMMUTE"
        data["applicantLocationRequirements"] = (
            {"@type": "State", "name": job.state_name}
            if job.state
            else {"@type": "Country", "name": "USA"}
        )
    else:
        address = {"@type": "PostalAddress", "addressRegion": job.state, "addressCountry": "US"}
        if job.city:
            address["addressLocality"] = job.city
        data["jobLocation"] = {"@type": "Place", "address": address}
    if job.salary_min is not None or job.salary_max is not None:
        hourly = job.salary_period == "hour"

        def amount(value: int | None) -> float | int | None:
            if value is None:
                return None
            return round(value / postings.HOURS_PER_YEAR, 2) if hourly else value

        value: dict[str, Any] = {
            "@type": "QuantitativeValue",
            "unitText": "HOUR" if hourly else "YEAR",
        }
        low, high = amount(job.salary_min), amount(job.salary_max)
        if low is not None and high is not None and low != high:
            value.update(minValue=low, maxValue=high)
        else:
            value["value"] = low if low is not None else high
        data["baseSalary"] = {"@type": "MonetaryAmount", "currency": "USD", "value": value}
    return {k: v for k, v in data.items() if v is not None}


def _ld_script(data: dict[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> block: `<`, `>` and `&` as \\u escapes, so
    text in a posting ("</script>") cannot end the block. A data block is not run, so the
    portal's CSP (script-src 'self') needs no exception for it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 (escaped above for a script data block)


ROUTES = [search_page, job_page, logo]
