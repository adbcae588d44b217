"""CareerCenter's whole flow in a browser: an employer posts, an admin approves, a coder finds the
job with filters and applies with a resume, the employer moves the application on, and the coder
sees the new status."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Browser, expect

from e2e.conftest import LiveServer, _address
from e2e.helpers import new_email, register

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def test_post_approve_find_apply_review_and_see_the_status(
    browser: Browser, live_server: LiveServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from portal.accounts.tables import Account

    title = f"Remote Cardiology Coder {uuid.uuid4().hex[:6]}"
    resume = tmp_path / "resume.pdf"
    resume.write_bytes(PDF)
    contexts = [
        await browser.new_context(
            base_url=live_server.url, extra_http_headers={"X-Forwarded-For": _address()}
        )
        for _ in range(3)
    ]
    for ctx in contexts:
        ctx.set_default_timeout(15_000)
    employer, admin, coder = [await ctx.new_page() for ctx in contexts]
    try:
        # The employer: profile, then the posting, sent for review.
        await register(employer, new_email("employer"))
        await employer.goto("/careers/employer")
        await employer.get_by_label("Organisation name").fill("Flow Health")
        await employer.get_by_role("button", name="Create employer profile").click()
        await employer.get_by_role("link", name="Post a job").click()
        await employer.get_by_label("Job title").fill(title)
        await employer.get_by_label("Employment type").select_option("full_time")
        await employer.get_by_label("Experience level").select_option("mid")
        await employer.get_by_label("Remote").check()
        await employer.get_by_label("CPC").check()
        await employer.get_by_label("Cardiology").check()
        await employer.get_by_label("Lowest pay ($)").fill("60000")
        await employer.get_by_label("Highest pay ($)").fill("72000")
        await employer.get_by_label("Job description").fill("Code **cardiology** clinic visits.")
        await employer.get_by_role("button", name="Submit for review").click()
        await expect(employer.get_by_role("row", name=re.compile(title))).to_contain_text(
            re.compile("review", re.I)
        )

        # The admin approves it.
        admin_email = new_email("admin")
        await register(admin, admin_email)
        await Account.update({Account.role: "admin"}).where(Account.email == admin_email)
        await admin.goto("/careers/moderation")
        await admin.get_by_role("button", name=f"Approve {title}").click()
        await expect(admin.get_by_role("button", name=f"Approve {title}")).to_have_count(0)

        # The coder finds it with filters and applies with a resume.
        await register(coder, new_email("coder"))
        await coder.goto("/careers")
        await coder.get_by_label("Work mode").select_option("remote")
        await coder.get_by_label("Credential").select_option("CPC")
        await coder.get_by_label("Specialty").select_option("Cardiology")
        await expect(coder).to_have_url(re.compile(r"work_mode=remote.*credential=CPC"))
        await coder.get_by_role("link", name=title).click()
        await expect(coder.get_by_role("heading", level=1)).to_have_text(title)
        await coder.get_by_label("Resume").set_input_files(str(resume))
        await coder.get_by_label("Cover note").fill("Five years of cardiology coding, CPC.")
        await coder.get_by_role("button", name="Send application").click()
        await expect(coder.locator("#job-actions")).to_contain_text("New")

        # The employer sees the application and moves it to interview.
        await employer.goto("/careers/employer")
        await (
            employer.get_by_role("row", name=re.compile(title))
            .get_by_role("link", name=re.compile("applicant", re.I))
            .click()
        )
        await expect(employer.locator("body")).to_contain_text("Five years of cardiology coding")
        await employer.get_by_label("Status", exact=True).select_option("interview")
        await employer.get_by_role("button", name="Update").click()
        await expect(employer.locator("body")).to_contain_text("Interview")

        # The coder sees the new status.
        await coder.goto("/careers/my")
        await expect(coder.get_by_role("row", name=re.compile(title))).to_contain_text("Interview")
    finally:
        for ctx in contexts:
            await ctx.close()
