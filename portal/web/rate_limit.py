"""A fixed-window request limit per client address for the JSON API.

Litestar's RateLimitMiddleware keeps a serialised history per client in a store: a read and a
write of a JSON document per request, which cost the search API most of its throughput. Here a
request is one increment: a dict entry in the embedded mode, one pipelined INCR/EXPIRE in Redis
in the full mode (so every process shares the count).
"""

from __future__ import annotations

import json
import time
from typing import Protocol

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

WINDOW_S = 60


class Counter(Protocol):
    async def hit(self, key: str) -> int:
        """Count one request under `key` (a client in a window) and return the count."""
        ...


class MemoryCounter:
    def __init__(self) -> None:
        self.window = -1
        self.counts: dict[str, int] = {}

    async def hit(self, key: str) -> int:
        window = int(time.time() // WINDOW_S)
        if window != self.window:  # a new minute: last minute's counts are of no use
            self.window, self.counts = window, {}
        count = self.counts[key] = self.counts.get(key, 0) + 1
        return count


class RedisCounter:
    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.client: Redis | None = None

    async def hit(self, key: str) -> int:
        if self.client is None:
            self.client = Redis.from_url(self.url)
        window = int(time.time() // WINDOW_S)
        name = f"{self.prefix}ratelimit:{key}:{window}"
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(name)
            pipe.expire(name, WINDOW_S + 1)
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
        reset = WINDOW_S - int(time.time()) % WINDOW_S
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
