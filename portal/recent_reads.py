"""Rows a process read a moment ago, kept for a few seconds: the one way the portal caches
per-request reads of mutable data (the signed-in account, a reader's stars and notes).

Each process holds its own (on the Runtime, so a test's second database is not served from the
first one's). A writer calls forget() after its write, so the writing process sees the change at
once; other processes see it within `ttl_s`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class RecentReads:
    MAX_ENTRIES = 10_000  # then it starts afresh: a bound, not a policy

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.entries: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The value read for `key` less than `ttl_s` ago, or `load()`'s (kept for next time)."""
        now = time.monotonic()
        hit = self.entries.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = await load()
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[key] = (now, value)
        return value

    def forget(self, key: Hashable) -> None:
        self.entries.pop(key, None)
