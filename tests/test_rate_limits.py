"""Rate limits: registering and asking for reset links (per address, and reset mail per email),
the log-in throttle's 429 with Retry-After, and the JSON API's limit; the counters they share
(Redis in the full mode, memory embedded) and their settings.

Every test pins the limits' clock, so its requests fall in one window whatever the time."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from portal import runtime
from portal.accounts.tables import Account
from portal.mail.tables import OutboxMessage
from portal.settings import Settings
from portal.web import limits, rate_limit
from portal.web.rate_limit import MemoryCounter, RedisCounter
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.jobs import runtime_settings

PASSWORD = "correct horse battery"
HX = {"HX-Request": "true"}
HOUR = 3600


@pytest.fixture(autouse=True)
def one_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The clock stands still 10 minutes into an hour (and into no particular minute)."""
    hour_start = rate_limit.now() // HOUR * HOUR
    pinned = hour_start + 600 + random.random()
    monkeypatch.setattr(rate_limit, "now", lambda: pinned)
    return pinned


def an_address() -> str:
    return f"172.16.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
async def visitor(app: Any, worker: Any) -> AsyncIterator[PortalClient]:
    async with PortalClient(app, address=an_address()) as c:
        yield c


def retry_after(response: Any) -> int:
    value = int(response.headers["retry-after"])
    assert value > 0
    return value


# --- register -----------------------------------------------------------------------------------


async def test_registering_is_limited_per_address(visitor: PortalClient, app: Any) -> None:
    limit = runtime.current().settings.security.register_per_address
    assert limit == 10
    for _ in range(limit):
        response = await visitor.register(unique_email())
        assert response.status_code == 303
        await visitor.submit("/account/logout")
    email = unique_email()
    blocked = await visitor.register(email)
    assert blocked.status_code == 429
    assert retry_after(blocked) == HOUR - 600  # the rest of the hour's window
    assert "Too many accounts registered from your network. Try again in 50 minutes." in text_of(
        blocked.text
    )
    assert 'name="email"' in blocked.text, "the form is still there, with the message"
    assert await Account.count().where(Account.email == email) == 0

    async with PortalClient(app, address=an_address()) as elsewhere:
        assert (await elsewhere.register(unique_email())).status_code == 303


async def test_the_gated_sections_register_block_answers_429_in_place(
    visitor: PortalClient,
) -> None:
    with runtime_settings(limited(register_per_address=1)):
        assert (await visitor.register(unique_email())).status_code == 303
        await visitor.submit("/account/logout")
        blocked = await visitor.submit(
            "/account/register",
            {"email": unique_email(), "password": PASSWORD, "inline": "1", "gate_id": "g"},
            headers=HX,
        )
    assert blocked.status_code == 429
    assert retry_after(blocked)
    assert "<html" not in blocked.text and "data-gate" in blocked.text
    assert "Too many accounts registered" in blocked.text


def limited(**security: int) -> Settings:
    settings = runtime.current().settings
    return replace(settings, security=replace(settings.security, **security))


# --- password reset requests --------------------------------------------------------------------


async def test_reset_requests_are_limited_per_address(visitor: PortalClient) -> None:
    limit = runtime.current().settings.security.reset_per_address
    assert limit == 10
    for _ in range(limit):
        response = await visitor.submit("/account/password-reset", {"email": unique_email()})
        assert response.status_code == 200 and "Check your inbox" in response.text
    blocked = await visitor.submit("/account/password-reset", {"email": unique_email()})
    assert blocked.status_code == 429
    assert retry_after(blocked) == HOUR - 600
    page = text_of(blocked.text)
    assert "Too many requests" in page
    assert "Too many password reset requests from your network. Try again in 50 minutes." in page


async def test_reset_mail_to_one_email_is_limited_without_telling(
    app: Any, worker: Any, mailbox: Any
) -> None:
    """From many addresses, one inbox gets at most `reset_per_email` mails an hour; the page
    says the same each time, so it tells nothing about the account."""
    email = unique_email()
    async with PortalClient(app) as owner:
        await owner.register(email)
    limit = runtime.current().settings.security.reset_per_email
    pages = []
    for _ in range(limit + 3):
        async with PortalClient(app, address=an_address()) as stranger:
            response = await stranger.submit("/account/password-reset", {"email": email})
            assert response.status_code == 200
            pages.append(text_of(response.text))
    assert len(set(pages)) == 1
    sent = await OutboxMessage.count().where(
        (OutboxMessage.to_addr == email) & (OutboxMessage.subject == "Reset your password")
    )
    assert sent == limit


async def test_a_malformed_reset_request_is_still_counted_and_still_a_422(
    visitor: PortalClient,
) -> None:
    with runtime_settings(limited(reset_per_address=1)):
        bad = await visitor.submit("/account/password-reset", {"email": "not an email"})
        assert bad.status_code == 422
        blocked = await visitor.submit("/account/password-reset", {"email": unique_email()})
    assert blocked.status_code == 429


# --- log-in ---------------------------------------------------------------------------------


async def test_a_throttled_log_in_is_429_with_retry_after(visitor: PortalClient) -> None:
    email = unique_email()
    await visitor.register(email)
    await visitor.submit("/account/logout")
    security = runtime.current().settings.security
    for _ in range(security.login_max_failures_per_account):
        await visitor.login(email, "bad password 000")
    blocked = await visitor.login(email)
    assert blocked.status_code == 429
    assert retry_after(blocked) == security.login_throttle_window_s
    assert "Wait 15 minutes" in text_of(blocked.text)
    inline = await visitor.submit(
        "/account/login",
        {"email": email, "password": PASSWORD, "inline": "1", "gate_id": "g"},
        headers=HX,
    )
    assert inline.status_code == 429 and retry_after(inline)
    assert "data-gate" in inline.text and "<html" not in inline.text


# --- the JSON API ---------------------------------------------------------------------------


async def test_the_api_is_limited_per_address_with_headers(app: Any, worker: Any) -> None:
    limit = runtime.current().settings.security.api_requests_per_minute
    async with PortalClient(app, address=an_address()) as api:
        for n in range(1, limit + 1):
            response = await api.get("/api/v1/search?q=")
            assert response.status_code != 429, n
            assert response.headers["ratelimit-limit"] == str(limit)
            assert response.headers["ratelimit-remaining"] == str(limit - n)
        blocked = await api.get("/api/v1/codes/icd-10-cm/E11.9")
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("application/json")
    assert blocked.json()["error"].startswith(f"Too many requests: {limit} a minute.")
    assert 0 < retry_after(blocked) <= 60
    assert blocked.headers["ratelimit-remaining"] == "0"
    async with PortalClient(app, address=an_address()) as other:
        assert (await other.get("/api/v1/search?q=")).status_code != 429


async def test_pages_outside_the_api_are_not_counted(app: Any, worker: Any) -> None:
    async with PortalClient(app, address=an_address()) as c:
        response = await c.get("/healthz")
    assert "ratelimit-limit" not in response.headers


# --- counters and settings ----------------------------------------------------------------------


async def test_the_memory_counter_counts_per_key_and_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = MemoryCounter()
    assert [await counter.hit("a") for _ in range(3)] == [1, 2, 3]
    assert await counter.hit("b") == 1
    assert await counter.hit("a", HOUR) == 1, "each window length counts on its own"
    later = rate_limit.now() + 60
    monkeypatch.setattr(rate_limit, "now", lambda: later)
    assert await counter.hit("a") == 1, "a new minute starts afresh"
    assert await counter.hit("a", HOUR) == 2, "the hour goes on"


async def test_the_redis_counter_is_shared_by_every_process(app: Any) -> None:
    settings = runtime.current().settings
    assert settings.redis.url
    first = RedisCounter(settings.redis.url, settings.redis.prefix)
    second = RedisCounter(settings.redis.url, settings.redis.prefix)  # another process
    key = f"test-{random.random()}"
    assert await first.hit(key, HOUR) == 1
    assert await second.hit(key, HOUR) == 2
    assert await second.hit(key) == 1, "the minute window is another count"
    for counter in (first, second):
        assert counter.client is not None
        await counter.client.aclose()


async def test_the_form_limits_use_redis_in_the_full_mode_and_memory_embedded(app: Any) -> None:
    settings = runtime.current().settings
    assert isinstance(limits.counter(settings), RedisCounter)
    embedded = replace(settings, redis=replace(settings.redis, url=None))
    assert isinstance(limits.counter(embedded), MemoryCounter)
    assert limits.counter(embedded) is limits.counter(embedded)


async def test_counter_keys_hold_no_address_or_email_in_clear(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    class Spy(MemoryCounter):
        async def hit(self, key: str, window_s: int = 60) -> int:
            seen.append(key)
            return await super().hit(key, window_s)

    monkeypatch.setattr(limits, "counter", lambda settings: Spy())
    await limits.check_register("192.0.2.7")
    await limits.reset_mail_allowed("someone@example.org")
    assert len(seen) == 2
    assert all("192.0.2" not in key and "example.org" not in key for key in seen), seen


async def test_a_limit_of_zero_turns_the_check_off(app: Any) -> None:
    with runtime_settings(limited(register_per_address=0)):
        for _ in range(3):
            await limits.check_register("192.0.2.99")


def test_the_limits_are_read_from_the_environment() -> None:
    env = {
        "SECRET_KEY": "k",
        "PORTAL_STATE_DIR": "/tmp",
        "REGISTER_LIMIT_PER_ADDRESS": "3",
        "RESET_LIMIT_PER_ADDRESS": "4",
        "RESET_LIMIT_PER_EMAIL": "2",
        "FORM_LIMIT_WINDOW_S": "600",
        "API_RATE_LIMIT": "30",
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "6",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "25",
        "LOGIN_THROTTLE_WINDOW_S": "300",
    }
    security = Settings.from_env(env).security
    assert (security.register_per_address, security.reset_per_address) == (3, 4)
    assert (security.reset_per_email, security.form_limit_window_s) == (2, 600)
    assert security.api_requests_per_minute == 30
    assert security.login_max_failures_per_account == 6
    assert security.login_max_failures_per_address == 25
    assert security.login_throttle_window_s == 300
    defaults = Settings.from_env({"SECRET_KEY": "k", "PORTAL_STATE_DIR": "/tmp"}).security
    assert (defaults.register_per_address, defaults.reset_per_address) == (10, 10)
    assert (defaults.reset_per_email, defaults.form_limit_window_s) == (5, 3600)
