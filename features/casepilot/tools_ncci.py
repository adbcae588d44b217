"""The CasePilot NCCI tools: procedure-to-procedure edits among codes billed together, and
medically unlikely edits. The NCCI data here is a hand-written SAMPLE: the facts from it say
so."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import RecordView, ReleaseRef
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_billing import (
    MODIFIER_INDICATOR,
    PROCEDURE,
    is_sample,
    sample_note,
    split_code,
)
from features.casepilot.tools_common import (
    bad_input,
    code_url,
    fact,
    fail,
    known_code,
    procedure_system,
    shown,
    text_arg,
    unique_codes,
)

MAX_PAIR_FACTS = 6


def _procedure_codes(raw: Sequence[object]) -> tuple[list[str], list[str]]:
    """The CPT/HCPCS codes of a list (modifiers after a dash dropped), and the bad entries."""
    good: list[str] = []
    bad: list[str] = []
    for item in raw:
        code, _ = split_code(str(item)) if isinstance(item, str | int) else ("", None)
        if PROCEDURE.fullmatch(code) and not isinstance(item, bool):
            good.append(code)
        else:
            bad.append(shown(item))
    return list(dict.fromkeys(good)), bad


async def ncci_check(codes: list[str]) -> ToolResult:
    """Every NCCI PTP edit among the codes (either order), its modifier indicator's meaning,
    and each code's MUE."""
    if isinstance(codes, str):
        codes = re.split(r"[\s,;]+", codes.strip())
    if not isinstance(codes, list | tuple) or not codes:
        return bad_input("ncci_check", "Give a list of CPT or HCPCS codes, e.g. [99213, 20610].")
    good, bad = _procedure_codes(codes)
    release = await catalog.current_release("ncci")
    label = release.label if release else "no NCCI data"
    facts = [
        fact(
            f"“{b}” is not a CPT or HCPCS code (five characters, e.g. 99213 or J1100).",
            "NCCI check",
            "/codes/cpt",
            release,
        )
        for b in bad
    ]
    if release is None:
        facts.append(fact("No NCCI data is loaded.", "NCCI", "/codes/cpt", release))
        return ToolResult("ncci_check", False, tuple(facts), {"codes": good})
    pairs = await _edits_among(good)
    clean: list[tuple[str, str]] = []
    for first, second in combinations(good, 2):
        edits = pairs.get((first, second), []) + pairs.get((second, first), [])
        facts += [_edit_fact(e) for e in edits]
        if not edits:
            clean.append((first, second))
    facts += _no_edit_facts(clean, release)
    mues = [await mue(code) for code in good]
    for result in mues:
        facts += [f for f in result.facts if result.ok]
    rows = [_edit_data(e) for found in pairs.values() for e in found]
    data = {
        "codes": good,
        "invalid": bad,
        "edits": rows,
        "mue": {code: r.data.get("rows", []) for code, r in zip(good, mues, strict=True)},
        "release": label,
        "sample": is_sample(release),
    }
    named = unique_codes([(procedure_system(c), c) for c in good if await known_code(c)])
    return ToolResult("ncci_check", bool(good), tuple(facts), data, named)


async def _edits_among(codes: list[str]) -> dict[tuple[str, str], list[RecordView]]:
    wanted = set(codes)
    pairs: dict[tuple[str, str], list[RecordView]] = {}
    for code in codes:
        for edit in (await catalog.records(("ncci",), code))["ncci"]:
            if edit.key2 in wanted and edit.key2 != code:
                pairs.setdefault((code, edit.key2), []).append(edit)
    return pairs


def _edit_fact(edit: RecordView) -> Fact:
    data = edit.data
    indicator = MODIFIER_INDICATOR.get(data.get("modifier_indicator"), "not given")
    ended = f"deleted {data['deletion']}" if data.get("deletion") else "no deletion date"
    why = f" Rationale: {data['rationale']}." if data.get("rationale") else ""
    setting = f" ({data['setting']} edit)" if data.get("setting") else ""
    return fact(
        f"NCCI PTP edit in the {edit.release.label}{setting}: column 1 {edit.key}, column 2 "
        f"{edit.key2}; modifier indicator {indicator}; effective {data.get('effective')}, "
        f"{ended}.{why}{sample_note(edit.release)}",
        f"NCCI {edit.key}/{edit.key2}",
        code_url(procedure_system(edit.key), edit.key, "edits"),
        edit.release,
    )


def _no_edit_facts(clean: list[tuple[str, str]], release: ReleaseRef) -> list[Fact]:
    """One fact per pair without an edit; past a few pairs, one fact for them all."""
    if len(clean) <= MAX_PAIR_FACTS:
        return [_no_edit_fact(first, second, release) for first, second in clean]
    listed = ", ".join(f"{a}/{b}" for a, b in clean)
    first = clean[0][0]
    return [
        fact(
            f"No NCCI PTP edit found for these {len(clean)} pairs in the {release.label}: "
            f"{listed}.{sample_note(release)}",
            "NCCI check",
            code_url(procedure_system(first), first, "edits"),
            release,
        )
    ]


def _no_edit_fact(first: str, second: str, release: ReleaseRef) -> Fact:
    return fact(
        f"No NCCI PTP edit found between {first} and {second} in the {release.label}."
        f"{sample_note(release)}",
        f"NCCI {first}/{second}",
        code_url(procedure_system(first), first, "edits"),
        release,
    )


def _edit_data(edit: RecordView) -> dict[str, Any]:
    return {
        "column1": edit.key,
        "column2": edit.key2,
        **edit.data,
        "modifier_indicator_meaning": MODIFIER_INDICATOR.get(edit.data.get("modifier_indicator")),
        "release": edit.release.label,
    }


async def mue(code: str) -> ToolResult:
    """A code's medically unlikely edits (units per day or line), per setting."""
    typed, _ = split_code(text_arg(code))
    if not PROCEDURE.fullmatch(typed):
        return bad_input(
            "mue", f"“{shown(code)}” is not a CPT or HCPCS code (five characters, e.g. 99213)."
        )
    rows = (await catalog.records(("mue",), typed))["mue"]
    release = rows[0].release if rows else await catalog.current_release("ncci")
    url = code_url(procedure_system(typed), typed, "edits")
    if not rows:
        where = f"the {release.label}" if release else "the data (no NCCI data is loaded)"
        return fail(
            "mue",
            f"No MUE for {typed} in {where}.{sample_note(release)}",
            f"MUE {typed}",
            url,
            release,
            {"code": typed, "rows": []},
        )
    facts = tuple(_mue_fact(typed, r, url) for r in rows)
    data = {"code": typed, "rows": [{"setting": r.key2, **r.data} for r in rows]}
    named = unique_codes([(procedure_system(typed), typed)]) if await known_code(typed) else ()
    return ToolResult("mue", True, facts, data, named)


def _mue_fact(code: str, row: RecordView, url: str) -> Fact:
    data = row.data
    per = "per claim line" if data.get("adjudication_indicator") == 1 else "per day"
    how = data.get("adjudication") or f"MAI {data.get('adjudication_indicator')}"
    why = f" Rationale: {data['rationale']}." if data.get("rationale") else ""
    return fact(
        f"MUE for {code} ({row.key2 or data.get('setting')}) in the {row.release.label}: "
        f"{data.get('value')} unit(s) {per} — {how} (MAI {data.get('adjudication_indicator')})."
        f"{why}{sample_note(row.release)}",
        f"MUE {code}",
        url,
        row.release,
    )
