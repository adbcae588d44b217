"""Security headers on every kind of response (a page, an htmx fragment, 404 and 500 pages, a
static file, the JSON API and its 429), the CSP itself, HSTS only behind https, and the flags of
every cookie the portal sets: over http, and from an app built with an https BASE_URL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from litestar import get

from portal import runtime
from portal.settings import Settings
from portal.web import rate_limit
from portal.web.middleware import CSP, security_headers
from tests.support.client import PortalClient, unique_email
from tests.support.jobs import runtime_settings

HX = {"HX-Request": "true"}

# Every header, with its exact value (the CSP is checked directive by directive below).
EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def assert_security_headers(response: httpx.Response, *, https: bool = False) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    for header, value in EXPECTED.items():
        assert response.headers.get(header) == value, (where, header)
        assert len(response.headers.get_list(header)) == 1, (where, header, "sent twice")
    if https:
        assert response.headers.get("strict-transport-security") == HSTS, where
    else:
        assert "strict-transport-security" not in response.headers, (where, "HSTS over http")


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = values
    return directives


@get("/_test/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("a bug the page must not show")


@pytest.fixture(scope="module")
def boom_route(app: Any) -> None:
    """A route that fails, for the 500 page (mounted once on the session's app)."""
    if not any(route.path == "/_test/boom" for route in app.routes):
        app.register(boom)


# --- every kind of response --------------------------------------------------------------------


async def test_a_page_has_every_header(client: PortalClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "<html" in page.text
    assert_security_headers(page)


async def test_an_htmx_fragment_has_every_header(client: PortalClient) -> None:
    fragment = await client.get("/case2code/suggest?q=", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert_security_headers(fragment)


async def test_a_404_page_has_every_header(client: PortalClient) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "<html" in missing.text
    assert_security_headers(missing)


async def test_a_500_page_has_every_header_and_no_traceback(
    client: PortalClient, boom_route: None
) -> None:
    failed = await client.get("/_test/boom")
    assert failed.status_code == 500
    assert "Something went wrong" in failed.text
    assert "a bug the page must not show" not in failed.text and "Traceback" not in failed.text
    assert_security_headers(failed)


async def test_a_static_file_has_every_header(client: PortalClient) -> None:
    script = await client.get("/static/js/portal.js")
    assert script.status_code == 200
    assert_security_headers(script)


async def test_the_json_api_has_every_header(client: PortalClient) -> None:
    for path in ("/api/v1/search?q=", "/api/v1/codes/no-such-system/x", "/api/v1/nothing"):
        response = await client.get(path)
        assert response.status_code in (400, 404), path
        assert response.headers["content-type"].startswith("application/json"), path
        assert_security_headers(response)


async def test_the_apis_429_has_every_header(
    app: Any, monkeypatch: pytest.MonkeyPatch, worker: Any
) -> None:
    start = rate_limit.now()
    monkeypatch.setattr(rate_limit, "now", lambda: start)  # one window throughout
    per_minute = runtime.current().settings.security.api_requests_per_minute
    async with PortalClient(app) as api:
        for _ in range(per_minute):
            await api.get("/api/v1/search?q=")
        limited = await api.get("/api/v1/search?q=")
    assert limited.status_code == 429
    assert_security_headers(limited)


async def test_a_redirect_and_a_post_have_every_header(client: PortalClient) -> None:
    redirect = await client.get("/account/settings")  # a guest: 303 to log in
    assert redirect.status_code == 303
    assert_security_headers(redirect)
    posted = await client.register(unique_email())
    assert posted.status_code == 303
    assert_security_headers(posted)


# --- the policy itself --------------------------------------------------------------------------


def test_the_csp_allows_only_the_portals_own_scripts_and_no_framing() -> None:
    policy = csp_directives(CSP)
    assert policy["script-src"] == ["'self'"], "no inline script, no eval, no other origin"
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert "*" not in CSP and "http:" not in CSP and "https:" not in CSP


async def test_pages_need_no_inline_script_the_csp_would_block(client: PortalClient) -> None:
    email = unique_email()
    await client.register(email)
    for path in ("/", "/account/settings", "/case2code", "/_test/metered/csp"):
        html = (await client.get(path)).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert not re.findall(r"<script\b[^>]*>\s*[^<\s]", html), (path, "a script's body")
        assert not re.search(r"\son[a-z]+\s*=", html), (path, "inline event handler")
        assert "javascript:" not in html, path


def test_the_hook_adds_hsts_only_when_served_over_https() -> None:
    plain = dict(security_headers(False))
    secure = dict(security_headers(True))
    assert b"strict-transport-security" not in plain
    assert secure[b"strict-transport-security"] == HSTS.encode()
    assert {k: v for k, v in secure.items() if k != b"strict-transport-security"} == plain


def test_secure_cookies_follow_the_base_url() -> None:
    env = {"SECRET_KEY": "k", "PORTAL_STATE_DIR": "/tmp"}
    assert Settings.from_env({**env, "BASE_URL": "https://portal.example"}).secure_cookies
    assert not Settings.from_env({**env, "BASE_URL": "http://portal.example"}).secure_cookies


# --- cookies ------------------------------------------------------------------------------------


def cookie_flags(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """Set-Cookie headers by cookie name: attribute (lower case) -> value, or True."""
    cookies: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name = first.split("=", 1)[0]
        flags: dict[str, str | bool] = {}
        for attribute in attributes:
            key, eq, value = attribute.partition("=")
            flags[key.lower()] = value.lower() if eq else True
        cookies[name] = flags
    return cookies


def assert_cookie(flags: dict[str, str | bool], *, https: bool, httponly: bool = True) -> None:
    assert flags.get("samesite") == "lax", flags
    assert flags.get("path") == "/", flags
    assert bool(flags.get("httponly")) is httponly, flags
    assert bool(flags.get("secure")) is https, flags


async def collect_cookies(c: PortalClient) -> dict[str, dict[str, str | bool]]:
    """Visit as a guest (guest and CSRF cookies), then register (the session cookie)."""
    found = cookie_flags(await c.get("/_test/metered/cookies"))
    found.update(cookie_flags(await c.register(unique_email())))
    return found


async def test_cookie_flags_over_http(app: Any, worker: Any) -> None:
    async with PortalClient(app) as c:
        cookies = await collect_cookies(c)
    assert_cookie(cookies["portal_session"], https=False)
    assert_cookie(cookies["portal_guest"], https=False)
    # portal.js reads the CSRF cookie to send it as x-csrftoken on htmx requests: it cannot be
    # HttpOnly (it is no secret from the page; SameSite and the token's signature do the work).
    assert_cookie(cookies["csrftoken"], https=False, httponly=False)


@pytest.fixture(scope="module")
def https_settings(app: Any) -> Settings:
    settings = runtime.current().settings
    return replace(settings, base_url="https://portal.example")


@pytest.fixture(scope="module")
async def https_app(app: Any, https_settings: Settings) -> AsyncIterator[Any]:
    """The portal built as it is behind https (sharing the session app's database and Redis)."""
    from portal.app import create_app
    from portal.core import core
    from tests.support.metered_page import feature as metered_page

    secure = create_app(https_settings, [core, metered_page])
    secure.state.runtime = runtime.current()  # its start-up hook would start a second one
    yield secure
    store = secure.stores.get("sessions")
    await getattr(store, "_redis").aclose()


@pytest.fixture
def https_runtime(https_settings: Settings) -> Iterator[Settings]:
    with runtime_settings(https_settings) as settings:
        yield settings


async def test_https_adds_hsts_on_pages_errors_static_and_the_api(
    https_app: Any, https_runtime: Settings
) -> None:
    async with PortalClient(https_app) as c:
        c.base_url = httpx.URL("https://testserver")
        for path in ("/", "/no/such/page", "/static/css/portal.css", "/healthz"):
            response = await c.get(path)
            assert response.status_code in (200, 404), path
            assert_security_headers(response, https=True)


async def test_cookie_flags_over_https(https_app: Any, https_runtime: Settings) -> None:
    async with PortalClient(https_app) as c:
        c.base_url = httpx.URL("https://testserver")
        cookies = await collect_cookies(c)
        assert_cookie(cookies["portal_session"], https=True)
        assert_cookie(cookies["portal_guest"], https=True)
        assert_cookie(cookies["csrftoken"], https=True, httponly=False)
        # Signing out clears the session cookie with the same flags.
        await c.get("/account/logout")
        out = cookie_flags(await c.submit("/account/logout"))
        assert_cookie(out["portal_session"], https=True)
