"""The CasePilot pcs_decode tool: an ICD-10-PCS code's seven characters, axis by axis. A code
the catalog does not have is read against its table, and the character that makes it invalid is
named."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import CodeView, GroupView
from features.case2code.systems import SYSTEMS, CodeFormatError
from features.casepilot.facts import ToolResult
from features.casepilot.tools_codes import code_data, group_url
from features.casepilot.tools_common import (
    LABELS,
    NAMES,
    PCS,
    code_url,
    fact,
    fail,
    not_found,
    text_arg,
    view_codes,
    view_fact,
)


async def pcs_decode(code: str) -> ToolResult:
    """The seven characters of an ICD-10-PCS code, axis by axis; a code the catalog does not
    have is decoded from its table, with the character that makes it invalid."""
    typed = text_arg(code)
    try:
        normal = SYSTEMS[PCS].normalise(typed)
    except CodeFormatError as exc:
        release = await catalog.current_release(PCS)
        return fail("pcs_decode", str(exc), NAMES[PCS], f"/codes/{PCS}", release)
    view = await catalog.get_code(PCS, normal)
    table = await catalog.group(PCS, "table", normal[:3])
    if view is not None:
        return _decode_known(view, table)
    if table is None:
        result = await not_found("pcs_decode", [(PCS, normal)])
        extra = fact(
            f"There is no ICD-10-PCS table {normal[:3]} in the loaded data, so {normal} "
            "cannot be decoded.",
            f"{LABELS[PCS]} {normal}",
            code_url(PCS, normal),
            result.facts[0].citation.release,
        )
        return replace(result, facts=(*result.facts, extra))
    return await _decode_from_table(normal, table)


def _axis_text(axis: dict[str, Any]) -> str:
    meaning = axis.get("meaning") or "meaning not in the loaded data"
    text = f"Character {axis['position']} ({axis['name']}) {axis['char']}: {meaning}"
    if axis.get("definition"):
        text += f" — {axis['definition'].rstrip('.')}"
    return text + "."


def _decode_known(view: CodeView, table: GroupView | None) -> ToolResult:
    axes = view.details.get("axes") or []
    facts = [view_fact(f"{view.display}: {view.title} (a valid ICD-10-PCS code).", view)]
    facts += [view_fact(_axis_text(a), view, "axes") for a in axes]
    data = code_data(view) | {
        "valid": True,
        "axes": axes,
        "table": {"key": table.key, "title": table.title} if table else None,
    }
    return ToolResult("pcs_decode", True, tuple(facts), data, view_codes([view]))


async def _decode_from_table(code: str, table: GroupView) -> ToolResult:
    section = await catalog.group(PCS, "section", code[0])
    names = (section.details.get("axis_names") if section else None) or [
        "Section",
        "Body System",
        "Root Operation",
        "Body Part",
        "Approach",
        "Device",
        "Qualifier",
    ]
    axes = [dict(a) for a in table.details.get("axes") or []]
    rows = (table.details.get("grid") or {}).get("rows") or []
    problem = None
    alive = list(rows)
    for offset, char in enumerate(code[3:]):
        position = offset + 4
        meanings = {v[0]: v[1] for row in rows for v in row[offset]}
        still = [row for row in alive if any(v[0] == char for v in row[offset])]
        axes.append(
            {
                "position": position,
                "name": names[position - 1],
                "char": char,
                "meaning": meanings.get(char),
            }
        )
        if problem is None and not still:
            options = sorted({v[0] for row in alive for v in row[offset]})
            problem = (
                f"Character {position} ({names[position - 1]}) {char} is not an option in "
                f"table {table.key} with the characters before it; the options there are "
                f"{', '.join(options) or 'none'}."
            )
        alive = still or alive
    label = f"{LABELS[PCS]} table {table.key}"
    url = group_url(table)
    facts = [
        fact(
            f"{code} is not a valid ICD-10-PCS code in {table.release.label}; its characters "
            f"read against table {table.key} ({table.title}):",
            label,
            url,
            table.release,
        )
    ]
    facts += [fact(_axis_text(a), label, url, table.release) for a in axes]
    if problem:
        facts.append(fact(problem, label, url, table.release))
    data = {
        "system": PCS,
        "code": code,
        "valid": False,
        "axes": axes,
        "problem": problem,
        "table": {"key": table.key, "title": table.title},
    }
    return ToolResult("pcs_decode", False, tuple(facts), data, ())
