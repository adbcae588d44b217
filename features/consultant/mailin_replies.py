"""The replies the mail intake sends when it takes nothing: to unknown senders and for mail it
refuses. They never quote the mail (its subject, text or file names can carry PHI, and a reply
is kept in the outbox) and each is sent once per incoming mail (dedupe key from its
Message-ID), so a resent or retried mail is not answered twice."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from portal import runtime
from portal.mail.sender import send_mail
from portal.mail.tables import OutboxMessage

# A From header can be forged: replies to unknown senders are capped per address, so the portal
# cannot be used to flood someone's inbox (backscatter).
UNKNOWN_WINDOW = timedelta(hours=24)
UNKNOWN_PER_WINDOW = 3
UNKNOWN_KEY = "consult-unknown:"
REFUSED_KEY = "consult-refused:"


def _key(prefix: str, digest: str, to: str) -> str:
    return f"{prefix}{digest}:{hashlib.sha256(to.encode()).hexdigest()[:12]}"


def _threading(message_id: str | None) -> dict[str, str]:
    return {"In-Reply-To": message_id, "References": message_id} if message_id else {}


async def _recent_unknown_replies(to: str) -> int:
    since = datetime.now(UTC) - UNKNOWN_WINDOW
    count: int = await OutboxMessage.count().where(
        (OutboxMessage.to_addr == to)
        & OutboxMessage.dedupe_key.like(f"{UNKNOWN_KEY}%")
        & (OutboxMessage.created_at > since)
    )
    return count


async def unknown_sender(
    to: str, digest: str, message_id: str | None, *, unknown_address: bool
) -> bool:
    """How to send cases, to a sender with no account or a stale personal address. False when
    the sender had their share of these replies already."""
    key = _key(UNKNOWN_KEY, digest, to)
    fresh = not await OutboxMessage.exists().where(OutboxMessage.dedupe_key == key)
    if fresh and await _recent_unknown_replies(to) >= UNKNOWN_PER_WINDOW:
        return False
    await send_mail(
        to,
        "How to send a case to CaseConsultant",
        "consult_unknown_sender",
        {
            "address": runtime.current().settings.consult.address,
            "unknown_address": unknown_address,
        },
        dedupe_key=key,
        headers=_threading(message_id),
    )
    return True


async def refused(
    to: str,
    digest: str,
    message_id: str | None,
    kind: str,
    reason: str,
    problems: list[str] | None = None,
) -> None:
    """Why a mail from an account was not taken (empty, a refused attachment, the plan's limit),
    to the account's own address."""
    await send_mail(
        to,
        "Your case mail to CaseConsultant was not taken",
        "consult_mail_refused",
        {"kind": kind, "reason": reason, "problems": problems or []},
        dedupe_key=_key(REFUSED_KEY, digest, to),
        headers=_threading(message_id),
    )
