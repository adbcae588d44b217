"""The metering wall: a guest's free view (public part, sections locked), then the wall, an
inline registration and the content swapped in without reloading the page."""

from __future__ import annotations

from playwright.async_api import Page, expect

from e2e.helpers import PASSWORD, new_email


async def test_guest_meets_the_wall_registers_inline_and_the_content_swaps_in(page: Page) -> None:
    await page.goto("/_test/metered/first")
    await expect(page.locator("#public-part")).to_be_visible()
    await expect(page.locator("#gated-notes")).to_contain_text("Register to view content")
    await expect(page.locator("#secret-notes")).to_have_count(0)
    await expect(page.locator("#meter-badge")).to_have_text("0 code page views remaining")

    await page.goto("/_test/metered/second")
    wall = page.locator("#gated-wall")
    await expect(wall).to_contain_text("You have used your free code page view")
    await expect(page.locator("#public-part")).to_have_count(0)

    # A marker that a full page load would wipe out.
    await page.evaluate("window.__noReload = 'still here'")
    email = new_email("gate")
    form = wall.locator("form[action='/account/register']")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Register").click()

    await expect(page.locator("#public-part")).to_have_text("Public description of second.")
    await expect(page.locator("#secret-notes")).to_have_text("Secret notes for second.")
    await expect(page.locator("#secret-fees")).to_have_text("Secret fees for second.")
    await expect(page.locator("#site-header")).to_contain_text(email)
    await expect(page.locator("#meter-badge")).to_have_text("4 code page views remaining")
    assert await page.evaluate("window.__noReload") == "still here"
    assert page.url.endswith("/_test/metered/second")


async def test_inline_log_in_with_a_wrong_password_shows_the_error_in_place(page: Page) -> None:
    await page.goto("/_test/metered/third")
    await page.goto("/_test/metered/fourth")
    wall = page.locator("#gated-wall")
    await wall.get_by_text("Already have an account? Log in").click()
    form = wall.locator("form[action='/account/login']")
    await form.get_by_label("Email").fill(new_email("nobody"))
    await form.get_by_label("Password").fill("wrong password 1")
    await form.get_by_role("button", name="Log in").click()
    await expect(wall.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    await expect(page.locator("#gated-notes")).to_contain_text("Register to view content")


async def test_without_javascript_the_wall_form_posts_and_returns_to_the_page(
    browser, live_server
) -> None:
    ctx = await browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        extra_http_headers={"X-Forwarded-For": "198.18.0.7"},
    )
    try:
        page = await ctx.new_page()
        await page.goto("/_test/metered/nojs-1")
        await page.goto("/_test/metered/nojs-2")
        form = page.locator("#gated-wall form[action='/account/register']")
        await form.get_by_label("Email").fill(new_email("nojs"))
        await form.get_by_label("Password").fill(PASSWORD)
        await form.get_by_role("button", name="Register").click()
        await expect(page.locator("#secret-notes")).to_have_text("Secret notes for nojs-2.")
        assert page.url.endswith("/_test/metered/nojs-2")
    finally:
        await ctx.close()
