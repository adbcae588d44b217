"""Consult analysis: the proposed codes in reporting order, with why, and what the ICD-10-CM
tabular says about them together (combination codes, Excludes1, unspecified codes).

Order: the diagnosis most likely the reason for the encounter first (Official Guidelines IV.G:
the reviewer confirms it against the whole record), the other diagnoses as the case names
them, moved as the tabular's "code first" / "use additional code" notes require; external
cause codes last among them; then procedures and supplies in the case's order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from features.consultant import analysis_rules as rules
from features.consultant import analysis_words as words
from features.consultant.analysis_types import ProposedCode

if TYPE_CHECKING:
    from features.consultant.analysis_build import Builder, Item

CM = "icd-10-cm"
_EXTERNAL = tuple("VWXY")  # external cause codes: never first-listed, reported after


def _diagnoses(builder: Builder) -> list[Item]:
    return sorted((i for i in builder.items if i.kind == "diagnosis"), key=lambda i: i.at)


def _unique(codes: list[ProposedCode]) -> list[ProposedCode]:
    seen: dict[tuple[str, str], ProposedCode] = {}
    for code in codes:
        key = (code.system, code.code)
        if key in seen:
            merged = tuple(dict.fromkeys((*seen[key].support, *code.support)))
            seen[key] = replace(seen[key], support=merged)
        else:
            seen[key] = code
    return list(seen.values())


async def _notes(codes: list[ProposedCode]) -> dict[str, list[rules.Note]]:
    found: dict[str, list[rules.Note]] = {}
    for code in codes:
        if code.system == CM and code.code not in found:
            found[code.code], _ = await rules.notes_of(code.code)
    return found


async def _combine(builder: Builder, notes: dict[str, list[rules.Note]]) -> None:
    """Hypertension proposed as I10 beside CKD or heart failure: the combination code instead."""
    codes = [c.code for i in _diagnoses(builder) for c in i.codes if c.system == CM]
    found = await rules.hypertension_combination(codes, notes)
    if found is None:
        return
    support = tuple(
        dict.fromkeys(
            w
            for i in _diagnoses(builder)
            for c in i.codes
            if c.system == CM and (c.code == found.replaces or c.code.startswith(("N18", "I50")))
            for w in c.support
        )
    )
    combined = builder.proposed(found.view, "diagnosis", support, "combination code")
    builder.views[(CM, found.view.code)] = found.view
    for item in builder.items:
        if any(c.code == found.replaces and c.system == CM for c in item.codes):
            old = next(c for c in item.codes if c.code == found.replaces)
            item.codes = [combined if c is old else c for c in item.codes]
            item.alternatives.insert(0, old)
    builder.sequencing.append(found.line)
    builder.citations.append(found.citation)
    notes[found.view.code], _ = await rules.notes_of(found.view.code)


def _first_listed(items: list[Item]) -> Item | None:
    candidates = [i for i in items if not i.codes[0].code.startswith(_EXTERNAL)]
    return min(candidates, key=lambda i: (i.rank[0], i.at), default=None)


async def sequence(builder: Builder) -> None:
    items = _diagnoses(builder)
    notes = await _notes([c for i in items for c in i.codes])
    await _combine(builder, notes)
    first = _first_listed(items)
    ordered = _unique(
        [*(first.codes if first else []), *(c for i in items if i is not first for c in i.codes)]
    )
    pairs = [(c.code, c.display) for c in ordered if c.system == CM]
    found = rules.orders(pairs, notes)
    keys = rules.apply_orders([c.code for c in ordered], found)
    by_code = {c.code: c for c in ordered}
    dx = [by_code[k] for k in keys]
    dx = [c for c in dx if not c.code.startswith(_EXTERNAL)] + [
        c for c in dx if c.code.startswith(_EXTERNAL)
    ]
    others = _unique([c for i in sorted(builder.items, key=lambda i: i.at) for c in i.codes])
    builder.order = dx + [c for c in others if c.kind != "diagnosis"]
    if first is not None and dx:
        builder.sequencing.insert(0, words.first_listed(dx[0], first.rank[1]))
    for rule in found:
        builder.sequencing.append(rule.line)
        builder.citations += rule.citations
    builder.sequencing += words.context_lines(builder.prepared, builder.order)
    _excludes1(builder, pairs, notes)
    await _unspecified(builder, dx)


def _excludes1(
    builder: Builder, pairs: list[tuple[str, str]], notes: dict[str, list[rules.Note]]
) -> None:
    for note, display, other in rules.excludes1_pairs(pairs, notes):
        builder.gaps.append(words.excludes1(note, display, other, rules.quote(note)))
        builder.citations.append(note.citation)


async def _unspecified(builder: Builder, codes: list[ProposedCode]) -> None:
    for code in codes:
        if code.system != CM or not rules.is_unspecified(code.title):
            continue
        view = builder.views.get((CM, code.code))
        if view is None:
            continue
        options = await rules.more_specific(view)
        builder.gaps.append(words.unspecified(code, options, rules.MAX_SIBLINGS))
