"""Consult analysis: the sentences of the draft (gaps, what was not coded and why, sequencing
context) and its confidence. Plain wording for a certified coder who reviews the draft."""

from __future__ import annotations

from collections.abc import Sequence

from features.case2code.case_text import MAX_NOTE_CHARS, Problem
from features.case2code.case_to_code import Candidate, NotCoded
from features.case2code.catalog import CodeView
from features.casepilot.code_check import Mention
from features.consultant.analysis_actions import Action
from features.consultant.analysis_rules import Note
from features.consultant.analysis_text import Kind, PreparedCase
from features.consultant.analysis_types import ProposedCode

CPT_SAMPLE = "CPT sample descriptor written by this project, not AMA text"
CPT_UNLICENSED = "CPT descriptor not shown: it needs an AMA CPT licence file"
CONFIDENCE_CAP = 0.95  # a machine draft is never certain


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _quoted(words: Sequence[str]) -> str:
    return "“" + " ".join(words) + "”"


# --- not coded ------------------------------------------------------------------------------

_WHY_NOT = {
    "negated": "a finding the case denies or rules out is not coded",
    "uncertain": (
        "outpatient coding does not code a diagnosis written as possible, probable, suspected "
        "or to be ruled out (Official Guidelines IV.H): code the signs and symptoms instead"
    ),
    "history": ("not a current condition: a personal history code may apply when it affects care"),
    "family history": "a family history code may apply when it affects care",
}


def not_coded(item: NotCoded) -> str:
    cue = item.problem.cue.text if item.problem.cue else item.reason
    why = _WHY_NOT.get(item.reason, "not coded")
    return f"{_quoted([item.problem.text])} — {item.reason} (“{cue}”): {why}."


def skipped_action(action: Action) -> str:
    said = _quoted([w.text for w in action.words] or [action.problem.text])
    if action.skipped == "status post":
        return (
            f"{said} — status post: a past procedure, not coded as done at this encounter "
            "(a status code may apply when it affects care)."
        )
    return f"{said} — planned, not performed: a procedure is coded when it is done."


def no_code(words: Sequence[str], kind: Kind) -> str:
    what = {"diagnosis": "diagnosis", "procedure": "procedure", "supply": "supply"}[kind]
    return (
        f"{_quoted(words)} — no {what} code has these words in the portal's data: code it by "
        "hand or reword it."
    )


def no_fit(text: str, candidates: Sequence[Candidate]) -> str:
    """A problem whose candidates all name a condition the case does not state."""
    if not candidates:
        return no_code((text,), "diagnosis")
    hit = candidates[0].hit
    return (
        f"{_quoted([text])} — the closest codes name a condition the case does not state "
        f"({hit.display} {hit.title}): code it by hand."
    )


def cut(left_out: int) -> str:
    return (
        f"The case is {left_out:,} characters longer than the {MAX_NOTE_CHARS:,} the analysis "
        "reads: the rest was not coded. Send the assessment or the operative note alone."
    )


def too_many(left_out: int) -> str:
    return (
        f"{left_out} more confirmed problem(s) were not looked up (the analysis codes the "
        "first 20): code them by hand."
    )


# --- gaps -----------------------------------------------------------------------------------


def closest(text: str, code: ProposedCode) -> str:
    return (
        f"No code has every word of {_quoted([text])}: {code.display} ({code.title}) is the "
        "closest; check it against the record."
    )


def says_more(text: str, code: ProposedCode, extra: Sequence[str]) -> str:
    said = ", ".join(f"“{e}”" for e in extra)
    return (
        f"{code.display} ({code.title}) says {said}, which {_quoted([text])} does not: document "
        "it, or choose the code without it."
    )


def candidate_gaps(problem: Problem, best: Candidate, code: ProposedCode) -> list[str]:
    found: list[str] = []
    if best.seventh_hint:
        found.append(
            f"7th character missing for {_quoted([problem.text])}: {best.hit.display} needs one "
            "and the case does not say the encounter (initial, subsequent, sequela) — "
            f"{best.seventh_hint}"
        )
    if best.hit.laterality == "unspecified side" and problem.laterality is None:
        found.append(
            f"Laterality not documented for {_quoted([problem.text])}: {code.display} is for an "
            "unspecified side; document left or right for the sided code."
        )
    return found


def excludes1(note: Note, display: str, other: str, quoted: str) -> str:
    return (
        f"Excludes1 conflict: {display} and {other} are not reported together — {display}'s "
        f"tabular ({note.at}) says “{quoted}”. Keep the one the record supports (both only "
        "when the two conditions are unrelated)."
    )


def unspecified(code: ProposedCode, options: Sequence[CodeView], limit: int) -> str:
    head = f"{code.display} ({code.title}) is an unspecified code"
    if not options:
        return f"{head}: document the condition more specifically if the record allows."
    listed = "; ".join(f"{o.display} {o.title}" for o in options[:limit])
    more = ", …" if len(options) > limit else ""
    return (
        f"{head}: if the record says which (acuity, type, stage, site), a more specific code "
        f"applies — {listed}{more}."
    )


def unknown_named(mention: Mention) -> str:
    return (
        f"“{mention.text}”, named in the case, is not a code in the portal's releases: check "
        "how it was written."
    )


def not_billable_named(view: CodeView) -> str:
    return (
        f"{view.display} ({view.title}), named in the case, is not billable as it stands: a "
        "more specific code under it is needed."
    )


# --- sequencing -----------------------------------------------------------------------------


def first_listed(code: ProposedCode, why: str) -> str:
    return (
        f"First-listed diagnosis: {code.display} ({code.title}) — {why}. List first the "
        "condition chiefly responsible for the encounter (Official Guidelines IV.G); confirm "
        "it against the whole record."
    )


def context_lines(prepared: PreparedCase, codes: Sequence[ProposedCode]) -> list[str]:
    lines: list[str] = []
    if prepared.postop_only:
        lines.append(
            "Coded from the postoperative diagnosis: when both are given, the preoperative "
            "diagnosis is not coded."
        )
    if prepared.findings_left_out:
        lines.append(
            "The operative findings were read as part of the postoperative diagnosis, not "
            "coded on their own."
        )
    if any(c.code.startswith(tuple("VWXY")) for c in codes if c.system == "icd-10-cm"):
        lines.append("External cause codes are reported after the injury codes they explain.")
    systems = {c.system for c in codes}
    if "icd-10-pcs" in systems and systems & {"cpt", "hcpcs"}:
        lines.append(
            "ICD-10-PCS codes are for the facility's inpatient claim; CPT/HCPCS codes for the "
            "professional (or outpatient) claim: report the set that fits the setting."
        )
    return lines


# --- confidence -----------------------------------------------------------------------------

# Notes that inform the reviewer without asking for a check.
INFORMATIONAL = frozenset({CPT_SAMPLE, "combination code"})


def to_check(note: str) -> bool:
    return any(part and part not in INFORMATIONAL for part in note.split("; "))


def confidence(
    coded: Sequence[ProposedCode], unresolved: int, gaps: int, conflicts: int, left_out: int
) -> float:
    """How sure the draft is: the share of findings coded with a specific, billable code and
    nothing to check, less a step for each gap and each edit conflict."""
    total = len(coded) + unresolved
    if not coded or not total:
        return 0.0
    clean = sum(1 for c in coded if c.billable and not to_check(c.note))
    score = clean / total - 0.1 * gaps - 0.15 * conflicts - (0.2 if left_out else 0.0)
    return round(min(CONFIDENCE_CAP, max(0.0, score)), 2)
