"""`portal smtpd`: receive mail (consults arrive this way) into the inbound table."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from typing import Any

import structlog
from aiosmtpd.controller import Controller

from portal.mail.tables import InboundMessage

log = structlog.get_logger("portal.smtpd")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class InboundHandler:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop  # the loop the database engine lives on

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        message = message_from_bytes(raw, policy=policy.default)
        rows = [
            InboundMessage(
                mail_from=(envelope.mail_from or "")[:320],
                rcpt_to=rcpt[:320].lower(),
                subject=str(message.get("subject", ""))[:300],
                raw=raw.decode("utf-8", errors="replace"),
            )
            for rcpt in envelope.rcpt_tos
        ]
        future = asyncio.run_coroutine_threadsafe(InboundMessage.insert(*rows).run(), self.loop)
        await asyncio.wrap_future(future)
        log.info("mail received", recipients=len(rows), bytes=len(raw))
        return "250 Message accepted"


def make_controller(loop: asyncio.AbstractEventLoop, host: str, port: int) -> Controller:
    return Controller(
        InboundHandler(loop), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES
    )
