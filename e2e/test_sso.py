"""Single sign-on in a real browser: "Continue with" → the provider's page (oidc-provider-mock,
which the live server is configured with) → back signed in, in every product at once → sign
out everywhere."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from e2e.helpers import log_out, new_email
from tests.support.oidc_mock import MockProvider

pytestmark = pytest.mark.usefixtures("icd10cm_loaded")


async def test_continue_with_signs_in_to_every_product_and_sign_out_ends_it(
    page: Page, oidc_provider: MockProvider
) -> None:
    sub, email = f"coder-{uuid.uuid4().hex[:8]}", new_email("sso")
    oidc_provider.set_user(sub, email=email, email_verified=True)
    # The provider's page asks a CDN for its style sheet: this machine has no way out.
    await page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())

    await page.goto("/account/login?next=/casepilot")
    await page.get_by_role("link", name="Continue with Mock ID").click()
    await expect(page).to_have_url(
        re.compile(re.escape(oidc_provider.issuer) + "/oauth2/authorize")
    )
    await page.get_by_placeholder("sub").fill(sub)
    await page.get_by_role("button", name="Authorize", exact=True).click()

    await expect(page).to_have_url(re.compile(r"/casepilot$"))
    await expect(page.locator("#site-header")).to_contain_text(email)
    for path, heading in (
        ("/codes/icd-10-cm/E11.9", "Type 2 diabetes mellitus without complications"),
        ("/casepilot", None),
        ("/careers", None),
    ):
        await page.goto(path)
        await expect(page.locator("#site-header")).to_contain_text(email)
        if heading:
            await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)

    await log_out(page)
    await page.goto("/casepilot")
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()
    await expect(page.locator("#site-header")).not_to_contain_text(email)
    await page.goto("/careers")
    await expect(page.locator("#site-header")).not_to_contain_text(email)


async def test_an_unverified_address_is_refused_with_a_clear_message(
    page: Page, oidc_provider: MockProvider
) -> None:
    sub, email = f"coder-{uuid.uuid4().hex[:8]}", new_email("unverified")
    oidc_provider.set_user(sub, email=email, email_verified=False)
    await page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())

    await page.goto("/account/register")
    await page.get_by_role("link", name="Continue with Mock ID").click()
    await page.get_by_placeholder("sub").fill(sub)
    await page.get_by_role("button", name="Authorize", exact=True).click()

    await expect(page.get_by_role("heading", name="Sign-in not completed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text(
        f"Mock ID has not confirmed that {email} is yours"
    )
    await expect(page.locator("#site-header")).not_to_contain_text(email)
