"""Browser tests: a live server (uvicorn) and an arq worker in subprocesses, in the full mode,
driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.oidc_mock import MockProvider, running_provider

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"live server exited:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"live server did not come up:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[MockProvider]:
    """An OpenID Connect provider the live server offers as "Continue with Mock ID"."""
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="session")
def live_server(
    database: str, oidc_provider: MockProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "BASE_URL": url,
        "PORT": str(port),
        # Each browser context says which address it comes from, so guests are told apart.
        "TRUSTED_PROXIES": "127.0.0.1",
        # Tests change an account's plan straight in the database, behind the server's back.
        "ACCOUNT_CACHE_S": "0",
        **oidc_provider.env(),
    }
    server_log, worker_log = logs / "server.log", logs / "worker.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "e2e.app:create_e2e_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=server_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        _wait_until_up(url, server, server_log)
        worker = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=worker_log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        yield LiveServer(url)
    finally:
        for proc in (worker, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


def _address() -> str:
    return f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        base_url=live_server.url, extra_http_headers={"X-Forwarded-For": _address()}
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()
