"""Case to code in a browser: the character counter, the example note, the htmx answer (and its
400 message) swapped in place with focus on it, the keyboard, and the form without JavaScript."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from e2e.conftest import LiveServer, _address

pytestmark = pytest.mark.usefixtures("live_case_ready")


@pytest.fixture(scope="module")
async def live_case_ready(search_ready, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """The live server loads its search index in the background: wait until it answers with
    codes, not inside a test's 10-second expectations."""
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        await http.get("/case2code/case")
        token = http.cookies["csrftoken"]
        while True:
            response = await http.post(
                "/case2code/case", data={"note": "HTN", "_csrf_token": token}
            )
            if 'href="/codes/icd-10-cm/I10"' in response.text:
                return
            assert time.monotonic() < deadline, response.text[-2000:]
            await asyncio.sleep(1)


async def test_example_note_counter_and_results_in_place(page: Page) -> None:
    await page.goto("/case2code/case")
    await page.evaluate("window.__noReload = 1")
    note = page.get_by_label("Clinical note")
    count = page.locator("#case-note-count")
    await expect(count).to_have_text("0 / 5,000 characters")

    await page.get_by_role("link", name="Use an example note").click()
    await expect(note).to_have_value(re.compile(r"^58 y/o M with HTN"))
    await expect(note).to_be_focused()
    length = await note.evaluate("el => el.value.length")
    await expect(count).to_have_text(f"{length} / 5,000 characters")

    # The keyboard alone: Tab to the code set, on to the button, Enter.
    await note.press("Tab")
    await expect(page.get_by_label("Code set")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Find codes")).to_be_focused()
    await page.keyboard.press("Enter")

    results = page.locator("#case-results")
    await expect(results.get_by_role("link", name="I10")).to_be_visible()
    await expect(results).to_contain_text("E11.22")
    await expect(results).to_contain_text("not coded: negated")
    await expect(results.locator("mark", has_text="Denies chest pain")).to_be_visible()
    await expect(page.get_by_role("heading", name="Candidate codes")).to_be_focused()
    assert await page.evaluate("window.__noReload") == 1  # swapped in place
    await expect(page.locator("#toast")).to_be_hidden()


async def test_the_limit_and_an_empty_note_show_their_messages(page: Page) -> None:
    await page.goto("/case2code/case")
    await page.evaluate("window.__noReload = 1")
    note = page.get_by_label("Clinical note")
    await note.fill("x" * 5_001)
    count = page.locator("#case-note-count")
    await expect(count).to_have_text("5,001 / 5,000 characters: 1 over the limit")
    await expect(count).to_have_class(re.compile("char-count--over"))
    await expect(note).to_have_attribute("aria-invalid", "true")

    await page.get_by_role("button", name="Find codes").click()
    alert = page.locator("#case-results [role=alert]")
    await expect(alert).to_contain_text("The note has 5,001 characters; the limit is 5,000")
    await expect(note).to_have_value("x" * 5_001)  # kept for the coder to shorten

    await note.fill("   ")  # passes `required`, but there is nothing to read
    await expect(count).to_have_text("3 / 5,000 characters")
    await expect(note).not_to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Find codes").click()
    await expect(alert).to_contain_text("the note is empty")
    await expect(page.locator("#toast")).to_be_hidden()  # a message, not an error toast
    assert await page.evaluate("window.__noReload") == 1


async def test_without_javascript_the_form_posts(browser: Browser, live_server: LiveServer) -> None:
    context = await browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        extra_http_headers={"X-Forwarded-For": _address()},
    )
    try:
        page = await context.new_page()
        await page.goto("/case2code/case")
        await page.get_by_role("link", name="Use an example note").click()
        await expect(page).to_have_url(re.compile(r"/case2code/case\?example=1$"))
        await expect(page.get_by_label("Clinical note")).to_have_value(re.compile("^58 y/o"))
        await page.get_by_role("button", name="Find codes").click()
        await expect(page).to_have_url(re.compile(r"/case2code/case$"))
        await expect(page.locator("#case-results")).to_contain_text("I10")
        await expect(page.get_by_label("Clinical note")).to_have_value(re.compile("^58 y/o"))
    finally:
        await context.close()
