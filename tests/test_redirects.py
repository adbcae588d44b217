"""The open-redirect guard: `safe_next` itself, and every place that takes a `next` (log-in and
register, as pages and as the gated section's inline forms with and without htmx, log-out, the
My codes forms) with every trick that points a browser off-site."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from portal.web.forms import safe_next
from tests.support.client import PortalClient, unique_email

PASSWORD = "correct horse battery"
HX = {"HX-Request": "true"}

OFF_SITE = [
    "//evil.example",
    "///evil.example",
    "//evil.example/account/settings",
    "https://evil.example",
    "https://evil.example/",
    "HTTPS://EVIL.EXAMPLE",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "%252F%252Fevil.example",
    "%5C%5Cevil.example",
    "evil.example",
    "@evil.example",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\r\nLocation: https://evil.example",
    "/\r\nSet-Cookie: stolen=1",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/" + "a" * 2001,
    "",
]

LOCAL = [
    "/",
    "/codes/icd-10-cm/E11.9",
    "/case2code?q=dm2%20with%20ckd&system=icd-10-cm",
    "/account/settings#password-title",
    "/%2F%2Fevil.example",  # an encoded slash is a path segment here, not an authority
]


def on_site(location: str) -> bool:
    """Whether a browser following `location` stays on this site."""
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not any(ord(ch) < 0x20 for ch in location)
    )


# --- safe_next ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_sends_anything_off_site_to_the_default(target: str) -> None:
    assert safe_next(target) == "/"
    assert safe_next(target, "/case2code/my") == "/case2code/my"


@pytest.mark.parametrize("target", LOCAL)
def test_safe_next_keeps_a_local_path_as_it_is(target: str) -> None:
    assert safe_next(target) == target
    assert on_site(target)


def test_safe_next_of_nothing_is_the_default() -> None:
    assert safe_next(None) == "/"
    assert safe_next("   ", "/x") == "/x"


# --- the places that take `next` ----------------------------------------------------------------


def hidden_next(html: str) -> list[str]:
    return re.findall(r'name="next" value="([^"]*)"', html)


async def test_the_login_and_register_pages_never_carry_an_off_site_next(
    client: PortalClient,
) -> None:
    for target in OFF_SITE:
        for page in ("/account/login", "/account/register"):
            response = await client.get(f"{page}?next={quote(target, safe='')}")
            assert response.status_code == 200, (page, target)
            assert hidden_next(response.text) == ["/"], (page, target)
            # The link to the other form carries the same, cleaned, value.
            links = re.findall(r'href="/account/(?:login|register)\?next=([^"]*)"', response.text)
            assert links and set(links) == {"/"}, (page, target, links)


async def test_log_in_lands_on_site_whatever_next_says(app: Any, worker: Any) -> None:
    email = unique_email()
    async with PortalClient(app) as c:
        await c.register(email)
        for target in OFF_SITE:
            await c.submit("/account/logout")
            response = await c.submit(
                "/account/login", {"email": email, "password": PASSWORD, "next": target}
            )
            assert response.status_code == 303, target
            assert response.headers["location"] == "/", target
        await c.submit("/account/logout")
        good = await c.submit(
            "/account/login", {"email": email, "password": PASSWORD, "next": "/codes/icd-10-cm"}
        )
        assert good.headers["location"] == "/codes/icd-10-cm"


@pytest.mark.parametrize(
    "target", ["//evil.example", "%2F%2Fevil.example", "/\r\nSet-Cookie: stolen=1", "/\\evil"]
)
async def test_register_lands_on_site_whatever_next_says(
    app: Any, worker: Any, target: str
) -> None:
    async with PortalClient(app) as c:
        response = await c.submit(
            "/account/register", {"email": unique_email(), "password": PASSWORD, "next": target}
        )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "stolen" not in str(response.headers)


async def test_log_out_lands_on_the_home_page(client: PortalClient) -> None:
    await client.register(unique_email())
    for target in ("//evil.example", "https://evil.example", "javascript:alert(1)"):
        response = await client.submit("/account/logout", {"next": target})
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        assert (await client.get(f"/account/logout?next={quote(target)}")).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "%2F%2Fevil.example"])
async def test_the_gated_sections_inline_forms_land_on_site(
    app: Any, worker: Any, target: str
) -> None:
    """The gated section's forms, without JavaScript (a redirect) and with htmx (a swap)."""
    async with PortalClient(app) as c:
        email = unique_email()
        plain = await c.submit(
            "/account/register",
            {"email": email, "password": PASSWORD, "next": target, "inline": "1", "gate_id": "g"},
        )
        assert plain.status_code == 303 and plain.headers["location"] == "/"
        await c.submit("/account/logout")
        swapped = await c.submit(
            "/account/login",
            {"email": email, "password": PASSWORD, "next": target, "inline": "1", "gate_id": "g"},
            headers=HX,
        )
        assert swapped.status_code == 200
        assert "location" not in swapped.headers and "hx-redirect" not in swapped.headers
        assert swapped.headers["hx-trigger"] == "portal:auth-changed"
        await c.submit("/account/logout")
        failed = await c.submit(
            "/account/login",
            {"email": email, "password": "wrong password 1", "next": target, "inline": "1"},
            headers=HX,
        )
        assert failed.status_code == 422
        assert set(hidden_next(failed.text)) == {"/"}, "the re-rendered block keeps no bad next"


@pytest.mark.parametrize("form", ["/case2code/my/star", "/case2code/my/note"])
async def test_my_codes_forms_send_a_guest_to_log_in_and_back_on_site(
    client: PortalClient, form: str
) -> None:
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        response = await client.submit(
            form, {"system": "icd-10-cm", "code": "E11.9", "next": target}
        )
        assert response.status_code == 303
        location = response.headers["location"]
        assert urlsplit(location).path == "/account/login"
        assert parse_qs(urlsplit(location).query)["next"] == ["/case2code/my"]
        htmx = await client.submit(
            form, {"system": "icd-10-cm", "code": "E11.9", "next": target}, headers=HX
        )
        assert htmx.status_code == 401
        assert parse_qs(urlsplit(htmx.headers["hx-redirect"]).query)["next"] == ["/case2code/my"]


async def test_my_codes_forms_send_an_account_back_on_site(client: PortalClient) -> None:
    await client.register(unique_email())
    for target in OFF_SITE[:12]:
        response = await client.submit("/case2code/my/recent/clear", {"next": target})
        assert response.status_code == 303, target
        assert response.headers["location"] == "/case2code/my", target
    kept = await client.submit("/case2code/my/recent/clear", {"next": "/case2code?q=e11"})
    assert kept.headers["location"] == "/case2code?q=e11"


async def test_the_log_in_redirect_of_a_page_that_needs_an_account_stays_on_site(
    client: PortalClient,
) -> None:
    response = await client.get("/account/settings/?x=https://evil.example")
    assert response.status_code == 303
    location = response.headers["location"]
    assert urlsplit(location).path == "/account/login"
    assert on_site(parse_qs(urlsplit(location).query)["next"][0])
