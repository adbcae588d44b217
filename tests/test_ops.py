"""Operations: liveness, readiness (database and Redis), Prometheus metrics, security headers on
every kind of response, and logs that never carry an email address or a password."""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from piccolo.engine.postgres import PostgresEngine

from portal import runtime
from tests.support.client import PortalClient, unique_email
from tests.support.jobs import closed_port, runtime_settings
from tests.support.server import login, portal_server, register, search_page

SECURITY_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


async def test_healthz_answers_json(client: PortalClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database_and_redis(client: PortalClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_is_503_when_redis_is_unreachable(client: PortalClient) -> None:
    settings = runtime.current().settings
    unreachable = replace(settings, redis=replace(settings.redis, url="redis://127.0.0.1:1"))
    with runtime_settings(unreachable):
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")
    assert (await client.get("/readyz")).status_code == 200, "ready again once Redis is back"


async def test_readyz_is_503_when_the_database_is_unreachable(client: PortalClient) -> None:
    rt = runtime.current()
    previous = rt.engine
    with warnings.catch_warnings():  # Piccolo warns at once that it cannot connect
        warnings.simplefilter("ignore")
        dsn = f"postgresql://postgres@127.0.0.1:{closed_port()}/x"
        rt.engine = PostgresEngine(config={"dsn": dsn})
    try:
        response = await client.get("/readyz")
    finally:
        rt.engine = previous
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["redis"] == "ok"


async def test_metrics_count_requests_by_route(client: PortalClient) -> None:
    await client.get("/healthz")
    await client.get("/account/login")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counters = {
        line.split("{", 1)[1].split("}", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith("portal_requests_total{")
    }
    healthz = [labels for labels in counters if 'path="/healthz"' in labels]
    assert healthz, response.text[:2000]
    assert 'method="GET"' in healthz[0] and 'status_code="200"' in healthz[0]
    assert counters[healthz[0]] >= 1
    assert any('path="/account/login"' in labels for labels in counters)
    assert "portal_request_duration_seconds_bucket{" in response.text


async def test_metrics_do_not_count_one_series_per_code_or_query(client: PortalClient) -> None:
    tag = uuid.uuid4().hex
    await client.get(f"/_test/metered/{tag}?q={tag}")
    metrics = (await client.get("/metrics")).text
    assert tag not in metrics
    assert 'path="/_test/metered/{key}"' in metrics


@pytest.mark.parametrize(
    "path", ["/", "/account/login", "/no/such/page", "/static/css/portal.css", "/healthz"]
)
async def test_security_headers_are_on_every_response(client: PortalClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code in (200, 404)
    for header, value in SECURITY_HEADERS.items():
        assert value in response.headers.get(header, ""), (path, header)
    assert "strict-transport-security" not in response.headers, "HSTS only behind https"


async def test_security_headers_are_on_error_pages_and_redirects(client: PortalClient) -> None:
    await client.register(unique_email("member"))
    for response in (
        await client.get("/admin/"),  # 403
        await client.post("/account/login", data={"email": "x"}),  # 403: no CSRF token
        await client.submit("/account/logout"),  # 303
    ):
        assert response.status_code in (303, 403)
        for header in SECURITY_HEADERS:
            assert header in response.headers, (response.request.url, header)


# --- logs --------------------------------------------------------------------------------------


def test_logs_never_contain_emails_passwords_or_tokens(
    database: str, mailbox, tmp_path: Path
) -> None:
    """The server's own log stream (JSON on stderr, at INFO), as an operator would collect it."""
    email = unique_email("logcheck")
    stranger = unique_email("stranger")
    password = f"secret-{uuid.uuid4().hex[:12]}"
    wrong = f"wrong-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "JOBS_BACKEND": "inprocess",  # no worker process: the server sends the mail itself
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "1",
    }
    with portal_server(env, tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            assert register(browser, email, password).status_code == 303
            verify = mailbox.wait_for_sync(email, "Confirm your email")
            token = verify.link("/account/verify/").rsplit("/", 1)[1]
            assert browser.get(f"/account/verify/{token}").status_code == 200
            browser.post("/account/logout", data={"_csrf_token": browser.cookies["csrftoken"]})
            assert login(browser, email, wrong).status_code == 422
            assert login(browser, stranger, wrong).status_code == 422
            assert login(browser, email, password).status_code == 303
            assert search_page(browser, email).status_code == 200
        server.stop()
        output = server.output()

    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    names = {event.get("event") for event in events}
    # The stream was captured at INFO: the account's events are there, by id only.
    assert {"request", "account registered", "login failed", "login", "mail sent"} <= names, names
    assert all(isinstance(e["account_id"], int) for e in events if "account_id" in e)
    requests = {(e["method"], e["route"], e["status"]) for e in events if e["event"] == "request"}
    assert ("POST", "/account/login", 422) in requests
    assert ("GET", "/account/verify/{token}", 200) in requests, "the route, not the token"

    local_part = email.split("@", 1)[0]
    for secret in (email, local_part, stranger.split("@", 1)[0], password, wrong, token):
        assert secret not in output, f"{secret!r} is in the log"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", output), "an email address is in the log"
