"""CareerCenter applications: applying with a resume checked by content, one application per
job, who may read a resume, the employer's statuses (page and mail), saved jobs."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from features.careers import applications
from features.careers.postings import search_text
from features.careers.tables import Application, Job, SavedJob, StoredFile
from portal.accounts.service import AccountView, get_account
from portal.accounts.tables import Account
from portal.mail.tables import OutboxMessage
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("worker")

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def pdf_bytes(text: str = "Jane Coder, CPC") -> bytes:
    """A small but well-formed PDF (one page, one line of text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx_bytes(text: str = "Jane Coder, CCS") -> bytes:
    """A minimal Word document: the three parts Word itself needs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512


async def make_job(employer_id: int, **changes: Any) -> int:
    """A live posting, written directly (the posting flow has its own tests)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "title": "Outpatient Coder",
        "organisation": "Lakeside Clinic",
        "city": "Austin",
        "state": "TX",
        "work_mode": "remote",
        "employment_type": "full_time",
        "credentials": ["CPC"],
        "specialties": ["Outpatient"],
        "experience": "mid",
        "salary_min": 52000,
        "salary_max": 60000,
        "salary_period": "year",
        "description": "Code outpatient visits.",
        "apply_mode": "portal",
        "apply_url": "",
        **changes,
    }
    row = Job(
        account_id=employer_id,
        status=changes.pop("status", "active"),
        posted_at=now,
        expires_at=now + timedelta(days=30),
        search_text=search_text(values),
        **{k: v for k, v in values.items() if k != "status"},
    )
    await row.save()
    return int(row.id)


async def user(client: PortalClient, prefix: str = "coder") -> AccountView:
    email = unique_email(prefix)
    response = await client.register(email)
    assert response.status_code in (302, 303), response.text[:500]
    row = await Account.select(Account.id).where(Account.email == email).first()
    account = await get_account(row["id"])
    assert account is not None
    return account


async def post_application(
    client: PortalClient,
    job_id: int,
    data: bytes | None,
    filename: str = "resume.pdf",
    content_type: str = "application/pdf",
    note: str = "I code E/M visits daily.",
) -> Any:
    fields = {"_csrf_token": await client.csrf(), "cover_note": note}
    upload = (
        (filename, data, content_type)
        if data is not None
        else ("", b"", "application/octet-stream")
    )
    return await client.post(f"/careers/jobs/{job_id}/apply", data=fields, files={"resume": upload})


@pytest.fixture
async def employer(app) -> Any:  # type: ignore[no-untyped-def]
    async with PortalClient(app) as c:
        account = await user(c, "employer")
        yield c, account


async def the_application(job_id: int, account_id: int) -> dict[str, Any]:
    row = (
        await Application.select()
        .where((Application.job_id == job_id) & (Application.account_id == account_id))
        .first()
    )
    assert row is not None
    return row


# --- applying ---------------------------------------------------------------------------------


async def test_a_pdf_resume_is_accepted_and_the_job_page_shows_the_status(
    client: PortalClient, employer: Any, mailbox: Mailbox
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id, title="Pro Fee Coder")
    seeker = await user(client)

    form_page = await client.get(f"/careers/jobs/{job_id}")
    assert form_page.status_code == 200
    assert 'enctype="multipart/form-data"' in form_page.text
    assert f'action="/careers/jobs/{job_id}/apply"' in form_page.text

    response = await post_application(client, job_id, pdf_bytes())
    assert response.status_code == 303, response.text[:1000]
    assert response.headers["location"].startswith(f"/careers/jobs/{job_id}")

    row = await the_application(job_id, seeker.id)
    assert row["status"] == "new"
    assert row["cover_note"] == "I code E/M visits daily."
    stored = await StoredFile.select().where(StoredFile.id == row["resume_file_id"]).first()
    assert stored["kind"] == "pdf" and stored["owner_id"] == seeker.id

    page = await client.get(response.headers["location"])
    assert "Your application was sent" in text_of(page.text)
    assert "New" in text_of(page.text)
    assert f'action="/careers/jobs/{job_id}/apply"' not in page.text, "no second form"

    mail = await mailbox.wait_for(boss.email, "New application: Pro Fee Coder")
    assert seeker.email in mail.text
    assert f"/careers/employer/jobs/{job_id}/applicants" in mail.text


async def test_a_docx_resume_is_accepted(client: PortalClient, employer: Any) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    response = await post_application(client, job_id, docx_bytes(), "My Resume.docx", DOCX_TYPE)
    assert response.status_code == 303, response.text[:1000]
    row = await the_application(job_id, seeker.id)
    stored = await StoredFile.select().where(StoredFile.id == row["resume_file_id"]).first()
    assert stored["kind"] == "docx"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (EXE, "resume.pdf", "is not a Word document (.docx) or PDF"),
        (EXE, "resume.exe", "is not a Word document (.docx) or PDF"),
        (b"PK\x03\x04" + b"\x00" * 200, "resume.docx", "is not a Word document (.docx) or PDF"),
        (b"<html><script>alert(1)</script></html>", "resume.pdf", "only those are accepted"),
        (pdf_bytes(), "resume.docx", "does not match its content"),
        (None, "", "Choose your resume"),
    ],
    ids=["renamed-exe", "exe", "fake-docx", "html", "misnamed", "missing"],
)
async def test_a_bad_resume_is_refused_with_the_form_and_a_message(
    client: PortalClient, employer: Any, data: bytes | None, filename: str, message: str
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    files_before = await StoredFile.count()
    response = await post_application(client, job_id, data, filename, note="Please consider me.")
    assert response.status_code == 422
    assert message in text_of(response.text)
    assert 'enctype="multipart/form-data"' in response.text, "the form again"
    assert "Please consider me." in response.text, "the note is kept"
    assert 'role="alert"' in response.text
    assert not await Application.exists().where(
        (Application.job_id == job_id) & (Application.account_id == seeker.id)
    )
    assert await StoredFile.count() == files_before, "nothing stored"


async def test_a_resume_over_5_mb_is_refused(client: PortalClient, employer: Any) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    await user(client)
    big = pdf_bytes() + b"%" + b"0" * (5 * 1024 * 1024)
    response = await post_application(client, job_id, big)
    assert response.status_code == 422
    assert "larger than 5 MB" in text_of(response.text)


async def test_a_cover_note_over_5000_characters_is_refused(
    client: PortalClient, employer: Any
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    await user(client)
    response = await post_application(client, job_id, pdf_bytes(), note="x" * 5001)
    assert response.status_code == 422
    assert "longer than 5,000 characters" in text_of(response.text)
    # Browsers send CRLF line ends: 5,000 characters as typed fit.
    ok = await post_application(client, job_id, pdf_bytes(), note="ab\r\n" * 1666 + "ab")
    assert ok.status_code == 303


async def test_a_second_application_to_the_same_job_shows_the_first(
    client: PortalClient, employer: Any
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    first = await post_application(client, job_id, pdf_bytes(), note="first")
    second = await post_application(client, job_id, docx_bytes(), "other.docx", DOCX_TYPE, "second")
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    rows = await Application.select().where(
        (Application.job_id == job_id) & (Application.account_id == seeker.id)
    )
    assert len(rows) == 1 and rows[0]["cover_note"] == "first"
    assert await StoredFile.count().where(StoredFile.owner_id == seeker.id) == 1


async def test_concurrent_double_submits_make_one_application(
    client: PortalClient, employer: Any
) -> None:
    import asyncio

    _, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    results = await asyncio.gather(
        *(applications.apply(seeker, job_id, "note", "r.pdf", pdf_bytes()) for _ in range(4))
    )
    assert sum(r.created for r in results) == 1
    assert len({r.application.id for r in results}) == 1
    assert await Application.count().where(Application.job_id == job_id) == 1
    assert await StoredFile.count().where(StoredFile.owner_id == seeker.id) == 1


@pytest.mark.parametrize("status", ["pending", "closed", "expired", "draft"])
async def test_a_job_that_is_not_live_takes_no_application(
    client: PortalClient, employer: Any, status: str
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id, status=status)
    await user(client)
    response = await post_application(client, job_id, pdf_bytes())
    assert response.status_code == 409
    assert "no longer taking applications" in text_of(response.text)
    assert not await Application.exists().where(Application.job_id == job_id)


async def test_a_job_past_its_expiry_takes_no_application(
    client: PortalClient, employer: Any
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    await Job.update({Job.expires_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
        Job.id == job_id
    )
    await user(client)
    response = await post_application(client, job_id, pdf_bytes())
    assert response.status_code == 409


async def test_the_employer_cannot_apply_to_its_own_job(employer: Any) -> None:
    boss_client, boss = employer
    job_id = await make_job(boss.id)
    page = await boss_client.get(f"/careers/jobs/{job_id}")
    assert f'action="/careers/jobs/{job_id}/apply"' not in page.text
    response = await post_application(boss_client, job_id, pdf_bytes())
    assert response.status_code == 409
    assert "your own posting" in text_of(response.text)
    assert not await Application.exists().where(Application.job_id == job_id)


async def test_an_external_job_links_out_and_takes_no_upload(
    client: PortalClient, employer: Any
) -> None:
    _, boss = employer
    job_id = await make_job(
        boss.id, apply_mode="external", apply_url="https://careers.example.org/apply/77"
    )
    seeker = await user(client)
    actions = await applications.job_actions(seeker, job_id)
    assert not actions.can_apply and actions.reason == "external"
    page = await client.get(f"/careers/jobs/{job_id}")
    assert 'href="https://careers.example.org/apply/77"' in page.text
    response = await post_application(client, job_id, pdf_bytes())
    assert response.status_code == 409


async def test_a_guest_is_sent_to_log_in(app: Any, employer: Any) -> None:
    _, boss = employer
    job_id = await make_job(boss.id)
    async with PortalClient(app) as guest:
        assert (await applications.job_actions(None, job_id)).reason == "guest"
        page = await guest.get(f"/careers/jobs/{job_id}")
        assert f"/account/login?next=/careers/jobs/{job_id}" in page.text
        response = await post_application(guest, job_id, pdf_bytes())
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/login?next=")
    assert not await Application.exists().where(Application.job_id == job_id)


# --- resumes: the applicant and the job's employer only ---------------------------------------


async def test_a_resume_is_served_to_the_applicant_and_the_employer_only(
    app: Any, client: PortalClient, employer: Any
) -> None:
    boss_client, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    data = pdf_bytes("Resume of the applicant")
    await post_application(client, job_id, data, "Jane Résumé.pdf")
    application_id = (await the_application(job_id, seeker.id))["id"]
    url = f"/careers/applications/{application_id}/resume"

    for reader in (client, boss_client):
        response = await reader.get(url)
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert (
            "filename*=UTF-8''Jane%20R%C3%A9sum%C3%A9.pdf"
            in response.headers["content-disposition"]
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "private, no-store"

    async with (
        PortalClient(app) as other,
        PortalClient(app) as other_boss,
        PortalClient(app) as guest,
    ):
        await user(other, "other")
        rival = await user(other_boss, "rival")
        await make_job(rival.id)  # an employer, but of another job
        for stranger in (other, other_boss, guest):
            response = await stranger.get(url)
            assert response.status_code == 404
            assert data not in response.content
        missing = await other.get("/careers/applications/999999999/resume")
        assert missing.status_code == 404


# --- the employer's applicants and statuses ---------------------------------------------------


async def test_the_employer_moves_an_application_and_the_applicant_sees_it(
    app: Any, client: PortalClient, employer: Any, mailbox: Mailbox
) -> None:
    boss_client, boss = employer
    job_id = await make_job(boss.id, title="HCC Auditor")
    seeker = await user(client)
    await post_application(client, job_id, pdf_bytes(), note="Ten years of HCC audits.")
    application_id = (await the_application(job_id, seeker.id))["id"]

    listing = await boss_client.get(f"/careers/employer/jobs/{job_id}/applicants")
    assert listing.status_code == 200
    assert seeker.email in listing.text
    assert "Ten years of HCC audits." in listing.text
    assert f"/careers/applications/{application_id}/resume" in listing.text

    changed = await boss_client.submit(
        f"/careers/applications/{application_id}/status", {"status": "interview"}
    )
    assert changed.status_code == 303
    assert (await the_application(job_id, seeker.id))["status"] == "interview"

    mine = await client.get("/careers/my")
    assert "HCC Auditor" in mine.text and "Interview" in text_of(mine.text)
    mail = await mailbox.wait_for(seeker.email, "HCC Auditor: Interview")
    assert "/careers/my" in mail.text

    # The same status again mails nothing new; htmx gets the row's form back.
    again = await boss_client.submit(
        f"/careers/applications/{application_id}/status",
        {"status": "interview"},
        headers={"HX-Request": "true", "HX-Target": f"status-{application_id}"},
    )
    assert again.status_code == 200 and f'id="status-{application_id}"' in again.text
    hired = await boss_client.submit(
        f"/careers/applications/{application_id}/status", {"status": "hired"}
    )
    assert hired.status_code == 303
    await mailbox.wait_for(seeker.email, "HCC Auditor: Hired")
    keys = [
        r["dedupe_key"]
        for r in await OutboxMessage.select(OutboxMessage.dedupe_key).where(
            (OutboxMessage.to_addr == seeker.email) & OutboxMessage.dedupe_key.like("careers-%")
        )
    ]
    assert sorted(keys) == sorted(
        f"careers-application:{application_id}:status:{s}" for s in ("interview", "hired")
    )
    bad = await boss_client.submit(
        f"/careers/applications/{application_id}/status", {"status": "promoted"}
    )
    assert bad.status_code == 400

    # Nobody else sees the applicants or changes a status: not the applicant, not another
    # employer, not a guest.
    async with PortalClient(app) as rival_client, PortalClient(app) as guest:
        rival = await user(rival_client, "rival")
        await make_job(rival.id)
        for stranger in (client, rival_client):
            assert (
                await stranger.get(f"/careers/employer/jobs/{job_id}/applicants")
            ).status_code == 404
            response = await stranger.submit(
                f"/careers/applications/{application_id}/status", {"status": "rejected"}
            )
            assert response.status_code == 404
        response = await guest.submit(
            f"/careers/applications/{application_id}/status", {"status": "rejected"}
        )
        assert response.status_code == 401
        assert (await guest.get(f"/careers/employer/jobs/{job_id}/applicants")).status_code == 303
    assert (await the_application(job_id, seeker.id))["status"] == "hired"


async def test_applicants_page_empty_state_and_filter(employer: Any, client: PortalClient) -> None:
    boss_client, boss = employer
    job_id = await make_job(boss.id)
    empty = await boss_client.get(f"/careers/employer/jobs/{job_id}/applicants")
    assert empty.status_code == 200
    assert "No applications yet" in empty.text
    await user(client)
    await post_application(client, job_id, pdf_bytes())
    new_only = await boss_client.get(f"/careers/employer/jobs/{job_id}/applicants?status=new")
    assert "New (1)" in text_of(new_only.text)
    hired = await boss_client.get(f"/careers/employer/jobs/{job_id}/applicants?status=hired")
    assert "No applicants with the status" in text_of(hired.text)


# --- saved jobs and the seeker's page ---------------------------------------------------------


async def test_saving_a_job_toggles_with_and_without_htmx(
    client: PortalClient, employer: Any
) -> None:
    _, boss = employer
    job_id = await make_job(boss.id, title="Inpatient DRG Coder")
    seeker = await user(client)

    plain = await client.submit(f"/careers/jobs/{job_id}/save", {"want": "save"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/careers/jobs/{job_id}"
    # A double click of "Save" leaves it saved.
    await client.submit(f"/careers/jobs/{job_id}/save", {"want": "save"})
    assert await SavedJob.count().where(SavedJob.account_id == seeker.id) == 1
    assert [j.id for j in await applications.saved_jobs(seeker.id)] == [job_id]
    mine = await client.get("/careers/my")
    assert "Inpatient DRG Coder" in mine.text

    hx = {"HX-Request": "true", "HX-Target": f"save-job-{job_id}"}
    off = await client.submit(f"/careers/jobs/{job_id}/save", {"want": "unsave"}, headers=hx)
    assert off.status_code == 200
    assert off.text.lstrip().startswith("<form") and 'aria-pressed="false"' in off.text
    assert not await applications.is_saved(seeker.id, job_id)
    on = await client.submit(f"/careers/jobs/{job_id}/save", {}, headers=hx)  # a plain toggle
    assert 'aria-pressed="true"' in on.text
    assert await applications.is_saved(seeker.id, job_id)

    missing = await client.submit("/careers/jobs/999999999/save", {"want": "save"})
    assert missing.status_code == 404


async def test_my_page_empty_states_and_login(app: Any, client: PortalClient) -> None:
    await user(client)
    page = await client.get("/careers/my")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "You have not applied to a job yet" in text
    assert "No saved jobs" in text
    assert "No job alerts" in text
    async with PortalClient(app) as guest:
        response = await guest.get("/careers/my")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/login?next=")


async def test_a_status_change_needs_the_job_employer(client: PortalClient, employer: Any) -> None:
    """The service refuses an admin's change too: the employer decides."""
    _, boss = employer
    job_id = await make_job(boss.id)
    seeker = await user(client)
    applied = await applications.apply(seeker, job_id, "", "r.pdf", pdf_bytes())
    admin = AccountView(
        id=seeker.id + 10_000,
        email="a@x",
        role="admin",
        plan="pro",
        verified=True,
        created_at=datetime.now(UTC),
    )
    found = await applications.applicants(admin, job_id)
    assert found is not None and len(found[1]) == 1, "an admin may look"
    with pytest.raises(applications.NotFound):
        await applications.set_status(admin, applied.application.id, "rejected")
    assert (await the_application(job_id, seeker.id))["status"] == "new"
