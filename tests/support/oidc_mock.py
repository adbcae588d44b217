"""A real OpenID Connect provider for tests: oidc-provider-mock (a Flask app built on Authlib)
served by werkzeug in a thread on a free port, plus the steps a browser would take on it."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving

from portal.settings import OidcProvider


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MockProvider:
    issuer: str  # also its base URL: the mock names itself after the host it is asked on

    def provider(self, key: str = "mock", name: str = "Mock ID") -> OidcProvider:
        return OidcProvider(
            key=key, name=name, issuer=self.issuer, client_id="portal", client_secret="s3cret"
        )

    def env(self, key: str = "mock", name: str = "Mock ID") -> dict[str, str]:
        prefix = f"OIDC_{key.upper()}_"
        return {
            "OIDC_PROVIDERS": key,
            prefix + "NAME": name,
            prefix + "ISSUER": self.issuer,
            prefix + "CLIENT_ID": "portal",
            prefix + "CLIENT_SECRET": "s3cret",
        }

    def set_user(self, sub: str, **claims: Any) -> None:
        """What the provider says about `sub` (email, email_verified, ...) from now on."""
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    async def authorize(self, authorization_url: str, sub: str) -> str:
        """Submit the provider's sign-in form as `sub`; the redirect back to the portal."""
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(authorization_url, data={"sub": sub})
        assert response.status_code == 302, response.text[:500]
        return response.headers["location"]

    async def deny(self, authorization_url: str) -> str:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(authorization_url, data={"action": "deny"})
        assert response.status_code == 302, response.text[:500]
        return response.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@contextmanager
def running_provider(**options: Any) -> Iterator[MockProvider]:
    """Serve a fresh provider; `options` go to oidc_provider_mock.app (access_token_max_age, ...)
    — its ID tokens expire with its access tokens."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("oidc_provider_mock").setLevel(logging.ERROR)
    options.setdefault("access_token_max_age", timedelta(minutes=10))
    port = _free_port()
    server = werkzeug.serving.make_server(
        "127.0.0.1", port, oidc_provider_mock.app(**options), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield MockProvider(f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
