"""Per-address limits on the account forms that cost a mail or an account: registering and asking
for a password reset link. Log-in has its own throttle on failures (portal/accounts/throttle.py)
and the JSON API its middleware (portal/web/rate_limit.py); these use the API's counters: Redis
in the full mode (every process shares a count), memory in the embedded mode.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from portal import runtime
from portal.errors import Throttled
from portal.settings import Settings
from portal.web.rate_limit import Counter, MemoryCounter, RedisCounter, seconds_left

_counters: dict[tuple[str | None, str], Counter] = {}


def counter(settings: Settings) -> Counter:
    """One counter per Redis (or per process, embedded), kept for the process's life."""
    key = (settings.redis.url, settings.redis.prefix)
    found = _counters.get(key)
    if found is None:
        url, prefix = key
        found = _counters[key] = RedisCounter(url, prefix) if url else MemoryCounter()
    return found


def _key(settings: Settings, kind: str, value: str) -> str:
    # Keyed, so the counter store never holds an address or an email in clear.
    secret = settings.security.secret_key.encode()
    digest = hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"form:{kind}:{digest}"


async def over_limit(kind: str, value: str, limit: int) -> int | None:
    """Count one attempt; past `limit` in the window, the seconds until it ends (else None).

    A limit of 0 or less turns the check off."""
    settings = runtime.current().settings
    if limit <= 0:
        return None
    window = settings.security.form_limit_window_s
    count = await counter(settings).hit(_key(settings, kind, value), window)
    return seconds_left(window) if count > limit else None


def _wait(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


async def check_register(address: str) -> None:
    limit = runtime.current().settings.security.register_per_address
    retry = await over_limit("register", address, limit)
    if retry is not None:
        raise Throttled(
            f"Too many accounts registered from your network. Try again in {_wait(retry)}.",
            retry,
        )


async def check_reset(address: str) -> None:
    limit = runtime.current().settings.security.reset_per_address
    retry = await over_limit("reset", address, limit)
    if retry is not None:
        raise Throttled(
            f"Too many password reset requests from your network. Try again in {_wait(retry)}.",
            retry,
        )


async def reset_mail_allowed(email: str) -> bool:
    """Whether this email may get another reset mail in the window. Past the limit the page says
    the same as ever (it must not tell whether the email has an account); no mail goes out, so
    requests from many addresses cannot flood one inbox."""
    limit = runtime.current().settings.security.reset_per_email
    return await over_limit("reset-email", email, limit) is None
