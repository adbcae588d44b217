"""Case2Code search in a browser: active search as you type, the keyboard, back and reload, the
no-JavaScript form, and starring a code into My codes."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from e2e.conftest import LiveServer, _address
from e2e.helpers import new_email, register

pytestmark = pytest.mark.usefixtures("live_search_ready")

RESULTS = "#search-results [data-result-link]"


@pytest.fixture(scope="module")
async def live_search_ready(search_ready, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """The live server loads its search index in the background (and again once it notices
    the catalog this run imported): wait for it here, not inside a test's 10-second
    expectations."""
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        while True:
            response = await http.get("/case2code", params={"q": "e11.9"})
            if 'href="/codes/icd-10-cm/E11.9" data-result-link' in response.text:
                return
            assert time.monotonic() < deadline, response.text[-2000:]
            await asyncio.sleep(1)


async def test_active_search_keyboard_back_and_reload(page: Page) -> None:
    await page.goto("/case2code")
    await page.evaluate("window.__noReload = 1")
    query = page.locator("#search-q")
    results = page.locator(RESULTS)

    await query.press_sequentially("e11.9", delay=40)
    await expect(results.first).to_have_attribute("href", "/codes/icd-10-cm/E11.9")
    # Only what the search uses is in the address (empty filters are left out).
    await expect(page).to_have_url(re.compile(r"/case2code\?q=e11\.9$"))
    await expect(page.locator("#search-status")).to_contain_text("for “e11.9”")

    await query.select_text()
    await query.press_sequentially("type 2 diabetes", delay=40)
    await expect(page.locator("#search-status")).to_contain_text("for “type 2 diabetes”")
    await expect(page).to_have_url(re.compile(r"\?q=type(%20|\+)2(%20|\+)diabetes"))
    await expect(results.first).to_have_attribute("href", re.compile(r"^/codes/icd-10-cm/E11"))
    await expect(page.locator("#search-results mark").first).to_be_visible()
    assert await page.evaluate("window.__noReload") == 1  # no page load so far

    # Back within the search: htmx restores the earlier results and their query.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"\?q=e11\.9"))
    await expect(results.first).to_have_attribute("href", "/codes/icd-10-cm/E11.9")
    await expect(query).to_have_value("e11.9")
    await page.go_forward()
    await expect(page.locator("#search-status")).to_contain_text("for “type 2 diabetes”")

    # The keyboard: into the results, between them, back to the input, then open one.
    await query.focus()
    await page.keyboard.press("ArrowDown")
    await expect(results.nth(0)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(results.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await expect(results.nth(0)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(query).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    second = await results.nth(1).get_attribute("href")
    assert second and second.startswith("/codes/icd-10-cm/")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(re.escape(second) + "$"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(second.rsplit("/", 1)[1])

    # Back to the results, then a reload: the URL is the search, so both keep them.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"\?q=type(%20|\+)2(%20|\+)diabetes"))
    await expect(results.nth(1)).to_have_attribute("href", second)
    await page.reload()
    await expect(query).to_have_value("type 2 diabetes")
    await expect(results.nth(1)).to_have_attribute("href", second)
    await expect(page.locator("#search-status")).to_contain_text("for “type 2 diabetes”")


async def test_filters_apply_as_they_change(page: Page) -> None:
    await page.goto("/case2code?q=fracture")
    await page.evaluate("window.__noReload = 1")
    await page.get_by_label("ICD-10-CM chapter").select_option("19")
    await expect(page).to_have_url(re.compile(r"chapter=19"))
    await page.get_by_label("Billable codes only").check()
    await expect(page).to_have_url(re.compile(r"billable=1"))
    await expect(page.locator(RESULTS).first).to_be_visible()
    hrefs = await page.locator(RESULTS).evaluate_all("links => links.map(a => a.pathname)")
    assert hrefs and all(re.match(r"/codes/icd-10-cm/[ST]", h) for h in hrefs), hrefs
    await expect(page.locator("#search-results")).not_to_contain_text("Not billable")
    assert await page.evaluate("window.__noReload") == 1


async def test_without_javascript_the_form_submits(
    browser: Browser, live_server: LiveServer
) -> None:
    context = await browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        extra_http_headers={"X-Forwarded-For": _address()},
    )
    context.set_default_timeout(10_000)
    try:
        page = await context.new_page()
        await page.goto("/case2code")
        await page.locator("#search-q").fill("pnuemonia")
        await page.get_by_label("Code set").first.select_option("icd-10-cm")
        await page.get_by_label("Billable codes only").check()
        await page.locator("#search-form button[type=submit]").click()
        await expect(page).to_have_url(
            re.compile(r"q=pnuemonia&system=icd-10-cm&chapter=&billable=1")
        )
        await expect(page.locator(RESULTS).first).to_be_visible()
        await expect(page.locator("#search-results")).to_contain_text(
            "Showing results for pneumonia"
        )
        await expect(page.locator("#search-q")).to_have_value("pnuemonia")
        # The header's search box is a plain GET too.
        await page.locator("#header-q").fill("E11.9")
        await page.locator("#header-q").press("Enter")
        await expect(page).to_have_url(re.compile(r"/case2code\?q=E11\.9$"))
        await expect(page.locator(RESULTS).first).to_have_attribute(
            "href", "/codes/icd-10-cm/E11.9"
        )
    finally:
        await context.close()


async def test_star_a_code_and_find_it_in_my_codes(page: Page) -> None:
    await register(page, new_email("star"))
    await page.goto("/case2code?q=e11.9")
    await page.evaluate("window.__noReload = 1")
    star = page.get_by_role("button", name="Star E11.9")
    await expect(star).to_have_attribute("aria-pressed", "false")
    await star.click()
    await expect(page.get_by_role("button", name="Star E11.9")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert await page.evaluate("window.__noReload") == 1  # swapped in place

    await page.locator("details.account-menu summary").click()
    await page.get_by_role("link", name="My codes").click()
    await expect(page.get_by_role("heading", name="Starred codes (1)")).to_be_visible()
    await expect(page.locator(".my-codes")).to_contain_text(
        "E11.9 Type 2 diabetes mellitus without complications"
    )
    await expect(page.locator("#recent-searches")).to_contain_text("e11.9")

    note = page.get_by_label("My private note on E11.9")
    await note.fill("Check the A1c <b>before</b> coding")
    await page.get_by_role("button", name="Save note").click()
    await expect(page.get_by_text("Saved.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("My private note on E11.9")).to_have_value(
        "Check the A1c <b>before</b> coding"
    )
    # The code page shows the star on and the note.
    await page.goto("/codes/icd-10-cm/E11.9")
    await expect(page.get_by_role("button", name="Star E11.9")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.get_by_label("My private note on E11.9")).to_have_value(
        "Check the A1c <b>before</b> coding"
    )


async def test_header_search_suggests_as_you_type_and_the_keyboard_opens_one(page: Page) -> None:
    await page.goto("/")
    box = page.locator("#header-q")
    await box.press_sequentially("copd", delay=40)
    suggestions = page.locator("#header-suggest [data-result-link]")
    await expect(suggestions.first).to_have_attribute("href", "/codes/icd-10-cm/J44.9")
    await expect(page.locator("#header-suggest mark").first).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/$"))  # suggestions do not navigate
    await box.press("ArrowDown")
    await expect(suggestions.first).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(suggestions.nth(1)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(box).to_be_focused()
    await box.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/codes/icd-10-cm/J44\.9$"))
    # Enter in the box itself runs the full search.
    await page.locator("#header-q").fill("asthma")
    await page.locator("#header-q").press("Enter")
    await expect(page).to_have_url(re.compile(r"/case2code\?q=asthma"))
    await expect(page.locator(RESULTS).first).to_be_visible()
