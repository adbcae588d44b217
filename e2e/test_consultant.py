"""CaseConsultant in a browser: a coder sends a case on the web and watches its status change,
a consultant edits and approves the draft, the coder reads the answer."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from e2e.conftest import LiveServer, _address
from e2e.helpers import new_email, register

pytestmark = pytest.mark.usefixtures("search_ready")

CASE = (
    "Patient: John Smith. 58 y/o M seen for essential hypertension and type 2 diabetes without "
    "complications. Denies chest pain."
)


async def test_send_watch_review_approve_and_read(
    browser: Browser, live_server: LiveServer
) -> None:
    from portal.accounts.tables import Account

    coder_ctx = await browser.new_context(
        base_url=live_server.url, extra_http_headers={"X-Forwarded-For": _address()}
    )
    expert_ctx = await browser.new_context(
        base_url=live_server.url, extra_http_headers={"X-Forwarded-For": _address()}
    )
    for ctx in (coder_ctx, expert_ctx):
        ctx.set_default_timeout(20_000)
    try:
        coder = await coder_ctx.new_page()
        await register(coder, new_email("coder"))
        await coder.goto("/consultant")
        await coder.get_by_label("Subject").fill("HTN and DM2 visit")
        await coder.get_by_label("Case").fill(CASE)
        await coder.get_by_role("button", name="Send consult").click()
        await expect(coder).to_have_url(re.compile(r"/consultant/[\w-]+\?sent=1$"))
        thread_url = coder.url.split("?")[0]
        await expect(coder.locator("#redactions")).to_contain_text("name")
        await expect(coder.locator(".consult-log")).not_to_contain_text("John Smith")
        # The page polls while the job runs, then shows the consult waiting for review.
        await expect(coder.locator("#consult-status")).to_contain_text("In review")

        expert_email = new_email("expert")
        expert = await expert_ctx.new_page()
        await register(expert, expert_email)
        await Account.update({Account.role: "consultant"}).where(Account.email == expert_email)
        await expert.goto("/consultant/review")
        await expert.get_by_role("link", name="HTN and DM2 visit").first.click()
        draft = expert.get_by_label("Answer")
        await expect(draft).to_have_value(re.compile("I10"))
        await draft.fill("Report **I10** and **E11.9**. Approved by the expert.")
        await expert.get_by_role("button", name="Approve and send").click()
        await expect(expert.locator("#review-done")).to_have_text("Answer approved and sent.")

        await coder.goto(thread_url)
        await expect(coder.locator("#consult-status")).to_contain_text("Answered")
        answer = coder.locator(".consult-log li").last
        await expect(answer).to_contain_text("Approved by the expert")
        await expect(answer.locator("strong").first).to_have_text("I10")
    finally:
        await coder_ctx.close()
        await expert_ctx.close()
