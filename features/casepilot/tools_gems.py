"""The CasePilot crosswalk tool: the 2018 General Equivalence Mappings, ICD-10-CM <-> ICD-9-CM
both ways and ICD-9 procedures -> ICD-10-PCS, each mapping with its flags."""

from __future__ import annotations

import re
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import CodeView, RecordView, ReleaseRef
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_common import (
    CM,
    ICD9,
    ICD9_PCS,
    LABELS,
    NAMES,
    PCS,
    bad_input,
    code_url,
    dotted,
    fact,
    fail,
    resolve,
    shown,
    system_slug,
    text_arg,
    unique_codes,
    view_codes,
    view_fact,
)

TO_ICD9 = "ICD-10-CM to ICD-9-CM"
FROM_ICD9 = "ICD-9-CM to ICD-10-CM"
FROM_ICD9_PROCEDURES = "ICD-9-CM procedures to ICD-10-PCS"
_ICD9_DOTTED = re.compile(r"^(?:[0-9]{3}\.[0-9]{1,2}|V[0-9]{2}\.[0-9]{1,2}|E[0-9]{3}\.[0-9])$")
_ICD9_PROC_DOTTED = re.compile(r"^[0-9]{2}\.[0-9]{1,2}$")
_ICD9_BARE = re.compile(r"^[0-9]{3,5}$")


async def crosswalk(code: str, system: str | None = None) -> ToolResult:
    """The 2018 GEMs: ICD-10-CM <-> ICD-9-CM both ways, and ICD-9 procedures -> ICD-10-PCS, with
    each mapping's flags (approximate, no map, combination)."""
    typed = text_arg(code).upper()
    slug = system_slug(system) if system else _icd9_shape(typed)
    if system and slug is None:
        return bad_input("crosswalk", f"“{shown(system)}” is not a code system.")
    if slug in (ICD9, ICD9_PCS):
        return await _from_icd9(typed, slug)
    if slug is None and _ICD9_BARE.match(typed):
        # Digits alone are no ICD-10 code: an ICD-9 diagnosis, else an ICD-9 procedure.
        result = await _from_icd9(typed, ICD9)
        if result.ok or len(typed) > 4:
            return result
        return await _from_icd9(typed, ICD9_PCS)
    found = await resolve("crosswalk", code, slug, allowed=(CM, PCS))
    if isinstance(found, ToolResult):
        return found
    view = found.view
    if view.system == CM:
        out = (await catalog.records(("gem-10-9",), view.code))["gem-10-9"]
        back = (await catalog.records(("gem-9-10",), view.code, by_key2=True))["gem-9-10"]
        rows = [(TO_ICD9, r, r.key2) for r in out]
        rows += [(FROM_ICD9, r, r.key) for r in back]
        return await _gem_result(view, rows, ICD9, "crosswalks")
    back = (await catalog.records(("gem-9-pcs",), view.code, by_key2=True))["gem-9-pcs"]
    rows = [(FROM_ICD9_PROCEDURES, r, r.key) for r in back]
    return await _gem_result(view, rows, ICD9_PCS, "crosswalk")


def _icd9_shape(typed: str) -> str | None:
    if _ICD9_PROC_DOTTED.match(typed):
        return ICD9_PCS
    if _ICD9_DOTTED.match(typed):
        return ICD9
    return None


def flags_text(data: dict[str, Any]) -> str:
    flags = [
        name
        for name, key in (
            ("approximate", "approximate"),
            ("no map", "no_map"),
            ("combination", "combination"),
        )
        if data.get(key)
    ]
    if data.get("combination"):
        flags.append(f"scenario {data.get('scenario')}, choice list {data.get('choice_list')}")
    return ", ".join(flags) or "exact"


async def _gem_result(
    view: CodeView, rows: list[tuple[str, RecordView, str | None]], other: str, section: str
) -> ToolResult:
    titles = await catalog.codes(other, [c for _, _, c in rows if c])
    release = rows[0][1].release if rows else await catalog.current_release("gems")
    facts = [_gem_fact(view, way, r, titles.get(c or ""), other, section) for way, r, c in rows]
    if not facts:
        facts.append(
            view_fact(
                f"The {release.label if release else 'GEMs'} map nothing to or from "
                f"{view.display}.",
                view,
                section,
            )
        )
    data = {
        "system": view.system,
        "code": view.code,
        "mappings": [
            {
                "direction": way,
                "other_system": other,
                "other_code": c,
                "other_title": titles[c].title if c in titles else None,
                **r.data,
            }
            for way, r, c in rows
        ],
    }
    named = unique_codes([*view_codes([view]), *view_codes(titles.values())])
    return ToolResult("crosswalk", bool(rows), tuple(facts), data, named)


def _gem_fact(
    view: CodeView, way: str, row: RecordView, other: CodeView | None, system: str, section: str
) -> Fact:
    if other is None:
        target = "no code (no map)"
    else:
        target = f"{LABELS[system]} {other.display} {other.title}"
    pair = f"{view.display} → {target}" if way == TO_ICD9 else f"{target} → {view.display}"
    text = f"GEM {way}: {pair} ({flags_text(row.data)})."
    return fact(
        text, f"GEMs {view.display}", code_url(view.system, view.display, section), row.release
    )


async def _from_icd9(typed: str, system: str) -> ToolResult:
    normal = typed.replace(".", "")
    kind, target = ("gem-9-10", CM) if system == ICD9 else ("gem-9-pcs", PCS)
    icd9 = await catalog.get_code(system, normal)
    out = (await catalog.records((kind,), normal))[kind]
    back = (await catalog.records(("gem-10-9",), normal, by_key2=True))["gem-10-9"]
    release = icd9.release if icd9 else await catalog.current_release("gems")
    display = dotted(system, normal)
    if icd9 is None and not out:
        return fail(
            "crosswalk",
            f"{display} is not an {NAMES[system]} code in the "
            f"{release.label if release else 'GEMs'}.",
            f"{LABELS[system]} {display}",
            "/codes/icd-10-cm",
            release,
        )
    targets = await catalog.codes(
        target, [r.key2 for r in out if r.key2] + ([r.key for r in back] if system == ICD9 else [])
    )
    facts: list[Fact] = []
    if icd9 is not None:
        facts.append(
            _icd9_fact(f"{LABELS[system]} {icd9.display}: {icd9.title}.", icd9, targets, release)
        )
    for row in out:
        hit = targets.get(row.key2 or "")
        target_text = f"{hit.display} {hit.title}" if hit else "no code (no map)"
        facts.append(
            fact(
                f"GEM {NAMES[system]} to {NAMES[target]}: {display} → {target_text} "
                f"({flags_text(row.data)}).",
                f"GEMs {display}",
                code_url(target, hit.display, _gem_section(target)) if hit else f"/codes/{target}",
                row.release,
            )
        )
    data = {
        "system": system,
        "code": normal,
        "title": icd9.title if icd9 else None,
        "mappings": [{"other_system": target, "other_code": r.key2, **r.data} for r in out],
    }
    named = unique_codes([*view_codes([icd9]), *view_codes(targets.values())])
    return ToolResult("crosswalk", bool(out), tuple(facts), data, named)


def _gem_section(system: str) -> str:
    return "crosswalks" if system == CM else "crosswalk"


def _icd9_fact(
    text: str, icd9: CodeView, targets: dict[str, CodeView], release: ReleaseRef | None
) -> Fact:
    # ICD-9 codes have no page of their own: cite the crosswalk section of a code they map to.
    first = next(iter(targets.values()), None)
    url = (
        code_url(first.system, first.display, _gem_section(first.system))
        if first
        else f"/codes/{CM}"
    )
    return fact(text, f"{LABELS[icd9.system]} {icd9.display}", url, release)
