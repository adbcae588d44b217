"""Code pages in a browser: a guest's ICD-10-CM page, the wall on a second code, inline
registration unlocking the sections."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from e2e.helpers import PASSWORD, new_email

pytestmark = pytest.mark.usefixtures("icd10cm_loaded")

SECTIONS = ("notes", "hierarchy", "crosswalks", "drg", "history")


async def test_guest_page_wall_inline_register_and_sections_unlock(page: Page) -> None:
    await page.goto("/codes/icd-10-cm/E11.9")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Type 2 diabetes mellitus without complications"
    )
    await expect(page.get_by_role("heading", name="Official Description")).to_be_visible()
    await expect(page.get_by_role("heading", name="Common Language Description")).to_be_visible()
    await expect(
        page.get_by_text("E11.9 is a billable ICD-10-CM code for type 2 diabetes")
    ).to_be_visible()
    for section in SECTIONS:
        await expect(page.locator(f"#gated-{section}")).to_contain_text("Register to view content")

    await page.goto("/codes/icd-10-cm/S93.402A")
    wall = page.locator("#gated-wall")
    await expect(wall).to_contain_text("You have used your free code page view")
    await expect(page.get_by_role("heading", name="Common Language Description")).to_have_count(0)

    await page.evaluate("window.__noReload = 1")
    form = wall.locator("form[action='/account/register']")
    await form.get_by_label("Email").fill(new_email("coder"))
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Register").click()

    await expect(page.get_by_text("Its 7th character “A” means initial encounter.")).to_be_visible()
    await expect(page.locator("#gated-notes")).to_contain_text("7th characters (defined at S93)")
    await expect(page.locator("#gated-hierarchy")).to_contain_text("Choose the 7th character")
    for section in SECTIONS:
        await expect(page.locator(f"#gated-{section}")).not_to_contain_text(
            "Register to view content"
        )
    await expect(page.locator("#meter-badge")).to_have_text("4 code page views remaining")
    assert await page.evaluate("window.__noReload") == 1


async def test_the_seventh_character_picker_leads_to_the_billable_code(page: Page) -> None:
    await page.goto("/account/register")
    await page.get_by_label("Email").fill(new_email("picker"))
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Register").click()
    await page.goto("/codes/icd-10-cm/S93.402")
    await expect(page.get_by_text("Not billable: needs a 7th character")).to_be_visible()
    await (
        page.locator("#gated-hierarchy")
        .get_by_role("link", name="S93.402D subsequent encounter")
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_contain_text("S93.402D")
    await expect(page.get_by_text("Billable", exact=True)).to_be_visible()


async def test_unknown_and_malformed_codes(page: Page) -> None:
    response = await page.goto("/codes/icd-10-cm/E11.99")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Nearest existing codes")).to_be_visible()
    response = await page.goto("/codes/icd-10-cm/not-a-code")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("alert")).to_contain_text("is not an ICD-10-CM code")


@pytest.mark.usefixtures("catalog_loaded")
async def test_hcpcs_pcs_and_cpt_pages_render_their_sections(page: Page) -> None:
    from portal.accounts.tables import Account

    email = new_email("pro")
    await page.goto("/account/register")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Register").click()
    await expect(page.locator("#site-header")).to_contain_text(email)
    await Account.update({Account.plan: "pro"}).where(Account.email == email)

    expected = {
        "/codes/hcpcs/J1100": ("coverage", "modifiers", "edits", "fees", "history"),
        "/codes/icd-10-pcs/0DTJ4ZZ": ("axes", "operation", "crosswalk", "related", "history"),
        "/codes/cpt/99213": ("payment", "edits", "indicators", "global", "related"),
    }
    for url, sections in expected.items():
        await page.goto(url)
        await expect(page.get_by_role("heading", name="Official Description")).to_be_visible()
        for section in sections:
            block = page.locator(f"#gated-{section}")
            await expect(block).to_be_visible()
            await expect(block).not_to_contain_text("Register to view content")
            await expect(block.locator(".source")).to_contain_text("Source:")
    await page.goto("/codes/cpt/99213")
    await expect(page.locator("#gated-payment")).to_contain_text("$88.95")
    await expect(page.locator("#gated-edits")).to_contain_text("Sample data, not CMS NCCI files")
    await page.goto("/codes/icd-10-pcs/0DTJ4ZZ")
    await expect(page.locator("#gated-axes")).to_contain_text("Resection")
