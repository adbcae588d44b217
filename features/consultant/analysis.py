"""CaseConsultant's analysis: a coded draft answer for a de-identified case, for an expert to
review (or, when confident, to send at once).

`analyse(text)` reads the case as case to code does (problems, negation, side, encounter),
after making operative-note and claim-question text readable to it (analysis_text); codes the
diagnoses through case to code, the procedures and supplies through the search engine
(analysis_procedures); then checks the proposed codes together against the ICD-10-CM tabular
(analysis_rules) and the NCCI sample edits (analysis_edits), and writes the draft in Markdown
(analysis_markdown). When the portal has an LLM configured, its review is added as a paragraph
of its own (analysis_review); the draft never depends on it.

Every code in the draft comes from case to code, the search engine or a CasePilot tool, and is
read back from the catalog before it is proposed. Pure service: no web framework, no writes.
The case is health information even when de-identified: it is never logged.
"""

from __future__ import annotations

from dataclasses import replace

from features.case2code.case_text import analyse as read_case
from features.case2code.search import service
from features.casepilot.engine import AnswerEngine
from features.casepilot.facts import Citation
from features.consultant import analysis_markdown
from features.consultant.analysis_build import Builder
from features.consultant.analysis_text import Kind, prepare
from features.consultant.analysis_types import Draft, Finding, ProposedCode

__all__ = ["Citation", "Draft", "Finding", "Kind", "ProposedCode", "analyse"]


NOTHING = (
    "The case has no text, so nothing could be coded. Send the note (the assessment, the "
    "operative note or the question about the claim) and it will be analysed."
)


async def analyse(text: str, *, reviewer: AnswerEngine | None = None) -> Draft:
    """The coded draft for a case (see the module's docstring). `reviewer`: the engine for the
    "LLM review" paragraph; by default the LLM engine when the portal has one configured."""
    if not (text or "").strip():
        return _nothing(NOTHING)
    # A job may run before this process has loaded the search index: wait for it.
    await service.current_index(wait=True)
    prepared = prepare(text)
    case = read_case(prepared.note)
    builder = Builder(prepared, case)
    await builder.code_actions()
    await builder.code_diagnoses()
    await builder.code_named()
    await builder.check_together()
    draft = _with_markdown(builder.finish(), "")
    if not draft.codes:
        return draft
    return await _reviewed(draft, reviewer)


def _with_markdown(draft: Draft, review: str) -> Draft:
    return replace(draft, markdown=analysis_markdown.render(draft, review))


def _nothing(why: str) -> Draft:
    draft = Draft((), (), (), (), (), (why,), (), 0.0, "")
    return _with_markdown(draft, "")


async def _reviewed(draft: Draft, reviewer: AnswerEngine | None) -> Draft:
    from features.consultant.analysis_review import review

    found = await review(draft, reviewer)
    if found is None:
        return draft
    text, citations = found
    merged = tuple(dict.fromkeys((*draft.citations, *citations)))
    return _with_markdown(replace(draft, citations=merged), text)
