"""Metered access for a page and its gated sections: the one call a product page makes.

A metered view (a code page) consumes one unit. Within the quota a guest sees the page's public
part and its gated sections locked behind registration; an account sees everything. Beyond the
quota the page itself is walled: register (guest) or go Pro (free account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Request

from portal.metering import service as metering
from portal.web.identity import meter_subject


@dataclass(frozen=True)
class Access:
    page: bool  # the page's public part (within the quota)
    entitled: bool  # the gated sections (an account within its quota)
    reason: Literal["ok", "guest", "limit"]
    remaining: int | None


async def metered_access(request: Request[Any, Any, Any], meter: str, key: str) -> Access:
    """Consume one unit of `meter` for `key` (free again within the repeat window)."""
    subject = await meter_subject(request)
    grant = await metering.consume(subject, meter, key)
    request.state.meter_remaining = {meter: grant.remaining}  # the header badge's figure
    guest = subject.kind == "guest"
    return Access(
        page=grant.granted,
        entitled=grant.granted and not guest,
        reason="guest" if guest else ("ok" if grant.granted else "limit"),
        remaining=grant.remaining,
    )
