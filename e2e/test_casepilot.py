"""CasePilot in a browser: asking from /casepilot (the answer streams in, its citations link to
code pages), asking from a code page, a guest meeting the daily limit, and the chat without
JavaScript."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from e2e.conftest import LiveServer, _address

pytestmark = pytest.mark.usefixtures("live_pilot_ready")

ANSWER = "li.msg--assistant:not(.msg--pending)"


@pytest.fixture(scope="module")
async def live_pilot_ready(search_ready, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """The live server loads its search index in the background: wait until it answers."""
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        while True:
            response = await http.get("/api/v1/search", params={"q": "pneumonia"})
            if response.status_code == 200:
                return
            assert time.monotonic() < deadline, response.text[-2000:]
            await asyncio.sleep(1)


async def test_ask_and_see_the_answer_stream_in_with_citations(page: Page) -> None:
    await page.goto("/casepilot")
    box = page.get_by_label("Your question")
    await box.fill("What is ICD-10-CM code E11.9?")
    await box.press("Control+Enter")
    await expect(page.locator("li.msg--user")).to_contain_text("What is ICD-10-CM code E11.9?")
    answer = page.locator(ANSWER).last
    await expect(answer).to_contain_text("Type 2 diabetes mellitus without complications")
    await expect(page).to_have_url(re.compile(r"/casepilot/c/[\w-]+$"))  # pushed: reload keeps it
    await expect(box).to_have_value("")
    await expect(box).to_be_focused()
    await expect(page.locator("#ask-quota")).to_have_text(re.compile("2 of 3 questions left"))
    await expect(page.locator("#conversation-list")).to_contain_text(
        "What is ICD-10-CM code E11.9?"
    )

    await answer.locator('a[href^="/codes/icd-10-cm/E11.9"]').first.click()
    await expect(page.locator("h1")).to_contain_text("E11.9")
    await page.go_back()
    await expect(page.locator(ANSWER).last).to_contain_text("Type 2 diabetes mellitus")


async def test_ask_from_a_code_page(page: Page) -> None:
    await page.goto("/codes/icd-10-cm/E11.9")
    ask = page.get_by_label("Your question about E11.9")
    await ask.fill("Is this code billable?")
    await ask.press("Enter")
    await expect(page).to_have_url(re.compile(r"/casepilot/c/[\w-]+#m-\d+$"))
    await expect(page.locator(".pilot-context").first).to_contain_text("ICD-10-CM E11.9")
    await expect(page.locator(ANSWER).last).to_contain_text("billable")


async def test_a_guest_meets_the_daily_limit(page: Page) -> None:
    await page.goto("/casepilot")
    await page.get_by_role("button", name="What is CPT code 99213?").click()
    await expect(page.locator(ANSWER)).to_have_count(1)
    for question in ("What is modifier RT?", "Is E11.9 billable?"):
        await page.get_by_label("Your question").fill(question)
        await page.get_by_role("button", name="Ask CasePilot").click()
        await expect(page.locator("li.msg--user").last).to_contain_text(question)
    await expect(page.locator(ANSWER)).to_have_count(3)
    await page.get_by_label("Your question").fill("What is ICD-10-CM code J18.9?")
    await page.get_by_role("button", name="Ask CasePilot").click()
    limit = page.locator("#ask-limit")
    await expect(limit).to_contain_text("You have asked the 3 questions a guest gets today")
    await expect(limit.get_by_role("link", name="Create a free account")).to_be_visible()
    await expect(page.locator("li.msg--user")).to_have_count(3)


async def test_the_chat_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        extra_http_headers={"X-Forwarded-For": _address()},
    )
    try:
        page = await context.new_page()
        await page.goto("/casepilot")
        await page.get_by_label("Your question").fill("Can 99213 be billed with 20610?")
        await page.get_by_role("button", name="Ask CasePilot").click()
        await expect(page).to_have_url(re.compile(r"/casepilot/c/[\w-]+#m-\d+$"))
        answer = page.locator(ANSWER).last
        await expect(answer).to_contain_text("99213")
        await expect(answer).to_contain_text("sample", ignore_case=True)
        await page.get_by_label("Your question").fill("")
        await page.get_by_role("button", name="Ask CasePilot").click()
        await expect(page.locator("#ask-error")).to_have_text("Type a question first.")
    finally:
        await context.close()
