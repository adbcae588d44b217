"""Consult analysis: NCCI procedure-to-procedure edits among the proposed CPT/HCPCS codes and
their medically unlikely edits, through the CasePilot tools (ncci_check, mue).

The NCCI data the portal ships is a hand-written SAMPLE: every line says so, with the release
it came from, so a reviewer never mistakes it for the CMS files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from features.casepilot.facts import Citation, ToolResult
from features.casepilot.tools import mue, ncci_check

MAX_CODES = 20  # what ncci_check takes


@dataclass(frozen=True)
class Edits:
    lines: tuple[str, ...] = ()
    pairs: int = 0  # PTP edits found among the codes (each is a conflict to resolve)
    citations: tuple[Citation, ...] = field(default=())


def _data_label(result: ToolResult) -> str:
    release = result.data.get("release") or "the NCCI data"
    sample = result.data.get("sample", True)
    return f"SAMPLE data: {release}" if sample else str(release)


def _pair_line(rows: list[dict[str, Any]], label: str) -> str:
    row = rows[0]
    first, second = row["column1"], row["column2"]
    settings = ", ".join(dict.fromkeys(str(r.get("setting") or "all") for r in rows))
    indicator = row.get("modifier_indicator")
    meaning = row.get("modifier_indicator_meaning") or "meaning not in the data"
    if indicator == 0:
        advice = f"{second} is not paid with {first}: report {first} alone"
    elif indicator == 1:
        advice = (
            f"{second} is paid with {first} only with a modifier (59 or X{{EPSU}}) when the "
            "record shows a distinct service"
        )
    else:
        advice = "the edit does not apply"
    why = f" Rationale: {row['rationale']}." if row.get("rationale") else ""
    return (
        f"NCCI PTP edit ({label}; {settings}): column 1 {first}, column 2 {second} — modifier "
        f"indicator {meaning}; {advice}.{why}"
    )


def _mue_line(code: str, rows: list[dict[str, Any]], label: str) -> str:
    parts = []
    for row in rows:
        per = "per claim line" if row.get("adjudication_indicator") == 1 else "per day"
        setting = row.get("setting") or "all settings"
        parts.append(f"{row.get('value')} unit(s) {per} ({setting})")
    return f"MUE for {code} ({label}): {'; '.join(parts)}."


def _grouped(edits: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in edits:
        pairs.setdefault((row["column1"], row["column2"]), []).append(row)
    return pairs


async def check(codes: Sequence[str]) -> Edits:
    """The PTP edits among the codes (CPT/HCPCS, no modifiers) and each code's MUE."""
    wanted = list(dict.fromkeys(codes))[:MAX_CODES]
    if not wanted:
        return Edits()
    if len(wanted) == 1:
        result = await mue(wanted[0])
        rows = result.data.get("rows") or []
        if not rows:
            return Edits(citations=tuple(result.citations))
        release = rows_release(result)
        label = f"SAMPLE data: {release}" if "sample" in release.lower() else release
        return Edits((_mue_line(wanted[0], rows, label),), 0, tuple(result.citations))
    result = await ncci_check(wanted)
    label = _data_label(result)
    pairs = _grouped(result.data.get("edits") or [])
    lines = [_pair_line(rows, label) for rows in pairs.values()]
    if not pairs and result.ok:
        lines.append(f"No NCCI PTP edit among {', '.join(wanted)} ({label}).")
    for code, rows in (result.data.get("mue") or {}).items():
        if rows:
            lines.append(_mue_line(code, rows, label))
    return Edits(tuple(lines), len(pairs), tuple(result.citations))


def rows_release(result: ToolResult) -> str:
    cites = result.citations
    return cites[0].release if cites else "the NCCI data"
