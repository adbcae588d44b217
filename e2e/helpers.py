"""Steps the browser tests share."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, expect

PASSWORD = "correct horse battery"


def new_email(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


async def register(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/account/register")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Register").click()
    await expect(page.locator("#site-header")).to_contain_text(email)


async def log_out(page: Page) -> None:
    await page.locator("details.account-menu summary").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_role("link", name="Log in").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()
