"""A small keep-alive HTTP load generator (asyncio + httpx), used when `wrk` is not available.

Run as a separate process so it does not share an interpreter with the benchmark driver:

    python bench/loadgen.py http://127.0.0.1:8000/ --duration 5 --connections 16

It opens the connections and sends one request on each, prints `ready`, waits for a line on
stdin (so that several generator processes start together), then keeps every connection busy for
`--duration` seconds and prints one JSON line: requests completed in the window, elapsed seconds,
requests per second, status counts and transport errors. Cookies are never stored, so every
request looks like a new anonymous visitor, as with wrk; `--header "Cookie: name=value"` (as with
wrk's -H) sends the same fixed headers on every request, e.g. a signed-in session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy

import httpx


class _RejectAllCookies(DefaultCookiePolicy):
    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        return False


@dataclass
class _Tally:
    requests: int = 0
    errors: int = 0
    status: Counter[int] = field(default_factory=Counter)


async def _worker(
    client: httpx.AsyncClient, url: str, go: asyncio.Event, stop_at: list[float], tally: _Tally
) -> None:
    with contextlib.suppress(httpx.HTTPError):  # open the connection before the window
        await client.get(url)
    await go.wait()
    deadline = stop_at[0]
    while True:
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            if time.perf_counter() < deadline:
                tally.errors += 1
            if time.perf_counter() >= deadline:
                return
            continue
        if time.perf_counter() >= deadline:
            return
        tally.requests += 1
        tally.status[response.status_code] += 1


async def run(
    url: str,
    duration: float,
    connections: int,
    wait_for_go: bool,
    headers: dict[str, str] | None = None,
) -> dict[str, object]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    cookies = CookieJar(policy=_RejectAllCookies())
    tally = _Tally()
    go = asyncio.Event()
    stop_at = [0.0]
    async with httpx.AsyncClient(
        limits=limits,
        timeout=httpx.Timeout(10.0),
        cookies=cookies,
        headers=headers,
        follow_redirects=False,
    ) as client:
        tasks = [
            asyncio.create_task(_worker(client, url, go, stop_at, tally))
            for _ in range(connections)
        ]
        await asyncio.sleep(0.2)  # let the workers send their warm-up request
        if wait_for_go:
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started = time.perf_counter()
        stop_at[0] = started + duration
        go.set()
        await asyncio.gather(*tasks)
        elapsed = min(time.perf_counter(), stop_at[0]) - started
    return {
        "requests": tally.requests,
        "elapsed_s": elapsed,
        "rps": tally.requests / elapsed if elapsed > 0 else 0.0,
        "status": {str(k): v for k, v in sorted(tally.status.items())},
        "errors": tally.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--wait-for-go", action="store_true", help="print 'ready' and wait for a line on stdin"
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header on every request (repeatable), as wrk -H",
    )
    args = parser.parse_args(argv)
    headers: dict[str, str] = {}
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header must be 'Name: value', got {raw!r}")
        headers[name.strip()] = value.strip()
    result = asyncio.run(run(args.url, args.duration, args.connections, args.wait_for_go, headers))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
