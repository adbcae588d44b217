"""`portal smtpd`: receive mail and hand each recipient to the feature that takes its address.

The core keeps nothing of a message: a feature's `inbound_mail` handler gets the raw bytes and
decides what is stored (the consultant stores consults only after its PHI guard). aiosmtpd runs
its own event loop in a thread; the database engine and the runtime live on the main loop, so
handlers are run there. Logs carry sizes, counts and outcomes, never subjects or bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import structlog
from aiosmtpd.controller import Controller

from portal import runtime
from portal.feature import Feature
from portal.mail.inbound import InboundMail

log = structlog.get_logger("portal.smtpd")

# Above this aiosmtpd answers 552 (at MAIL FROM when the client declares SIZE, else after DATA):
# attachments are limited to 5 MB each and base64 adds a third, so a case with a couple of
# files fits and nothing much bigger is read into memory.
MAX_MESSAGE_BYTES = 12 * 1024 * 1024
NO_SUCH_RECIPIENT = "550 5.1.1 No such recipient"
TRY_LATER = "451 4.3.0 The message could not be taken now; try again later"
ACCEPTED = "250 Message accepted"

T = TypeVar("T")


class InboundHandler:
    """aiosmtpd handler: RCPT checks the address against the features; DATA runs the feature's
    handler once per recipient."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, features: Sequence[Feature] | None = None
    ) -> None:
        self.loop = loop  # the loop the database engine lives on
        self._features = features  # None: the installed features of the running process

    def features(self) -> list[Feature]:
        found = self._features if self._features is not None else runtime.current().features
        return [f for f in found if f.inbound_mail is not None]

    def _may_take(self, address: str) -> bool:
        # A feature without an address check might take anything: only DATA can tell.
        return any(
            f.inbound_addresses is None or f.inbound_addresses(address) for f in self.features()
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self._may_take(address.lower()):
            return NO_SUCH_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        taken = failed = 0
        recipients = list(dict.fromkeys(r.lower() for r in envelope.rcpt_tos))
        for rcpt in recipients:
            mail = InboundMail(mail_from=envelope.mail_from or "", rcpt_to=rcpt, raw=raw)
            try:
                taken += await self._on_main_loop(self._dispatch(mail))
            except Exception as exc:
                # Only the type: a database error's text can quote the values it was given.
                log.error("inbound mail failed", error=type(exc).__name__, bytes=len(raw))
                failed += 1
        log.info(
            "mail received", recipients=len(recipients), taken=taken, failed=failed, bytes=len(raw)
        )
        if failed:
            # The sender retries the whole message; recipients already done see the same
            # Message-ID again, which the features deduplicate.
            return TRY_LATER
        return ACCEPTED if taken else NO_SUCH_RECIPIENT

    async def _dispatch(self, mail: InboundMail) -> bool:
        for feature in self.features():
            if feature.inbound_addresses is not None and not feature.inbound_addresses(
                mail.rcpt_to
            ):
                continue
            assert feature.inbound_mail is not None
            if await feature.inbound_mail(mail):
                return True
        return False

    async def _on_main_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)


def make_controller(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    features: Sequence[Feature] | None = None,
    data_size_limit: int = MAX_MESSAGE_BYTES,
) -> Controller:
    """The SMTP server for `portal smtpd` (and tests): start() runs it in a thread of its own.
    `features` defaults to the running process's installed features."""
    # aiosmtpd logs every DATA line at DEBUG and recipients (personal tokens) at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        InboundHandler(loop, features), hostname=host, port=port, data_size_limit=data_size_limit
    )


async def serve(host: str, port: int) -> None:
    """Run `portal smtpd`: the runtime (handlers send replies and queue jobs), then the server
    until cancelled."""
    from portal.bootstrap import start_runtime, stop_runtime
    from portal.installed import installed_features
    from portal.settings import get_settings

    rt = await start_runtime(get_settings(), installed_features())
    controller = make_controller(asyncio.get_running_loop(), host, port)
    controller.start()
    log.info("receiving mail", host=host, port=port)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()
        await stop_runtime(rt)
