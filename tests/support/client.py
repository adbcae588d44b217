"""An HTTP client on the app (one event loop), which sends the CSRF token like a browser."""

from __future__ import annotations

import random
import re
from typing import Any

import httpx


class PortalClient(httpx.AsyncClient):
    def __init__(self, app: Any, address: str | None = None, **kwargs: Any) -> None:
        # Each client is its own visitor: guests are metered by address too.
        self.address = (
            address
            or f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        )
        transport = httpx.ASGITransport(app=app, client=(self.address, 40000))
        super().__init__(
            transport=transport, base_url="http://testserver", follow_redirects=False, **kwargs
        )

    async def csrf(self) -> str:
        if "csrftoken" not in self.cookies:
            await self.get("/")
        return self.cookies["csrftoken"]

    async def submit(
        self, url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST a form with the CSRF token, as the page's form would."""
        fields = {"_csrf_token": await self.csrf(), **(data or {})}
        return await self.post(url, data=fields, headers=headers)

    async def register(self, email: str, password: str = "correct horse battery") -> httpx.Response:
        return await self.submit("/account/register", {"email": email, "password": password})

    async def login(self, email: str, password: str = "correct horse battery") -> httpx.Response:
        return await self.submit("/account/login", {"email": email, "password": password})


async def register_pro(client: PortalClient) -> str:
    """Register through the form, then make the account Pro (no billing in the portal yet)."""
    from portal.accounts.service import forget_account
    from portal.accounts.tables import Account

    email = unique_email("pro")
    await client.register(email)
    rows = (
        await Account.update({Account.plan: "pro"})
        .where(Account.email == email)
        .returning(Account.id)
    )
    forget_account(rows[0]["id"])
    return email


def unique_email(prefix: str = "coder") -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
