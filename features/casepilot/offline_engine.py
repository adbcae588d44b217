"""CasePilot's default answer engine: offline and deterministic, written only from tool results.

The router (intents.py) picks what the question asks; a plan per intent calls the tools, writes a
one- or two-sentence summary from the first results and streams it at once, then the details
(bullets, each with the number of its source), then the Sources. Every code in the text comes
from a tool result; a question the data cannot answer gets "I don't know" with a search link and
a consult link. Same question, same data: same answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from features.casepilot import code_check
from features.casepilot.engine import Answer, Context, Piece
from features.casepilot.intents import route
from features.casepilot.offline_answer import Plan, Writer
from features.casepilot.offline_codes import (
    plan_billable,
    plan_crosswalk,
    plan_describe,
    plan_hierarchy,
    plan_notes,
    plan_search,
    plan_seventh,
    plan_unknown,
)
from features.casepilot.offline_coverage import (
    plan_coverage,
    plan_drg,
    plan_fee,
    plan_lcd,
    plan_pos,
)
from features.casepilot.offline_rules import (
    plan_compliance,
    plan_guidelines,
    plan_modifier,
    plan_mue,
    plan_ncci,
)


class OfflineEngine:
    name = "offline"

    async def answer(self, question: str, context: Context) -> AsyncIterator[Piece]:
        intent = route(question, context)
        writer = Writer()
        plan = PLANS.get(intent.name, plan_unknown)
        async for piece in plan(writer, intent):
            if piece:
                yield piece
        sources = writer.sources_block()
        if sources:
            yield sources
        text = writer.text
        trusted = writer.trusted()
        flags = await code_check.check(text, trusted)
        typed = {c.code for c in intent.codes}
        # A code the question typed and the answer says is not in the catalog keeps its flag
        # but needs no marker; anything else unbacked is marked where it stands.
        invented = [f for f in flags if f.code.replace(".", "") not in typed]
        if invented:
            text = code_check.mark(text, invented)
        yield Answer(
            text=text,
            citations=tuple(writer.sources),
            engine=self.name,
            intent=intent.name,
            flags=flags,
            refused=False,
            tools=tuple(writer.tools),
        )


PLANS: dict[str, Plan] = {
    "describe": plan_describe,
    "billable": plan_billable,
    "seventh": plan_seventh,
    "hierarchy": plan_hierarchy,
    "notes": plan_notes,
    "guidelines": plan_guidelines,
    "modifier": plan_modifier,
    "crosswalk": plan_crosswalk,
    "ncci": plan_ncci,
    "mue": plan_mue,
    "compliance": plan_compliance,
    "fee": plan_fee,
    "coverage": plan_coverage,
    "lcd": plan_lcd,
    "pos": plan_pos,
    "drg": plan_drg,
    "search": plan_search,
    "unknown": plan_unknown,
}

__all__ = ["PLANS", "OfflineEngine"]
