"""CasePilot tools for ICD-10-CM data: instructional notes, 7th characters, and MS-DRG CC/MCC
designations (or an MS-DRG's title and weight)."""

from __future__ import annotations

from typing import Any

from features.case2code import catalog
from features.case2code.catalog import CodeView, GroupView, ReleaseRef
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_codes import group_url, seventh_of, seventh_options
from features.casepilot.tools_common import (
    CM,
    LABELS,
    NAMES,
    Found,
    bad_input,
    code_url,
    current_label,
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
from features.casepilot.tools_text import cm_codes_in, join_notes

NOTE_LABELS = {
    "includes": "Includes",
    "inclusionTerm": "Inclusion terms",
    "excludes1": "Excludes1 (not coded here: never together)",
    "excludes2": "Excludes2 (not included here: may be coded together)",
    "codeFirst": "Code first",
    "useAdditionalCode": "Use additional code",
    "codeAlso": "Code also",
    "notes": "Note",
}
MSDRG_URL = (
    "https://www.cms.gov/medicare/payment/prospective-payment-systems/acute-inpatient-pps/"
    "ms-drg-classifications-and-software"
)


async def _cm_code(tool: str, code: str, system: str | None) -> Found | ToolResult:
    slug = system_slug(system) if system else None
    if system and slug is None:
        return bad_input(tool, f"“{shown(system)}” is not a code system.")
    if slug not in (None, CM):
        return bad_input(
            tool,
            f"{tool} is about ICD-10-CM codes; {NAMES[slug]} codes have no such data "
            "(ICD-10-PCS: use pcs_decode or guidelines).",
        )
    return await resolve(tool, code, CM, allowed=(CM,))


async def instructional_notes(code: str, system: str = CM) -> ToolResult:
    """The ICD-10-CM notes that apply to a code: its own, then each ancestor's, its block's and
    its chapter's, each labelled with the level it comes from."""
    found = await _cm_code("instructional_notes", code, system)
    if isinstance(found, ToolResult):
        return found
    view = found.view
    lineage = await catalog.ancestors(view)
    block = await catalog.group(CM, "block", view.group_key) if view.group_key else None
    chapter = (
        await catalog.group(CM, "chapter", block.parent_key) if block and block.parent_key else None
    )
    levels = [_code_level(view, "code", view)]
    levels += [_code_level(a, "ancestor", view) for a in reversed(lineage)]
    levels += [_group_level(g) for g in (block, chapter) if g is not None]
    facts: list[Fact] = []
    texts: list[str] = []
    for level in levels:
        for kind, notes in level["notes"].items():
            facts.append(_note_fact(level, kind, notes))
            texts += notes
    if not facts:
        facts.append(
            view_fact(
                f"No instructional notes apply to {view.display} (none at the code, its "
                "ancestors, its block or its chapter).",
                view,
                "notes",
            )
        )
    data = {
        "system": CM,
        "code": view.code,
        "display": view.display,
        "levels": [{k: v for k, v in level.items() if k != "cite"} for level in levels],
    }
    named = unique_codes([*view_codes([view, *lineage]), *await cm_codes_in(texts)])
    return ToolResult("instructional_notes", True, tuple(facts), data, named)


def _code_level(level: CodeView, kind: str, view: CodeView) -> dict[str, Any]:
    return {
        "level": kind,
        "at": level.display,
        "title": level.title,
        "notes": level.details.get("notes") or {},
        "cite": (
            f"{LABELS[CM]} {level.display}",
            code_url(CM, view.display, "notes"),
            level.release,
        ),
    }


def _group_level(group: GroupView) -> dict[str, Any]:
    return {
        "level": group.kind,
        "at": group.key,
        "title": group.title,
        "notes": group.details.get("notes") or {},
        "cite": (f"{LABELS[CM]} {group.kind} {group.key}", group_url(group), group.release),
    }


def _note_fact(level: dict[str, Any], kind: str, notes: list[str]) -> Fact:
    where = {
        "code": f"At {level['at']} itself",
        "ancestor": f"Inherited from {level['at']} ({level['title']})",
        "block": f"Inherited from block {level['at']} ({level['title']})",
        "chapter": f"Inherited from chapter {level['at']} ({level['title']})",
    }[level["level"]]
    label, url, release = level["cite"]
    return fact(
        f"{where} — {NOTE_LABELS.get(kind, kind)}: {join_notes(notes)}", label, url, release
    )


async def seventh_characters(code: str) -> ToolResult:
    """The 7th characters an ICD-10-CM code takes, and the placeholder X rule."""
    found = await _cm_code("seventh_characters", code, CM)
    if isinstance(found, ToolResult):
        return found
    view = found.view
    lineage = await catalog.ancestors(view)
    own = view.details.get("seventh_char")
    base_view = lineage[-1] if own and lineage else view
    seventh = seventh_of(base_view, await catalog.ancestors(base_view) if own else lineage)
    if seventh is None:
        return ToolResult(
            "seventh_characters",
            True,
            (
                view_fact(
                    f"{view.display} takes no 7th character: no 7th-character definition "
                    "applies to it or its ancestors.",
                    view,
                    "notes",
                ),
            ),
            {"code": view.code, "display": view.display, "applies": False},
            view_codes([view]),
        )
    kids = [k for k in await catalog.children(CM, base_view.code) if k.details.get("seventh_char")]
    facts = _seventh_facts(view, base_view, seventh, kids)
    data = {
        "code": view.code,
        "display": view.display,
        "applies": True,
        "defined_at": seventh.get("defined_at"),
        "chars": seventh.get("chars", {}),
        "note": seventh.get("note") or None,
        "exceptions": seventh.get("exceptions") or [],
        "this_char": own,
        "codes": [{"code": k.display, "title": k.title} for k in kids],
    }
    return ToolResult(
        "seventh_characters", True, tuple(facts), data, view_codes([view, base_view, *kids])
    )


def _seventh_facts(
    view: CodeView, base: CodeView, seventh: dict[str, Any], kids: list[CodeView]
) -> list[Fact]:
    defined = seventh.get("defined_at")
    options = seventh_options(seventh)
    own = view.details.get("seventh_char")
    if own:
        lead = (
            f"{view.display} already has its 7th character {own['char']} ({own['meaning']}); "
            f"the 7th characters defined at {defined} are: {options}."
        )
    elif base.needs_seventh:
        lead = (
            f"{view.display} needs a 7th character; the options, defined at {defined}: {options}."
        )
    else:
        lead = (
            f"{view.display} is not a code to report: 7th characters defined at {defined} apply "
            f"to the codes below it: {options}."
        )
    facts = [view_fact(lead, view, "notes")]
    if base.needs_seventh:
        padded = base.code.ljust(6, "X")
        example = dotted(CM, padded + next(iter(seventh.get("chars") or {"A": ""})))
        rule = (
            f"{base.display} has {len(base.code)} characters, so the placeholder X fills "
            f"places {len(base.code) + 1} to 6 before the 7th character (e.g. {example})."
            if len(base.code) < 6
            else f"{base.display} already has six characters: no placeholder X is needed "
            f"(e.g. {example})."
        )
        facts.append(view_fact(rule, base, "hierarchy"))
    if kids:
        listed = "; ".join(f"{k.display} {k.details['seventh_char']['meaning']}" for k in kids)
        facts.append(view_fact(f"The codes to report: {listed}.", base, "hierarchy"))
    if seventh.get("note"):
        note = seventh["note"].rstrip(".")
        facts.append(view_fact(f"Note at {defined}: {note}.", view, "notes"))
    for rule in seventh.get("exceptions") or []:
        facts.append(
            view_fact(
                f"Exception at {defined}: 7th character(s) {', '.join(rule['chars'])} do not "
                f"apply when the 6th character is {' or '.join(rule['sixth'])}.",
                view,
                "notes",
            )
        )
    return facts


async def drg_facts(code: str) -> ToolResult:
    """MS-DRG: whether an ICD-10-CM code is a CC or an MCC (with its exclusions), or an MS-DRG's
    title, MDC, type and weight when given a DRG number."""
    typed = text_arg(code).upper().removeprefix("DRG").removeprefix("MS-DRG").strip()
    if typed.isdigit() and len(typed) <= 3:
        return await _drg_number(typed.zfill(3))
    found = await _cm_code("drg_facts", code, CM)
    if isinstance(found, ToolResult):
        return found
    view = found.view
    rows = (await catalog.records(("drg-cc",), view.code))["drg-cc"]
    release = rows[0].release if rows else await catalog.current_release("ms-drg")
    label = release.label if release else "the MS-DRG data (not loaded)"
    if not rows:
        text = f"{view.display} is neither a CC nor an MCC in {label}."
        return ToolResult(
            "drg_facts",
            True,
            (_drg_fact(text, view, release),),
            {"code": view.code, "level": None, "release": label},
            view_codes([view]),
        )
    data = rows[0].data
    facts = [_drg_fact(t, view, release) for t in await _cc_texts(view, data, label)]
    return ToolResult(
        "drg_facts",
        True,
        tuple(facts),
        {"code": view.code, "release": label, **data},
        view_codes([view]),
    )


def _drg_fact(text: str, view: CodeView, release: ReleaseRef | None) -> Fact:
    return fact(text, f"MS-DRG {view.display}", code_url(CM, view.display, "drg"), release)


async def _cc_texts(view: CodeView, data: dict[str, Any], label: str) -> list[str]:
    level = data.get("level")
    kind = (
        "a major complication or comorbidity" if level == "MCC" else "a complication or comorbidity"
    )
    texts = [
        f"{view.display} is {'an' if level == 'MCC' else 'a'} {level} ({kind}) as a "
        f"secondary diagnosis in {label}."
    ]
    article = "an" if level == "MCC" else "a"
    if data.get("pdx_exclusion"):
        texts.append(
            f"It is not {article} {level} when the principal diagnosis is one of the "
            f"{data.get('pdx_exclusion_count')} codes of PDX exclusion collection "
            f"{data['pdx_exclusion']} (CMS Table 6K)."
        )
    if data.get("alive_only"):
        texts.append(f"It counts as {article} {level} only when the patient is discharged alive.")
    for drgs in data.get("excluded_in_drgs") or []:
        group = (await catalog.records(("drg-cc-drg-exclusion",), drgs.split("-")[0]))[
            "drg-cc-drg-exclusion"
        ]
        title = f" ({group[0].data['title']})" if group and group[0].data.get("title") else ""
        texts.append(f"It is not a CC or MCC in MS-DRGs {drgs}{title} (CMS Table 6K, part 3).")
    return texts


async def _drg_number(drg: str) -> ToolResult:
    rows = (await catalog.records(("ms-drg",), drg))["ms-drg"]
    if not rows:
        label = await current_label("ms-drg")
        return fail(
            "drg_facts", f"MS-DRG {drg} is not in {label}.", f"MS-DRG {drg}", MSDRG_URL, label
        )
    row = rows[0]
    d = row.data
    parts = [f"MS-DRG {drg}: {d.get('title')}"]
    if d.get("mdc"):
        parts.append(f"MDC {d['mdc']} ({d.get('mdc_title') or 'title not in the data'})")
    if d.get("type"):
        parts.append(f"type {d['type']}")
    if d.get("weight") is not None:
        parts.append(f"relative weight {d['weight']}")
    if d.get("gmlos") is not None:
        parts.append(f"geometric mean length of stay {d['gmlos']} days")
    if d.get("retired"):
        parts.append(f"retired {d['retired']}")
    return ToolResult(
        "drg_facts",
        True,
        (fact("; ".join(parts) + ".", f"MS-DRG {drg}", MSDRG_URL, row.release),),
        {"drg": drg, **d},
    )
