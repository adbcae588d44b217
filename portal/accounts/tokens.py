"""Single-use, expiring tokens sent by mail (verify email, reset password, change email)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from portal.accounts.tables import AccountToken
from portal.errors import InvalidToken

Purpose = Literal["verify", "reset", "email_change"]


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue(account_id: int, purpose: Purpose, ttl_s: int, new_email: str | None = None) -> str:
    raw = secrets.token_urlsafe(32)
    await AccountToken.insert(
        AccountToken(
            account=account_id,
            purpose=purpose,
            token_hash=_digest(raw),
            new_email=new_email,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s),
        )
    )
    return raw


async def consume(raw: str, purpose: Purpose) -> AccountToken:
    """Mark a token used and return it; one UPDATE, so two clicks cannot both succeed."""
    if not raw or len(raw) > 200:
        raise InvalidToken("This link is not valid. Request a new one.")
    now = datetime.now(UTC)
    rows = (
        await AccountToken.update({AccountToken.used_at: now})
        .where(
            (AccountToken.token_hash == _digest(raw))
            & (AccountToken.purpose == purpose)
            & AccountToken.used_at.is_null()
            & (AccountToken.expires_at > now)
        )
        .returning(AccountToken.id, AccountToken.account, AccountToken.new_email)
    )
    if not rows:
        raise InvalidToken(
            "This link is not valid, has expired or was already used. Request a new one."
        )
    row = rows[0]
    return AccountToken(
        id=row["id"], account=row["account"], new_email=row["new_email"], purpose=purpose
    )


async def revoke(account_id: int, purpose: Purpose) -> None:
    await AccountToken.delete().where(
        (AccountToken.account == account_id)
        & (AccountToken.purpose == purpose)
        & AccountToken.used_at.is_null()
    )
