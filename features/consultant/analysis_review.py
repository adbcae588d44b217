"""Consult analysis: an optional "LLM review" paragraph for the draft.

Only when the portal has an LLM endpoint configured (or a caller passes an engine). The engine
gets the draft's findings and codes, not the case: the supporting words quoted with each code
are all it sees of the note. Its answer has been checked by CasePilot (citations from its tool
calls, every code it names looked up); a refused answer, or none in time, adds nothing: the
deterministic draft stands on its own.
"""

from __future__ import annotations

import asyncio

import structlog

from features.casepilot.engine import Answer, AnswerEngine, Context
from features.casepilot.facts import Citation
from features.consultant.analysis_types import Draft

log = structlog.get_logger("consultant.analysis")

MAX_WAIT_S = 90.0  # the job's own timeout is longer; a slow endpoint must not eat it all


def _default_engine() -> AnswerEngine | None:
    from portal import runtime

    try:
        settings = runtime.current().settings.assistant
    except RuntimeError:  # no runtime (a script): no LLM
        return None
    if not settings.llm_enabled:
        return None
    from features.casepilot.llm_engine import LLMEngine

    return LLMEngine(settings)


def question(draft: Draft) -> str:
    lines = [
        "Review this draft coding of a de-identified case for a certified coder. Check each "
        "code with the tools (title, billable, 7th character, instructional notes, NCCI), say "
        "which codes or sequencing you would change and why, in at most 8 short bullet points.",
        "",
        "Proposed codes, in sequencing order, with the case's supporting words:",
    ]
    for code in draft.codes:
        support = ", ".join(code.support) or "none"
        lines.append(f"- {code.display} ({code.system}): {code.title} — words: {support}")
    if draft.gaps:
        lines += ["", "Documentation gaps already noted:", *(f"- {g}" for g in draft.gaps[:8])]
    return "\n".join(lines)


async def _final(engine: AnswerEngine, text: str) -> Answer | None:
    final: Answer | None = None
    async for piece in engine.answer(text, Context()):
        if isinstance(piece, Answer):
            final = piece
    return final


async def review(
    draft: Draft, engine: AnswerEngine | None = None
) -> tuple[str, tuple[Citation, ...]] | None:
    """The engine's review (text, citations), or None."""
    engine = engine or _default_engine()
    if engine is None:
        return None
    try:
        answer = await asyncio.wait_for(_final(engine, question(draft)), MAX_WAIT_S)
    except Exception:  # the review is optional: the draft goes on without it
        log.warning("consult review unavailable", engine=getattr(engine, "name", "?"))
        return None
    if answer is None or answer.refused or not answer.text.strip():
        return None
    return answer.text.strip(), tuple(answer.citations)
