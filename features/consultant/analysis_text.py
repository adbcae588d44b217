"""Consult analysis, step one: the case text made ready for case to code.

A consult is often an operative note or a question about a claim, which case to code (made for
visit notes) does not read as such: "Procedure:" or "Preoperative diagnosis:" would become words
of a problem, "EBL: 20 mL" a problem of its own. Here such headings are blanked out, and the
sections they open are recorded, the note keeping its length so that every offset case_text
gives still points into the case as sent. Codes the case names ("billed 80053") are found.

Pure text work, no database. The case is health information even when de-identified: nothing
here logs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from features.case2code.case_text import MAX_NOTE_CHARS, clean_note
from features.casepilot.code_check import Mention, find_codes

Kind = Literal["diagnosis", "procedure", "supply"]


def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Heading labels case_text does not know, by what their section holds.
PROCEDURE, _POSTOP, _PREOP, _REASON, _ADMIN, QUESTION, _FINDINGS, _COMPLICATIONS, _TITLE = (
    "procedure",
    "postop",
    "preop",
    "reason",
    "admin",
    "question",
    "findings",
    "complications",
    "title",
)


def _labels(kind: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, kind)


_OWN_HEADINGS: dict[str, str] = {
    **_labels(
        PROCEDURE,
        "procedure",
        "procedures",
        "procedure performed",
        "procedures performed",
        "procedure done",
        "name of procedure",
        "operation",
        "operations",
        "operation performed",
        "operative procedure",
        "surgery",
        "surgery performed",
        "service",
        "services",
        "services performed",
        "services provided",
    ),
    **_labels(
        _POSTOP,
        *(
            f"{prefix}{sep}op{suffix} {noun}"
            for prefix in ("post",)
            for sep in ("", "-", " ")
            for suffix in ("", "erative")
            for noun in ("diagnosis", "diagnoses", "dx")
        ),
    ),
    **_labels(
        _PREOP,
        *(
            f"{prefix}{sep}op{suffix} {noun}"
            for prefix in ("pre",)
            for sep in ("", "-", " ")
            for suffix in ("", "erative")
            for noun in ("diagnosis", "diagnoses", "dx")
        ),
    ),
    **_labels(
        _REASON,
        "indication",
        "indications",
        "indications for procedure",
        "reason for procedure",
        "reason for surgery",
    ),
    **_labels(
        _ADMIN,
        "surgeon",
        "assistant",
        "assistants",
        "assistant surgeon",
        "anesthesia",
        "anaesthesia",
        "anesthesiologist",
        "ebl",
        "estimated blood loss",
        "blood loss",
        "specimen",
        "specimens",
        "drain",
        "drains",
        "fluids",
        "iv fluids",
        "urine output",
        "implants",
        "wound class",
        "condition",
        "date",
        "date of service",
        "dos",
        "provider",
        "attending",
        "location",
        "pos",
        "place of service",
        "insurance",
        "payer",
        "mrn",
        "age",
        "sex",
        "time",
        "duration",
    ),
    **_labels(
        QUESTION,
        "question",
        "questions",
        "query",
        "coding question",
        "billing question",
        "claim",
        "billed",
        "codes billed",
        "billed codes",
        "codes",
        "cpt",
        "denial",
        "denial reason",
    ),
    **_labels(_FINDINGS, "findings", "operative findings", "intraoperative findings"),
    # Titles of the whole note: the label goes, the text is read as usual.
    **_labels(
        _TITLE,
        "op note",
        "operative note",
        "operative report",
        "brief op note",
        "brief operative note",
        "procedure note",
        "note",
        "case",
        "case details",
        "details",
        "history",
    ),
    **_labels(_COMPLICATIONS, "complications", "complication"),
}
# Headings case_text reads as usual; recorded here for the first-listed diagnosis only.
_KNOWN_HEADINGS: dict[str, str] = {
    **_labels(_REASON, "reason for visit", "reason for encounter"),
    **_labels("complaint", "chief complaint", "cc", "presenting complaint"),
    **_labels(
        "assessment",
        "assessment",
        "a",
        "impression",
        "diagnosis",
        "diagnoses",
        "dx",
        "a/p",
        "assessment and plan",
        "assessment/plan",
    ),
}
_HEADING = re.compile(r"[ \t]*(?:[-*•][ \t]+)?([A-Za-z][A-Za-z/&\- ]{0,38}?)[ \t]*:(?!\d)")
_NOTHING = re.compile(r"\s*(?:none|no|nil|n/?a|zero|0)\b[\s.]*", re.IGNORECASE)

_BILLING = re.compile(r"\b(?:bill|billed|billing|claim|code|codes|coded|cpt|hcpcs|icd)\b", re.I)
_BILLING_WORDS = re.compile(
    r"\b(?:bill|billed|billing|claim|claims|code|codes|coded|cpt|hcpcs|icd-?10(?:-?cm)?|dx|"
    r"submitted|reported|and|with|for)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Section:
    kind: str
    start: int  # the section's text, after its heading
    end: int


@dataclass(frozen=True)
class PreparedCase:
    note: str  # the case as analysed: own headings and admin sections blanked, same length
    sections: tuple[Section, ...]
    named: tuple[Mention, ...]  # codes the case names itself
    left_out: int = 0  # characters past the analysis limit
    postop_only: bool = False  # both diagnoses given: the preoperative one was left out
    findings_left_out: bool = False

    def kind_at(self, offset: int) -> str | None:
        return next((s.kind for s in self.sections if s.start <= offset < s.end), None)


def blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def _cut(text: str) -> tuple[str, int]:
    """The case up to the analysis limit, cut at a paragraph or line break when there is one."""
    note = clean_note(text)
    if len(note) <= MAX_NOTE_CHARS:
        return note, 0
    head = note[:MAX_NOTE_CHARS]
    cut = max(head.rfind("\n\n"), head.rfind("\n"))
    if cut < MAX_NOTE_CHARS // 2:
        cut = MAX_NOTE_CHARS
    return note[:cut], len(note) - cut


@dataclass
class _Scanned:
    kind: str
    own: bool  # a heading of ours (blanked), not one case_text reads
    head: int  # where its label starts
    start: int  # its text
    end: int


def _lines(note: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in note.split("\n"):
        spans.append((offset, offset + len(line)))
        offset += len(line) + 1
    return spans


def _scan_sections(note: str) -> list[_Scanned]:
    """The note's sections under the headings this module knows. A heading alone on its line
    heads the lines below it up to a blank line or the next heading, as case_text reads them;
    with text after it, that text only."""
    known = {**_KNOWN_HEADINGS, **_OWN_HEADINGS}
    found: list[_Scanned] = []
    current: _Scanned | None = None
    for start, end in _lines(note):
        heading = _HEADING.match(note, start, end)
        label = " ".join(heading.group(1).lower().split()) if heading else ""
        blank_line = not note[start:end].strip()
        if current is not None and (blank_line or label in known):
            found.append(current)
            current = None
        if heading and label in known:
            section = _Scanned(known[label], label in _OWN_HEADINGS, heading.start(1), end, end)
            if note[heading.end() : end].strip():
                found.append(replace(section, start=heading.end()))
            else:
                current = section
        elif current is not None and not blank_line:
            current.end = end
    if current is not None:
        found.append(current)
    return found


def prepare(text: str) -> PreparedCase:
    """The case made ready for case to code (see the module's docstring)."""
    note, left_out = _cut(text or "")
    chars = list(note)
    scanned = _scan_sections(note)
    kinds = {s.kind for s in scanned}
    postop_only = _POSTOP in kinds and _PREOP in kinds
    findings_left_out = _POSTOP in kinds and _FINDINGS in kinds
    sections: list[Section] = []
    for found in scanned:
        if found.own:
            blank(chars, found.head, found.start)  # the label and its colon
        dropped = (
            found.kind == _ADMIN
            or (found.kind == _PREOP and postop_only)
            or (found.kind == _FINDINGS and findings_left_out)
            or (
                found.kind == _COMPLICATIONS
                and _NOTHING.fullmatch(note[found.start : found.end]) is not None
            )
        )
        if dropped:
            blank(chars, found.start, found.end)
        else:
            sections.append(Section(found.kind, found.start, found.end))
    prepared = PreparedCase(
        "".join(chars), tuple(sections), (), left_out, postop_only, findings_left_out
    )
    named = named_codes(prepared)
    for mention in named:
        blank(chars, mention.start, mention.end)
        # "Billed 99213 for this visit": the words about the claim are not a problem either.
        line_start = note.rfind("\n", 0, mention.start) + 1
        line_end = note.find("\n", mention.end)
        for word in _BILLING_WORDS.finditer(
            note, line_start, line_end if line_end != -1 else len(note)
        ):
            blank(chars, word.start(), word.end())
    return PreparedCase(
        "".join(chars), tuple(sections), named, left_out, postop_only, findings_left_out
    )


def named_codes(prepared: PreparedCase) -> tuple[Mention, ...]:
    """Codes the case names: any shaped only like a code, and a bare number (80053) where the
    case talks about billing or asks a question."""
    note = prepared.note
    kept: list[Mention] = []
    for mention in find_codes(note):
        if not mention.certain:
            line_start = note.rfind("\n", 0, mention.start) + 1
            line_end = note.find("\n", mention.end)
            line = note[line_start : line_end if line_end != -1 else len(note)]
            billing = _BILLING.search(line) is not None
            if not billing and prepared.kind_at(mention.start) != QUESTION:
                continue
        kept.append(mention)
    return tuple(kept)
