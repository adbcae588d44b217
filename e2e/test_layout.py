"""The layout in a browser: narrow screens, keyboard use, and the header's parts."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def test_home_fits_a_360px_screen(page: Page) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", "/account/register", "/_test/metered/narrow"):
        await page.goto(path)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"


async def test_keyboard_reaches_the_skip_link_and_main(page: Page) -> None:
    await page.goto("/")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await page.keyboard.press("Enter")
    assert page.url.endswith("#main")


async def test_header_has_products_search_and_meter(page: Page) -> None:
    await page.goto("/")
    nav = page.get_by_role("navigation", name="Products")
    for product in ("Case2Code", "CasePilot", "CaseConsultant", "CareerCenter"):
        await expect(nav.get_by_role("link", name=product)).to_be_visible()
    await expect(page.get_by_role("searchbox", name="Search codes")).to_be_visible()
    await expect(page.locator("#meter-badge")).to_have_text("1 code page view remaining")


async def test_no_console_errors_or_csp_violations(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto("/")
    await page.goto("/account/login")
    await page.wait_for_load_state("networkidle")
    assert errors == []
