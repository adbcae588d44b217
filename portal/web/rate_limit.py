"""A fixed-window request limit per client address for the JSON API.

Litestar's RateLimitMiddleware keeps a serialised history per client in a store: a read and a
write of a JSON document per request, which cost the search API most of its throughput. Here a
request is one increment: a dict entry in the embedded mode, one pipelined INCR/EXPIRE in Redis
in the full mode (so every process shares the count). The same counters serve the per-address
limits of the account forms (portal/web/limits.py), over windows of their own.

A fixed window lets a client send up to twice the limit across a window's boundary: accepted
for its cost of one increment a request.
"""

from __future__ import annotations

import json
import time
from typing import Protocol

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

WINDOW_S = 60


def now() -> float:
    """The clock of every window (tests pin it, so no count is split across a boundary)."""
    return time.time()


def seconds_left(window_s: int = WINDOW_S) -> int:
    """Seconds until the current window ends: what Retry-After says."""
    return window_s - int(now()) % window_s


class Counter(Protocol):
    async def hit(self, key: str, window_s: int = WINDOW_S) -> int:
        """Count one request under `key` in the current window and return the count."""
        ...


class MemoryCounter:
    """The embedded mode's counter: one process serves every request."""

    def __init__(self) -> None:
        # window length -> (the window's number, counts in it)
        self.windows: dict[int, tuple[int, dict[str, int]]] = {}

    async def hit(self, key: str, window_s: int = WINDOW_S) -> int:
        window = int(now() // window_s)
        current, counts = self.windows.get(window_s, (-1, {}))
        if current != window:  # a new window: the last one's counts are of no use
            counts = {}
            self.windows[window_s] = (window, counts)
        count = counts[key] = counts.get(key, 0) + 1
        return count


class RedisCounter:
    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.client: Redis | None = None

    async def hit(self, key: str, window_s: int = WINDOW_S) -> int:
        if self.client is None:
            self.client = Redis.from_url(self.url)
        window = int(now() // window_s)
        suffix = "" if window_s == WINDOW_S else f":{window_s}"  # the API's keys as they were
        name = f"{self.prefix}ratelimit:{key}:{window}{suffix}"
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s + 1)
            count, _ = await pipe.execute()
        return int(count)


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, path_prefix: str, per_minute: int, counter: Counter
    ) -> None:
        self.app, self.prefix, self.limit, self.counter = app, path_prefix, per_minute, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        count = await self.counter.hit(client[0] if client else "unknown")
        reset = seconds_left()
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(max(self.limit - count, 0)),
            "ratelimit-reset": str(reset),
        }
        if count > self.limit:
            body = json.dumps(
                {"error": f"Too many requests: {self.limit} a minute. Try again in {reset} s."}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(reset).encode()),
                        *((k.encode(), v.encode()) for k, v in headers.items()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                for key, value in headers.items():
                    mutable[key] = value
            await send(message)

        await self.app(scope, receive, with_headers)
