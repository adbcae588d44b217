"""Consult analysis: what the ICD-10-CM tabular says about the proposed codes together.

"Code first" and "use additional code" notes that name another proposed code set their order;
Excludes1 notes that name another proposed code are a conflict for the reviewer; the
hypertension combination categories (I11-I13), which the tabular points to from the kidney and
heart failure codes, replace a separate I10. Notes come from the CasePilot instructional_notes
tool, so each carries its citation. An unspecified code is checked against its siblings, to say
what the note could document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from features.case2code import catalog
from features.case2code.catalog import CodeView
from features.casepilot.facts import Citation, ToolResult
from features.casepilot.tools import instructional_notes

CM = "icd-10-cm"
MAX_SIBLINGS = 5

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
# "(E08.-)", "(I12.-, I13.-)", "(N18.1-N18.6)", "(O10-O11, O13-O16)", "Z79.4"
_REFERENCE = re.compile(rf"({_CODE})(\.?-(?![A-Z][0-9]))?(?:\s?[-–]\s?({_CODE}))?")
_UNSPECIFIED = re.compile(r"\bunspecified\b", re.IGNORECASE)
_INCLUSIVE = re.compile(r"\b(?:or|and)(?: other)?(?: and)? unspecified\b", re.IGNORECASE)
_UNSPECIFIED_SIDE = re.compile(
    r"\bunspecified (?:side|ear|eye|limb|upper limb|lower limb|hand|foot|knee|hip|shoulder|"
    r"elbow|wrist|ankle|arm|leg|thigh|lower leg|forearm|upper arm|breast|kidney|lung|ovary|"
    r"fallopian tube|finger|toe|orbit)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Note:
    """One instructional note of a code (inherited ones included)."""

    kind: str  # codeFirst | useAdditionalCode | codeAlso | excludes1
    text: str  # with the lead-in it continues ("Code first any associated: ...")
    at: str  # where it is written: the code, an ancestor, a block or a chapter
    citation: Citation


@dataclass(frozen=True)
class Order:
    """`first` goes before `then`, for the reason given."""

    first: str
    then: str
    line: str
    citations: tuple[Citation, ...]


def references(text: str) -> list[tuple[str, str]]:
    """The codes and ranges a note names, as (low, high) code prefixes without dots."""
    found: list[tuple[str, str]] = []
    for match in _REFERENCE.finditer(text):
        low = match.group(1).replace(".", "")
        high = (match.group(3) or match.group(1)).replace(".", "")
        found.append((low, high))
    return found


def names(text: str, code: str) -> bool:
    """Whether a note names the code, itself or in a category or range."""
    for low, high in references(text):
        if low == high and code.startswith(low):
            return True
        if low != high and low <= code[: len(low)] and code[: len(high)] <= high:
            return True
    return False


async def notes_of(code: str) -> tuple[list[Note], ToolResult]:
    """The notes that apply to an ICD-10-CM code, each with its lead-in and citation."""
    result = await instructional_notes(code)
    found: list[Note] = []
    if not result.ok:
        return found, result
    cites = {c.label: c for c in result.citations}
    for level in result.data.get("levels", []):
        where = level["at"]
        label = _level_label(level)
        citation = cites.get(label) or next(iter(cites.values()), None)
        if citation is None:
            continue
        for kind, items in (level.get("notes") or {}).items():
            if kind not in ("codeFirst", "useAdditionalCode", "codeAlso", "excludes1"):
                continue
            lead = ""
            for item in items:
                text = " ".join(str(item).split())
                if text.endswith(":"):
                    lead = text
                    continue
                found.append(Note(kind, f"{lead} {text}".strip(), where, citation))
    return found, result


def _level_label(level: dict[str, object]) -> str:
    kind = level.get("level")
    if kind in ("block", "chapter"):
        return f"ICD-10-CM {kind} {level['at']}"
    return f"ICD-10-CM {level['at']}"


_SAYS = {
    "codeFirst": "Code first",
    "useAdditionalCode": "Use additional code",
    "codeAlso": "Code also",
    "excludes1": "Excludes1",
}


def quote(note: Note) -> str:
    return f"{_SAYS[note.kind]}: {note.text}"


def orders(codes: Sequence[tuple[str, str]], notes: dict[str, list[Note]]) -> list[Order]:
    """Orders the notes set between proposed codes ((code, display) pairs)."""
    found: list[Order] = []
    for code, display in codes:
        for note in notes.get(code, []):
            for other, other_display in codes:
                if other == code or not names(note.text, other):
                    continue
                said = f"{display}'s tabular ({note.at}) says “{quote(note)}”"
                if note.kind == "codeFirst":
                    line = f"{other_display} before {display}: {said}."
                    found.append(Order(other, code, line, (note.citation,)))
                elif note.kind == "useAdditionalCode":
                    line = f"{display} before {other_display}: {said}."
                    found.append(Order(code, other, line, (note.citation,)))
                elif note.kind == "codeAlso":
                    line = f"{display} with {other_display}: {said} (either order)."
                    found.append(Order(code, code, line, (note.citation,)))
    return _merged(found)


def _merged(found: list[Order]) -> list[Order]:
    """One order per pair of codes, its reasons joined ("E11.22 before N18.30: E11.22's
    tabular says ...; N18.30's tabular says ...")."""
    by_pair: dict[tuple[str, str], Order] = {}
    for order in found:
        key = (order.first, order.then)
        if key not in by_pair:
            by_pair[key] = order
            continue
        kept = by_pair[key]
        reason = order.line.split(": ", 1)[1].rstrip(".")
        line = f"{kept.line[:-1]}; {reason}."
        by_pair[key] = Order(kept.first, kept.then, line, (*kept.citations, *order.citations))
    return list(by_pair.values())


def apply_orders(order: list[str], rules: Iterable[Order]) -> list[str]:
    """The codes moved as little as needed for each rule's `first` to come before its `then`
    (a rule that contradicts another stays broken rather than looping)."""
    order = list(order)
    rules = [r for r in rules if r.first != r.then]
    for _ in range(len(order) + 1):
        moved = False
        for rule in rules:
            if rule.first not in order or rule.then not in order:
                continue
            i, j = order.index(rule.first), order.index(rule.then)
            if i > j:
                order.insert(j, order.pop(i))
                moved = True
        if not moved:
            break
    return order


def excludes1_pairs(
    codes: Sequence[tuple[str, str]], notes: dict[str, list[Note]]
) -> list[tuple[Note, str, str]]:
    """Excludes1 notes of one proposed code that name another: (note, display, other's)."""
    found: list[tuple[Note, str, str]] = []
    seen: set[frozenset[str]] = set()
    for code, display in codes:
        for note in notes.get(code, []):
            if note.kind != "excludes1":
                continue
            for other, other_display in codes:
                pair = frozenset((code, other))
                if other == code or pair in seen or not names(note.text, other):
                    continue
                seen.add(pair)
                found.append((note, display, other_display))
    return found


# ---------------------------------------------------------------------------------------------
# Hypertension with kidney disease or heart failure


@dataclass(frozen=True)
class Combination:
    replaces: str  # the code it takes the place of (I10)
    view: CodeView  # the combination code, from the catalog
    line: str
    citation: Citation


def _ckd_stage_five(codes: Iterable[str]) -> bool:
    return any(c.startswith(("N185", "N186")) for c in codes)


async def hypertension_combination(
    codes: Sequence[str], notes: dict[str, list[Note]]
) -> Combination | None:
    """I12/I13 (or I11) for hypertension proposed as I10 beside CKD (N18) or heart failure
    (I50), when the tabular of those codes points to the combination category."""
    if "I10" not in codes:
        return None
    ckd = [c for c in codes if c.startswith("N18")]
    failure = [c for c in codes if c.startswith("I50")]
    if ckd and failure:
        wanted = "I132" if _ckd_stage_five(ckd) else "I130"
    elif ckd:
        wanted = "I120" if _ckd_stage_five(ckd) else "I129"
    elif failure:
        wanted = "I110"
    else:
        return None
    # The tabular's own pointer is the evidence: a "code first" note of the kidney or heart
    # failure code that names the category.
    pointer = next(
        (
            (code, note)
            for code in (*ckd, *failure)
            for note in notes.get(code, [])
            if note.kind == "codeFirst" and names(note.text, wanted)
        ),
        None,
    )
    view = await catalog.get_code(CM, wanted)
    if pointer is None or view is None or not view.billable:
        return None
    _, note = pointer
    with_what = "chronic kidney disease" if ckd else "heart failure"
    if ckd and failure:
        with_what = "heart failure and chronic kidney disease"
    line = (
        f"Combination code: hypertension with {with_what} is coded {view.display} "
        f"({view.title}) in place of I10: ICD-10-CM presumes the link between them unless the "
        f"note says they are unrelated (Official Guidelines I.C.9.a), and "
        f"{note.at}'s tabular says “{quote(note)}”."
    )
    return Combination("I10", view, line, note.citation)


# ---------------------------------------------------------------------------------------------
# Unspecified codes


def is_unspecified(title: str) -> bool:
    """An unspecified code other than for the side (the side is a gap of its own), and not a
    code whose title only takes the unspecified case in ("stage 1 through 4, or unspecified
    chronic kidney disease")."""
    rest = _INCLUSIVE.sub("", _UNSPECIFIED_SIDE.sub("", title))
    return bool(_UNSPECIFIED.search(rest))


async def more_specific(view: CodeView) -> list[CodeView]:
    """Codes beside the unspecified one that say what it leaves open: the siblings of its
    highest ancestor that is itself unspecified ("Unspecified fracture of the lower end of
    radius" -> Colles', Smith's, ...)."""
    lineage = [*await catalog.ancestors(view), view]
    top = next(
        (
            v
            for v in lineage
            if is_unspecified(v.title) and "and unspecified" not in v.title.lower()
        ),
        None,
    )
    if top is None or not top.parent:
        return []
    siblings = await catalog.children(CM, top.parent)
    return [s for s in siblings if s.code != top.code and not is_unspecified(s.title)][
        : MAX_SIBLINGS + 1
    ]
