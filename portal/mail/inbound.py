"""Mail received by `portal smtpd`, as a feature's inbound handler sees it.

Nothing here is stored: the raw message lives only as long as the handler's call, so a feature
decides what (if anything) is kept, after its own guards (the consultant's PHI guard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InboundMail:
    mail_from: str  # the envelope sender (MAIL FROM); "" for a bounce
    rcpt_to: str  # one envelope recipient, lower-case: a handler is called once per recipient
    raw: bytes  # the message as received (headers and body)

    def __repr__(self) -> str:  # never the content: a repr ends up in logs and tracebacks
        return f"InboundMail(rcpt_to={self.rcpt_to!r}, bytes={len(self.raw)})"


# True when the handler took the recipient (whatever it did with the mail: stored, replied,
# ignored); False when the address is not the feature's, so smtpd can answer 550.
MailHandler = Callable[[InboundMail], Awaitable[bool]]
# Whether the feature takes mail for an address at all: asked at RCPT time, no I/O.
AddressCheck = Callable[[str], bool]
