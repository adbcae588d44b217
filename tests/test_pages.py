"""Pages and htmx behaviour: the home page, gated sections, fragments, errors, headers."""

from __future__ import annotations

import re

from tests.support.client import PortalClient, unique_email

HX = {"HX-Request": "true"}


async def test_home_shows_the_four_products_and_the_meter(client: PortalClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    for product in ("Case2Code", "CasePilot", "CaseConsultant", "CareerCenter"):
        assert product in response.text
    assert 'id="meter-badge"' in response.text
    assert "1 code page view remaining" in response.text
    assert "/static/vendor/htmx-2.0.11.min.js" in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_each_product_page_opens_and_is_marked_in_the_nav(client: PortalClient) -> None:
    for path in ("/case2code", "/casepilot", "/consultant", "/careers"):
        response = await client.get(path)
        assert response.status_code == 200
        assert f'href="{path}" aria-current="page"' in response.text


async def test_guest_sees_the_public_part_then_meets_the_wall(app) -> None:
    async with PortalClient(app, headers={"x-forwarded-for": "198.51.100.1"}) as guest:
        first = await guest.get("/_test/metered/one")
        assert "Public description of one" in first.text
        assert "Secret notes" not in first.text, "gated sections need an account"
        assert first.text.count("Register to view content") == 2
        assert "0 code page views remaining" in first.text
        assert "portal_guest" in guest.cookies
        again = await guest.get("/_test/metered/one")
        assert "Public description of one" in again.text, "the same page within 24 h is free"
        wall = await guest.get("/_test/metered/two")
        assert wall.status_code == 200
        assert "Public description of two" not in wall.text
        assert "You have used your free code page view" in wall.text
        assert 'name="next" value="/_test/metered/two"' in wall.text
        # One set of forms (in the wall); each form carries the CSRF token for no-JS posts.
        assert wall.text.count('action="/account/register"') == 1
        assert wall.text.count('name="_csrf_token"') == 2

        # Clearing cookies keeps the quota: the address is the second key.
        guest.cookies.clear()
        assert "Public description" not in (await guest.get("/_test/metered/three")).text


async def test_inline_register_with_htmx_triggers_the_swap_and_content_appears(app) -> None:
    async with PortalClient(app) as guest:
        assert "Public description of a" in (await guest.get("/_test/metered/a")).text
        wall = await guest.get("/_test/metered/b")
        assert "You have used your free code page view" in wall.text
        response = await guest.submit(
            "/account/register",
            {
                "email": unique_email(),
                "password": "correct horse battery",
                "next": "/_test/metered/b",
                "inline": "1",
                "gate_id": "wall",
            },
            headers={**HX, "HX-Target": "gated-wall"},
        )
        assert response.status_code == 200
        assert response.headers["hx-trigger"] == "portal:auth-changed"
        # The page's listener then re-fetches the page (HX-Target is #main's refresher): full page.
        page = await guest.get("/_test/metered/b", headers={**HX, "HX-Target": "auth-refresh"})
        assert "Public description of b" in page.text
        assert "Secret notes for b" in page.text and "Secret fees for b" in page.text
        assert 'id="site-header"' in page.text
        assert "4 code page views remaining" in page.text


async def test_inline_form_errors_come_back_as_the_block_with_422(app) -> None:
    async with PortalClient(app) as guest:
        await guest.get("/_test/metered/c")
        await guest.get("/_test/metered/d")
        response = await guest.submit(
            "/account/login",
            {
                "email": "nobody@example.org",
                "password": "whatever 123",
                "next": "/_test/metered/d",
                "inline": "1",
                "gate_id": "fees",
            },
            headers=HX,
        )
        assert response.status_code == 422
        assert "do not match an account" in response.text
        assert "<html" not in response.text, "a fragment, not a page"
        assert "data-gate" in response.text
        assert 'id="fees-login-email"' in response.text


async def test_without_javascript_register_redirects_back_to_the_page(app) -> None:
    async with PortalClient(app) as guest:
        response = await guest.submit(
            "/account/register",
            {
                "email": unique_email(),
                "password": "correct horse battery",
                "next": "/_test/metered/e",
                "inline": "1",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/_test/metered/e"
        assert "Secret notes for e" in (await guest.get("/_test/metered/e")).text


async def test_next_never_redirects_off_site(app) -> None:
    for target in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        async with PortalClient(app) as c:
            response = await c.submit(
                "/account/register",
                {"email": unique_email(), "password": "correct horse battery", "next": target},
            )
            assert response.headers["location"] == "/", target


async def test_fragments_carry_the_meter_badge_out_of_band_and_history_restore_gets_the_page(
    client: PortalClient, app
) -> None:
    from portal.accounts.service import create_admin

    email = unique_email("admin")
    await create_admin(email, "admin password 123")
    await client.login(email, "admin password 123")
    fragment = await client.get("/admin/users?q=admin", headers={**HX, "HX-Target": "user-results"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'hx-swap-oob="true"' in fragment.text and 'id="meter-badge"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    restore = await client.get(
        "/admin/users?q=admin",
        headers={**HX, "HX-Target": "user-results", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


async def test_errors_are_pages_with_the_right_status_and_security_headers(
    client: PortalClient,
) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    for header in (
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ):
        assert header in missing.headers, header
    assert "script-src 'self'" in missing.headers["content-security-policy"]
    api = await client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["status"] == 404


async def test_output_is_escaped(client: PortalClient) -> None:
    response = await client.submit(
        "/account/register",
        {"email": "<script>alert(1)</script>@x.org", "password": "correct horse battery"},
    )
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_pages_work_at_small_widths_by_design(client: PortalClient) -> None:
    page = await client.get("/")
    assert re.search(
        r'<meta name="viewport" content="width=device-width, initial-scale=1">', page.text
    )
    css = await client.get("/static/css/portal.css")
    assert css.status_code == 200 and "@media (max-width: 40rem)" in css.text
