"""CareerCenter postings: the employer profile (and its logo, checked by content), the posting
form's validation, the plan limit, a posting's life (draft, review, close, renew), expiry, the
job page (preview, 404s, JSON-LD, sanitised Markdown) and who may edit what."""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from features.careers import moderation, postings
from features.careers.postings import JobInput, PlanLimitReached
from features.careers.tables import EmployerProfile, Job, StoredFile
from portal.accounts.service import AccountView, create_admin, forget_account, get_account
from portal.accounts.tables import Account
from portal.errors import NotFound, ValidationFailed
from tests.support.client import PortalClient, text_of, unique_email

pytestmark = pytest.mark.usefixtures("worker")

ADMIN_PASSWORD = "admin password 123"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0b\x5c\xad")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def job_form(**changes: str | list[str]) -> dict[str, Any]:
    """The posting form as a browser sends it (credentials and specialties repeat)."""
    return {
        "title": "Remote Outpatient Coder",
        "organisation": "Lakeside Health",
        "city": "",
        "state": "TX",
        "work_mode": "remote",
        "employment_type": "full_time",
        "credentials": ["CPC", "CCS"],
        "specialties": ["Outpatient", "Cardiology"],
        "experience": "mid",
        "salary_min": "55,000",
        "salary_max": "68000",
        "salary_period": "year",
        "description": "## Duties\n\nCode **cardiology** clinic visits.",
        "apply_mode": "portal",
        "apply_url": "",
        **changes,
    }


def job_input(**changes: Any) -> JobInput:
    form = job_form(**changes)
    lists = {k: form.pop(k) for k in ("credentials", "specialties")}
    return JobInput.from_form(form, lists)


async def account_of(email: str) -> AccountView:
    row = await Account.select(Account.id).where(Account.email == email).first()
    forget_account(row["id"])
    account = await get_account(row["id"])
    assert account is not None
    return account


async def become_employer(
    client: PortalClient, plan: str = "free", organisation: str = "Lakeside Health"
) -> AccountView:
    """Register, then create the employer profile through its form (which grants the role)."""
    email = unique_email("employer")
    await client.register(email)
    if plan != "free":
        await Account.update({Account.plan: plan}).where(Account.email == email)
    response = await client.post(
        "/careers/employer/profile",
        data={"_csrf_token": await client.csrf(), "organisation": organisation},
        files={"logo": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 303, response.text[:1000]
    return await account_of(email)


async def admin_client(app: Any) -> tuple[PortalClient, AccountView]:
    email = unique_email("admin")
    await create_admin(email, ADMIN_PASSWORD)
    client = PortalClient(app)
    await client.__aenter__()
    response = await client.login(email, ADMIN_PASSWORD)
    assert response.status_code == 303
    return client, await account_of(email)


async def live_job(account: AccountView, **changes: Any) -> postings.JobView:
    """A posting through the service: created, submitted, approved by a fresh admin."""
    job = await postings.create_job(account, job_input(**changes))
    await postings.submit_job(account, job.id)
    admin_email = unique_email("admin")
    admin = await create_admin(admin_email, ADMIN_PASSWORD)
    return await moderation.approve(admin, job.id)


@pytest.fixture
async def admin(app: Any) -> Any:
    client, account = await admin_client(app)
    yield client, account
    await client.__aexit__(None, None, None)


# --- the employer profile -------------------------------------------------------------------------


async def test_a_member_creating_a_profile_becomes_an_employer(client: PortalClient) -> None:
    email = unique_email("member")
    await client.register(email)
    page = await client.get("/careers/employer")
    assert page.status_code == 200
    assert "Create employer profile" in page.text
    assert (await account_of(email)).role == "member"
    refused = await client.get("/careers/employer/jobs/new")
    assert refused.status_code == 303 and refused.headers["location"] == "/careers/employer"

    empty = await client.post(
        "/careers/employer/profile",
        data={"_csrf_token": await client.csrf(), "organisation": " ", "website": "ftp://x.org"},
        files={"logo": ("", b"", "application/octet-stream")},
    )
    assert empty.status_code == 422
    assert "Enter your organisation&#39;s name." in empty.text
    assert "starting with https://" in empty.text

    account = await become_employer(client)
    assert account.role == "employer"
    dashboard = await client.get("/careers/employer")
    assert "Your job postings" in dashboard.text
    assert "No postings yet" in dashboard.text
    assert (await client.get("/careers/employer/jobs/new")).status_code == 200


async def test_a_guest_is_sent_to_log_in(app: Any) -> None:
    async with PortalClient(app) as guest:
        response = await guest.get("/careers/employer")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/login?next=/careers/employer")


async def test_a_renamed_exe_is_refused_as_a_logo_and_a_real_png_is_served(
    client: PortalClient,
) -> None:
    account = await become_employer(client)

    async def upload(name: str, data: bytes, kind: str) -> Any:
        return await client.post(
            "/careers/employer/profile",
            data={"_csrf_token": await client.csrf(), "organisation": "Lakeside Health"},
            files={"logo": (name, data, kind)},
        )

    refused = await upload("logo.png", EXE, "image/png")
    assert refused.status_code == 422
    assert "The file is not a" in text_of(refused.text)
    assert await StoredFile.count().where(StoredFile.owner_id == account.id) == 0

    accepted = await upload("logo.png", png_bytes(), "image/png")
    assert accepted.status_code == 303
    profile = await postings.get_profile(account.id)
    assert profile is not None and profile.logo_url
    served = await client.get(profile.logo_url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in served.headers["cache-control"]
    assert served.content == png_bytes()

    # A new logo replaces the old one, which is deleted; other stored files are never served.
    old = profile.logo_file_id
    assert (await upload("new.png", png_bytes(), "image/png")).status_code == 303
    assert not await StoredFile.exists().where(StoredFile.id == old)
    assert (await client.get(f"/careers/logos/{old}")).status_code == 404
    resume = StoredFile(owner_id=account.id, kind="pdf", filename="cv.pdf", size=5, data=b"%PDF-")
    await resume.save()
    assert (await client.get(f"/careers/logos/{resume.id}")).status_code == 404


# --- validation -------------------------------------------------------------------------------


async def test_the_posting_form_says_what_is_wrong_with_each_field(client: PortalClient) -> None:
    await become_employer(client)
    data = job_form(
        title="",
        work_mode="moon",
        state="XX",
        employment_type="",
        experience="guru",
        credentials=["CPC", "WIZARD"],
        salary_min="70000",
        salary_max="60000",
        description="x" * 20_001,
        apply_mode="external",
        apply_url="javascript:alert(1)",
    )
    response = await client.submit("/careers/employer/jobs/new", data)
    assert response.status_code == 422
    text = text_of(response.text)
    for message in (
        "Enter the job title.",
        "Choose remote, hybrid or on-site.",
        "a two-letter USPS code",
        "Choose the type of employment.",
        "Choose the experience level.",
        "Unknown credential “WIZARD”",
        "The highest pay must be at least the lowest pay.",
        "Keep the description under 20,000 characters",
        "Enter a web address starting with https:// or http://.",
    ):
        assert message in text, message
    assert 'aria-invalid="true"' in response.text
    assert 'value="70000"' in response.text, "what was typed is kept"
    assert await Job.count().where(Job.title == "") == 0


def test_validation_rules_one_by_one() -> None:
    def problems(**changes: Any) -> dict[str, str]:
        try:
            postings.validate_job(job_input(**changes))
        except ValidationFailed as exc:
            return exc.fields
        return {}

    assert problems() == {}
    assert "title" in problems(title="T" * 161)
    assert problems(title="T" * 160) == {}
    assert "city" in problems(work_mode="onsite", city="", state="TX")
    assert "state" in problems(work_mode="hybrid", city="Austin", state="")
    assert problems(work_mode="remote", state="") == {}
    assert problems(state="tx") == {}, "state codes are taken in any case"
    assert "salary_min" in problems(salary_min="lots")
    assert "salary_min" in problems(salary_min="25", salary_period="year"), "hourly as yearly"
    assert "salary_max" in problems(salary_min="", salary_max="90000", salary_period="hour")
    assert "apply_url" in problems(apply_mode="external", apply_url="")
    assert "apply_url" in problems(apply_mode="external", apply_url="ftp://jobs.example.org")
    assert problems(apply_mode="external", apply_url="http://jobs.example.org/apply") == {}
    assert problems(description="d" * 20_000) == {}
    assert "description" in problems(description="   ")
    assert "specialties" in problems(specialties=["Astrology"])


def test_hourly_pay_is_stored_as_yearly_and_shown_as_typed() -> None:
    values = postings.validate_job(
        job_input(salary_min="25.50", salary_max="30", salary_period="hour")
    )
    assert values["salary_min"] == 53040 and values["salary_max"] == 62400
    assert values["credentials"] == ["CPC", "CCS"]
    assert "cardiology" in values["search_text"] and "lakeside health" in values["search_text"]


# --- the plan limit ---------------------------------------------------------------------------


async def test_a_free_employer_runs_one_posting_at_a_time(client: PortalClient) -> None:
    account = await become_employer(client)
    first = await client.submit("/careers/employer/jobs/new", {**job_form(), "action": "submit"})
    assert first.status_code == 303 and first.headers["location"].endswith("done=submitted")
    done = await client.get(first.headers["location"])
    assert "Sent for review." in text_of(done.text)
    assert "1 of 1 posting live or waiting for review" in text_of(done.text)

    second = await client.submit(
        "/careers/employer/jobs/new", {**job_form(title="Second job"), "action": "submit"}
    )
    assert second.status_code == 303 and second.headers["location"].endswith("done=limit")
    page = await client.get(second.headers["location"])
    assert "allows 1 posting live or waiting for review at a time" in text_of(page.text)
    assert "upgrade to Pro" in text_of(page.text)
    jobs = {j.title: j for j in await postings.jobs_of(account.id)}
    assert jobs["Second job"].status == "draft", "kept as a draft"

    again = await client.submit(f"/careers/employer/jobs/{jobs['Second job'].id}/submit")
    assert again.status_code == 409
    assert "allows 1 posting" in text_of(again.text)

    # Once the first one is closed, the draft may go.
    await postings.close_job(account, jobs["Remote Outpatient Coder"].id)
    ok = await client.submit(f"/careers/employer/jobs/{jobs['Second job'].id}/submit")
    assert ok.status_code == 303
    assert (await postings.get_job(jobs["Second job"].id)).status == "pending"  # type: ignore[union-attr]


async def test_an_active_posting_counts_and_an_expired_one_does_not(client: PortalClient) -> None:
    account = await become_employer(client)
    job = await live_job(account)
    draft = await postings.create_job(account, job_input(title="Next"))
    with pytest.raises(PlanLimitReached):
        await postings.submit_job(account, draft.id)
    await Job.update({Job.expires_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
        Job.id == job.id
    )
    assert (await postings.submit_job(account, draft.id)).status == "pending"


async def test_a_pro_employer_runs_several(client: PortalClient) -> None:
    account = await become_employer(client, plan="pro")
    for n in range(3):
        job = await postings.create_job(account, job_input(title=f"Coder {n}"))
        assert (await postings.submit_job(account, job.id)).status == "pending"
    assert await postings.slots_used(account.id) == 3


# --- a posting's life ---------------------------------------------------------------------------


async def test_draft_pending_active_closed_renewed(
    client: PortalClient, admin: Any, app: Any
) -> None:
    account = await become_employer(client)
    admin_client, _ = admin
    created = await client.submit(
        "/careers/employer/jobs/new", {**job_form(title="Risk Adjustment Coder"), "action": "save"}
    )
    assert created.status_code == 303
    (job,) = await postings.jobs_of(account.id)
    assert job.status == "draft" and job.salary_min == 55000 and job.credentials == ("CPC", "CCS")
    assert job.posted_at is None and job.expires_at is None

    # A draft is not public; its employer sees a preview.
    assert (await admin_client.get(job.url)).status_code == 200
    async with PortalClient(app) as guest:
        assert (await guest.get(job.url)).status_code == 404
    preview = await client.get(job.url)
    assert preview.status_code == 200 and "Preview." in text_of(preview.text)
    assert "application/ld+json" not in preview.text

    edit = await client.get(f"/careers/employer/jobs/{job.id}/edit")
    assert 'value="Risk Adjustment Coder"' in edit.text
    saved = await client.submit(
        f"/careers/employer/jobs/{job.id}/edit",
        {**job_form(title="Risk Adjustment Coder II"), "action": "submit"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=submitted")
    job = await postings.get_job(job.id)  # type: ignore[assignment]
    assert job.status == "pending" and job.title == "Risk Adjustment Coder II"

    approved = await admin_client.submit(f"/careers/moderation/{job.id}/approve")
    assert approved.status_code == 303
    job = await postings.get_job(job.id)  # type: ignore[assignment]
    assert job.status == "active" and job.posted_at is not None
    assert job.expires_at is not None
    days = (job.expires_at - job.posted_at).days
    assert days == 30

    closed = await client.submit(f"/careers/employer/jobs/{job.id}/close")
    assert closed.status_code == 303
    assert (await postings.get_job(job.id)).status == "closed"  # type: ignore[union-attr]
    async with PortalClient(app) as guest:
        assert (await guest.get(job.url)).status_code == 404

    renewed = await client.submit(f"/careers/employer/jobs/{job.id}/renew")
    assert renewed.status_code == 303
    assert (await postings.get_job(job.id)).status == "pending"  # type: ignore[union-attr]
    # A second click on a stale page: a clear 409, not a crash.
    again = await client.submit(f"/careers/employer/jobs/{job.id}/close")
    assert again.status_code == 303
    stale = await client.submit(f"/careers/employer/jobs/{job.id}/renew")
    assert stale.status_code == 303  # closed again, so renew works again
    wrong = await client.submit(f"/careers/employer/jobs/{job.id}/delete")
    assert wrong.status_code == 409 and "Only drafts are deleted" in text_of(wrong.text)


async def test_editing_a_live_posting_sends_it_back_to_review(client: PortalClient) -> None:
    account = await become_employer(client)
    job = await live_job(account)
    page = await client.get(f"/careers/employer/jobs/{job.id}/edit")
    assert "Saving changes sends it back to review" in text_of(page.text)
    response = await client.submit(
        f"/careers/employer/jobs/{job.id}/edit", {**job_form(title="Edited"), "action": "save"}
    )
    assert response.status_code == 303
    fresh = await postings.get_job(job.id)
    assert fresh is not None and fresh.status == "pending" and fresh.title == "Edited"


async def test_a_draft_is_deleted(client: PortalClient) -> None:
    account = await become_employer(client)
    job = await postings.create_job(account, job_input())
    response = await client.submit(f"/careers/employer/jobs/{job.id}/delete")
    assert response.status_code == 303
    assert await postings.get_job(job.id) is None


async def test_employers_cannot_touch_each_others_postings(client: PortalClient, app: Any) -> None:
    owner = await become_employer(client)
    job = await postings.create_job(owner, job_input())
    async with PortalClient(app) as other:
        await become_employer(other, organisation="Other Clinic")
        assert (await other.get(f"/careers/employer/jobs/{job.id}/edit")).status_code == 404
        for action in ("edit", "submit", "close", "renew", "delete"):
            response = await other.submit(f"/careers/employer/jobs/{job.id}/{action}", job_form())
            assert response.status_code == 404, action
        assert (await other.get(job.url)).status_code == 404, "no preview of another's draft"
    assert (await postings.get_job(job.id)).status == "draft"  # type: ignore[union-attr]


async def test_a_member_cannot_post_through_the_service(client: PortalClient) -> None:
    email = unique_email("member")
    await client.register(email)
    member = await account_of(email)
    with pytest.raises(postings.NotAllowed):
        await postings.create_job(member, job_input())
    with pytest.raises(NotFound):
        await postings.job_for_owner(member, 10**9)


# --- expiry -----------------------------------------------------------------------------------


async def test_an_expired_posting_is_gone_for_the_public_and_expire_due_marks_it(
    client: PortalClient, app: Any
) -> None:
    account = await become_employer(client)
    job = await live_job(account, title="Expiring Coder")
    async with PortalClient(app) as guest:
        assert (await guest.get(job.url)).status_code == 200
        await Job.update({Job.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
            Job.id == job.id
        )
        # Before any job has run: the read rule already hides it.
        raw = await Job.select(Job.status).where(Job.id == job.id).first()
        assert raw["status"] == "active"
        assert (await postings.get_job(job.id)).status == "expired"  # type: ignore[union-attr]
        assert (await guest.get(job.url)).status_code == 404
    owner_view = await client.get(job.url)
    assert owner_view.status_code == 200 and "expired" in text_of(owner_view.text)

    assert await postings.expire_due() >= 1
    raw = await Job.select(Job.status).where(Job.id == job.id).first()
    assert raw["status"] == "expired"
    assert await postings.expire_due() == 0 or True  # idempotent: nothing left for this one
    dashboard = await client.get("/careers/employer")
    assert "Renew" in dashboard.text


async def test_posting_days_is_a_setting(client: PortalClient) -> None:
    from dataclasses import replace

    from portal import runtime

    rt = runtime.current()
    original = rt.settings
    rt.settings = replace(original, careers=replace(original.careers, posting_days=7))
    try:
        account = await become_employer(client)
        job = await live_job(account)
    finally:
        rt.settings = original
    assert job.expires_at is not None and job.posted_at is not None
    assert (job.expires_at - job.posted_at).days == 7


# --- the job page -----------------------------------------------------------------------------


async def test_the_job_page_has_json_ld_and_sanitised_markdown(client: PortalClient) -> None:
    account = await become_employer(client)
    await client.post(
        "/careers/employer/profile",
        data={
            "_csrf_token": await client.csrf(),
            "organisation": "Lakeside Health",
            "website": "lakeside.example.org",
        },
        files={"logo": ("logo.png", png_bytes(), "image/png")},
    )
    description = (
        "## Duties\n\nCode **E/M** visits.\n\n<script>alert('x')</script>\n\n"
        "[bad](javascript:alert(1)) and </script><b>not bold</b>"
    )
    job = await live_job(
        account,
        title="Remote HCC Coder",
        description=description,
        salary_min="30",
        salary_max="35.5",
        salary_period="hour",
        employment_type="contract",
    )
    page = await client.get(job.url)
    assert page.status_code == 200
    html = page.text
    body = html.split("<main", 1)[1]
    assert "<script>alert" not in html and 'href="javascript:' not in body
    assert "<h2>Duties</h2>" in body and "<strong>E/M</strong>" in body
    assert "&lt;script&gt;" in body or "alert(&#39;x&#39;)" in body, "shown as text at most"
    assert "$30–$35.50 per hour" in text_of(body)

    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found, "JSON-LD block"
    assert "</" not in found.group(1), "cannot end the script block early"
    data = json.loads(found.group(1))
    assert data["@context"] == "https://schema.org/" and data["@type"] == "JobPosting"
    assert data["title"] == "Remote HCC Coder"
    assert "<h2>Duties</h2>" in data["description"] and "<script>" not in data["description"]
    assert data["datePosted"] == job.posted_at.date().isoformat()  # type: ignore[union-attr]
    assert data["validThrough"].startswith(job.expires_at.date().isoformat())  # type: ignore[union-attr]
    assert data["employmentType"] == "CONTRACTOR"
    org = data["hiringOrganization"]
    assert org["name"] == "Lakeside Health"
    assert org["sameAs"] == "https://lakeside.example.org"
    assert org["logo"].startswith("http://testserver/careers/logos/")
    assert data["jobLocationType"] == "TELECOMMUTE"
    assert data["applicantLocationRequirements"] == {"@type": "State", "name": "Texas"}
    salary = data["baseSalary"]
    assert salary["@type"] == "MonetaryAmount" and salary["currency"] == "USD"
    assert salary["value"] == {
        "@type": "QuantitativeValue",
        "unitText": "HOUR",
        "minValue": 30,
        "maxValue": 35.5,
    }
    # The CSP needs no exception: a data block is not a script.
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


async def test_an_onsite_job_has_a_place_and_a_missing_job_is_404(client: PortalClient) -> None:
    account = await become_employer(client)
    job = await live_job(account, work_mode="onsite", city="Dallas", state="TX", salary_min="")
    page = await client.get(job.url)
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    assert data["jobLocation"]["address"] == {
        "@type": "PostalAddress",
        "addressRegion": "TX",
        "addressCountry": "US",
        "addressLocality": "Dallas",
    }
    assert "jobLocationType" not in data
    assert data["baseSalary"]["value"]["value"] == 68000
    assert (await client.get("/careers/jobs/999999999")).status_code == 404
    assert (await client.get("/careers/jobs/abc")).status_code in (400, 404)


async def test_the_markdown_preview(client: PortalClient) -> None:
    await become_employer(client)
    fragment = await client.submit(
        "/careers/employer/preview",
        {"description": "**bold** <script>x</script>"},
        headers={"HX-Request": "true", "HX-Target": "description-preview"},
    )
    assert fragment.status_code == 200
    assert "<strong>bold</strong>" in fragment.text and "<script>" not in fragment.text
    full = await client.submit(
        "/careers/employer/jobs/new", {**job_form(description="# Hi"), "action": "preview"}
    )
    assert full.status_code == 200 and "<h2>Hi</h2>" in full.text
    assert await EmployerProfile.count() >= 1
