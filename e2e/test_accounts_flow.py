"""Accounts in a real browser: mail is captured over SMTP from the live server's worker."""

from __future__ import annotations

from playwright.async_api import Page, expect

from e2e.helpers import PASSWORD, log_in, log_out, new_email, register


async def test_register_verify_log_out_and_log_in(page: Page, mailbox) -> None:
    email = new_email()
    await register(page, email)
    await expect(
        page.get_by_role("status").filter(has_text="Confirm your email address")
    ).to_be_visible()

    mail = await mailbox.wait_for(email, "Confirm your email")
    await page.goto(mail.link("/account/verify/"))
    await expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
    await page.goto("/")
    await expect(page.get_by_text("Confirm your email address")).to_have_count(0)

    await log_out(page)
    await expect(page.locator("#site-header")).not_to_contain_text(email)
    await log_in(page, email)
    await expect(page.locator("#site-header")).to_contain_text(email)
    await expect(page.locator("#meter-badge")).to_have_text("5 code page views remaining")


async def test_wrong_password_shows_a_generic_message(page: Page) -> None:
    email = new_email()
    await register(page, email)
    await log_out(page)
    await log_in(page, email, "not the password 1")
    await expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    await expect(page.get_by_label("Email")).to_have_value(email)


async def test_password_reset_by_mail(page: Page, mailbox) -> None:
    email = new_email("reset")
    await register(page, email)
    await log_out(page)

    await page.goto("/account/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    mail = await mailbox.wait_for(email, "Reset your password")
    link = mail.link("/account/reset/")
    await page.goto(link)
    await page.get_by_label("New password").fill("a whole new passphrase")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_text("Your new password is set.")).to_be_visible()

    await log_out(page)
    await log_in(page, email, PASSWORD)
    await expect(page.get_by_role("alert")).to_contain_text("do not match")
    await page.get_by_label("Password", exact=True).fill("a whole new passphrase")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#site-header")).to_contain_text(email)

    await page.goto(link)  # the link works once
    await page.get_by_label("New password").fill("yet another passphrase")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("heading", name="Link not valid")).to_be_visible()
