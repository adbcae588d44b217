"""`portal` commands in subprocesses: the server as an operator starts it, and one-off commands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from portal.settings import REPO_ROOT

PORTAL = str(Path(sys.executable).parent / "portal")  # the console script uv installs
FULL_MODE_VARS = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SMTP_URL", "JOBS_BACKEND")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def embedded_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without the full mode's services: the newcomer's setup."""
    env = {k: v for k, v in os.environ.items() if k not in FULL_MODE_VARS}
    for name in ("SECRET_KEY", "BASE_URL", "AUTO_MIGRATE"):
        env.pop(name, None)
    env.update({"PORTAL_STATE_DIR": str(state_dir), "ARGON2_PROFILE": "cheapest", **extra})
    return env


def run_portal(
    *args: str, env: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PORTAL, *args],
        cwd=REPO_ROOT,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def portal_server(env: Mapping[str, str], log_path: Path) -> Iterator[Server]:
    """`portal serve` on a free port, up once /healthz answers; stopped (SIGTERM) at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"BASE_URL": url, **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PORTAL, "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(url, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"portal serve exited:\n{server.output()[-4000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"portal serve did not come up:\n{server.output()[-4000:]}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def search_page(client: httpx.Client, query: str, wait_s: float = 60) -> httpx.Response:
    """The search page for `query`, asked again as its Retry-After says while a just-started
    process is still loading its search index (503)."""
    deadline = time.monotonic() + wait_s
    while True:
        response = client.get("/case2code", params={"q": query})
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(min(float(response.headers.get("retry-after", "1")), 1.0))


def register(client: httpx.Client, email: str, password: str) -> httpx.Response:
    """The register form as a browser sends it: the CSRF cookie from a page, then the POST."""
    client.get("/account/register")
    token = client.cookies["csrftoken"]
    return client.post(
        "/account/register", data={"_csrf_token": token, "email": email, "password": password}
    )


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    client.get("/account/login")
    token = client.cookies["csrftoken"]
    return client.post(
        "/account/login", data={"_csrf_token": token, "email": email, "password": password}
    )
