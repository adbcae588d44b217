"""Server-side sessions whose id is renewed at log-in (no session fixation)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Message, ScopeSession

_NEW_ID = "_portal_new_session_id"
_LOADED = "_portal_session_as_loaded"


class RenewingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[literal-required]
        return data

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        unchanged = scope_session and scope_session == connection.scope.get(_LOADED)
        if unchanged and not connection.scope.get(_NEW_ID):
            return  # the store and the browser already hold this session: no write per request
        if not scope_session and connection.cookies.get(self.config.key) in (None, "", "null"):
            return  # nothing to keep for a visitor without a session: no store write, no cookie
        if connection.scope.get(_NEW_ID):
            old = connection.cookies.get(self.config.key)
            if old and old != "null":
                await self.delete(
                    old, store=self.config.get_store_from_app(connection.scope["app"])
                )
        await super().store_in_message(scope_session, message, connection)


class PortalSessionConfig(ServerSideSessionConfig):
    _backend_class = RenewingSessionBackend


def log_in(request: Request[Any, Any, Any], account_id: int) -> None:
    """Start a fresh session for the account: new id, old data dropped."""
    request.scope[_NEW_ID] = secrets.token_hex(32)  # type: ignore[literal-required]
    request.clear_session()
    request.set_session({"uid": account_id})


def log_out(request: Request[Any, Any, Any]) -> None:
    request.clear_session()
