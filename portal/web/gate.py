"""Metered access for a page's gated sections: the one call a product page makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request

from portal.metering import service as metering
from portal.web.identity import meter_subject


@dataclass(frozen=True)
class Access:
    entitled: bool
    reason: Literal["ok", "guest", "limit"]
    remaining: int | None

    @property
    def charged_now(self) -> bool:  # for templates that say "this view used one of yours"
        return self.reason == "ok"


async def metered_access(request: Request[Any, Any, Any], meter: str, key: str) -> Access:
    """Consume one unit of `meter` for `key` (free again within the repeat window)."""
    subject = await meter_subject(request)
    grant = await metering.consume(subject, meter, key)
    if grant.granted:
        return Access(entitled=True, reason="ok", remaining=grant.remaining)
    return Access(
        entitled=False, reason="guest" if subject.kind == "guest" else "limit", remaining=0
    )
