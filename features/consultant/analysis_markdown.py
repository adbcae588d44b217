"""Consult analysis: the draft as Markdown, for the reviewer to edit and send.

Sections: a short summary, Codes (code — title — the case's supporting words), Sequencing,
Edits (NCCI/MUE, sample data), Documentation gaps, Not coded, Other candidates, the optional
LLM review, and Sources with each release's name. The case's own words are escaped: they are
quoted, never read as Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from features.casepilot.tools_common import LABELS
from features.consultant.analysis_types import Draft, ProposedCode
from features.consultant.analysis_words import to_check

MAX_ALTERNATIVES = 2  # per finding
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|])")


def _esc(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _link(code: ProposedCode) -> str:
    return f"[{code.display}]({code.url})" if code.url else code.display


def _support(code: ProposedCode) -> str:
    if not code.support:
        return "no words of the case"
    return ", ".join(f"“{_esc(w)}”" for w in code.support)


def _label(code: ProposedCode) -> str:
    return f"{LABELS.get(code.system, code.system)} {code.kind}"


def _code_line(number: int, code: ProposedCode, first: bool) -> list[str]:
    tags = [_label(code), *(["first-listed"] if first else [])]
    lines = [
        f"{number}. **{_link(code)}** — {_esc(code.title)} — {_support(code)} ({', '.join(tags)})"
    ]
    if code.note:
        label = "Note" if not to_check(code.note) else "Check"
        lines.append(f"   - {label}: {_esc(code.note)}")
    return lines


def _summary(draft: Draft) -> str:
    if not draft.codes:
        return "Nothing in the case could be coded" + (
            ": see “Not coded” below." if draft.not_coded else "."
        )
    findings = len(draft.problems)
    parts = [
        f"{findings} finding{'s' if findings != 1 else ''} coded with {len(draft.codes)} "
        f"code{'s' if len(draft.codes) != 1 else ''}",
        f"{len(draft.gaps)} documentation gap{'s' if len(draft.gaps) != 1 else ''}",
        f"confidence {draft.confidence:.2f}",
    ]
    return (
        "; ".join(parts)
        + ". A draft written from the portal's code data, for a certified coder to review."
    )


def _bullets(lines: Sequence[str], empty: str) -> list[str]:
    return [f"- {_esc_quotes(line)}" for line in lines] or [f"- {empty}"]


def _esc_quotes(line: str) -> str:
    # Lines quote the case between “ ”: escape those parts, leave the portal's own text alone.
    return re.sub(r"“([^”]*)”", lambda m: f"“{_esc(m.group(1))}”", line)


def _alternatives(draft: Draft) -> list[str]:
    lines: list[str] = []
    for finding in draft.problems:
        others = finding.alternatives[:MAX_ALTERNATIVES]
        if others:
            listed = "; ".join(f"{_link(c)} {_esc(c.title)}" for c in others)
            lines.append(f"- “{_esc(finding.text)}”: {listed}")
    return lines


def render(draft: Draft, review: str = "") -> str:
    first = draft.codes[0] if draft.codes and draft.codes[0].kind == "diagnosis" else None
    out = ["## Coding draft", "", _summary(draft), "", "### Codes"]
    if draft.codes:
        for number, code in enumerate(draft.codes, start=1):
            out += _code_line(number, code, code is first)
    else:
        out.append("- None proposed.")
    out += ["", "### Sequencing", *_bullets(draft.sequencing, "Nothing to add.")]
    out += [
        "",
        "### Edits (NCCI/MUE, sample data)",
        *_bullets(draft.conflicts, "No CPT or HCPCS codes proposed: no NCCI or MUE edit applies."),
    ]
    out += ["", "### Documentation gaps", *_bullets(draft.gaps, "None found.")]
    out += ["", "### Not coded", *_bullets(draft.not_coded, "Nothing left out.")]
    alternatives = _alternatives(draft)
    if alternatives:
        out += ["", "### Other candidates", *alternatives]
    if review:
        out += ["", "### LLM review", "", review.strip()]
    out += ["", "### Sources", *_bullets(draft.releases, "No code data was used.")]
    return "\n".join(out).strip() + "\n"
