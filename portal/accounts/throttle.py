"""Log-in throttling: failures counted per account and per client address, in the shared store."""

from __future__ import annotations

import hashlib
import math

from portal import runtime
from portal.errors import Throttled


def _key(kind: str, value: str) -> str:
    # Keys are hashed so the store never holds an email or an address in clear.
    return f"login-fail:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


async def _count(key: str) -> int:
    raw = await runtime.current().kv.get(key)
    return int(raw) if raw else 0


async def check(email: str, address: str) -> None:
    sec = runtime.current().settings.security
    minutes = math.ceil(sec.login_throttle_window_s / 60)
    message = f"Too many failed log-in attempts. Wait {minutes} minutes, or reset your password."
    if await _count(_key("account", email)) >= sec.login_max_failures_per_account:
        raise Throttled(message, sec.login_throttle_window_s)
    if await _count(_key("address", address)) >= sec.login_max_failures_per_address:
        raise Throttled(message, sec.login_throttle_window_s)


async def record_failure(email: str, address: str) -> None:
    rt = runtime.current()
    window = rt.settings.security.login_throttle_window_s
    for key in (_key("account", email), _key("address", address)):
        await rt.kv.set(key, str(await _count(key) + 1), expires_in=window)


async def clear(email: str) -> None:
    await runtime.current().kv.delete(_key("account", email))
