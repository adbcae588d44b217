"""CasePilot tools about one code: what it is (lookup_code) and where it sits (hierarchy), and
the code search (search_codes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import CodeView, GroupView, RecordView
from features.case2code.search import service
from features.case2code.search.hits import SearchHit, SearchQueryError, SearchUnavailable
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_billing import (
    GLOBAL_DAYS,
    STATUS,
    modifier,
)
from features.casepilot.tools_common import (
    CM,
    CPT,
    HCPCS,
    LABELS,
    PCS,
    bad_input,
    code_url,
    fact,
    fail,
    int_arg,
    money,
    resolve,
    search_url,
    shown,
    system_slug,
    text_arg,
    view_codes,
    view_fact,
)

MAX_SEARCH = 20
MAX_CHILDREN_FACTS = 30


def seventh_of(view: CodeView, lineage: list[CodeView]) -> dict[str, Any] | None:
    """The 7th-character definition that applies: the code's own or the nearest ancestor's."""
    return next(
        (v.details["seventh"] for v in [view, *reversed(lineage)] if v.details.get("seventh")),
        None,
    )


def seventh_options(seventh: dict[str, Any]) -> str:
    return "; ".join(f"{c} {m}" for c, m in seventh.get("chars", {}).items())


def status_of(view: CodeView, seventh: dict[str, Any] | None, below: int) -> str:
    """Billable, or why not, in the words the engines repeat."""
    if view.kind == "modifier":
        return "a modifier (added to a code, not reported alone)"
    char = view.details.get("seventh_char")
    if view.billable and char:
        return f"billable: its 7th character {char['char']} means {char['meaning']}"
    if view.billable:
        return "billable"
    if view.needs_seventh:
        options = f" ({seventh_options(seventh)}; defined at {seventh.get('defined_at')})"
        return "not billable: it needs a 7th character" + (options if seventh else "")
    if view.details.get("terminated"):
        return f"not billable: terminated {view.details['terminated']}"
    if view.system == CM:
        return f"not billable: a header, pick a more specific code ({below} codes below it)"
    return "not billable"


def group_url(group: GroupView) -> str:
    return f"/codes/{group.system}/{group.kind}/{group.key}"


def group_fact(text: str, group: GroupView) -> Fact:
    label = f"{LABELS[group.system]} {group.kind} {group.key}"
    return fact(text, label, group_url(group), group.release)


def code_data(view: CodeView) -> dict[str, Any]:
    return {
        "system": view.system,
        "code": view.code,
        "display": view.display,
        "title": view.title,
        "billable": view.billable,
        "kind": view.kind,
        "release": view.release.label,
        "url": view.url,
    }


async def lookup_code(code: str, system: str | None = None) -> ToolResult:
    """What a code is: its title, billable or why not, 7th character, parent, release."""
    typed = text_arg(code)
    if len(typed.lstrip("-")) == 2 and system_slug(system) in (None, HCPCS, CPT):
        return replace(await modifier(typed), tool="lookup_code")
    found = await resolve("lookup_code", code, system)
    if isinstance(found, ToolResult):
        return found
    facts, data, named = await _describe(found.view)
    # The same characters in a less likely system (J1100 is also J11.00): data only, so the
    # answer stays about the code that was meant.
    data["also"] = [code_data(v) for v in found.others]
    return ToolResult("lookup_code", True, tuple(facts), data, view_codes(named))


async def _describe(view: CodeView) -> tuple[list[Fact], dict[str, Any], list[CodeView]]:
    if view.details.get("unlicensed"):
        return await _unlicensed_cpt(view)
    lineage = await catalog.ancestors(view) if view.system == CM else []
    parent = lineage[-1] if lineage else None
    below = len(await catalog.children(view.system, view.code)) if view.system == CM else 0
    seventh = seventh_of(view, lineage) if view.system == CM else None
    status = status_of(view, seventh, below)
    title = view.title.rstrip(".")
    if view.system == CPT and view.release.sample:
        title += " (the project's own sample wording, not AMA text)"
    facts = [
        view_fact(f"{view.display}: {title}.", view),
        view_fact(f"{view.display} is {status}.", view),
    ]
    if parent is not None:
        facts.append(view_fact(f"Its parent is {parent.display} {parent.title}.", parent))
    data = code_data(view) | {
        "short_title": view.short_title,
        "status": status,
        "needs_seventh": view.needs_seventh,
        "seventh_char": view.details.get("seventh_char"),
        "seventh_options": (seventh or {}).get("chars") if view.needs_seventh else None,
        "parent": code_data(parent) if parent else None,
        "children": below,
        "unlicensed": False,
    }
    return facts, data, [view, *([parent] if parent else [])]


async def _unlicensed_cpt(view: CodeView) -> tuple[list[Fact], dict[str, Any], list[CodeView]]:
    """A CPT code only public Medicare data knows: say so, then what the MPFS says."""
    facts = [
        view_fact(
            f"{view.display} is a CPT code. Its descriptor is AMA copyright text: showing it "
            "needs an AMA CPT licence file, which this server does not have.",
            view,
            "payment",
        )
    ]
    fees = (await catalog.records(("fee",), view.code))["fee"]
    national = next((f for f in fees if not f.key2), None)
    if national is not None:
        facts.append(_public_fee_fact(view, national))
    data = code_data(view) | {
        "title": None,
        "status": "in the MPFS; descriptor needs an AMA licence",
        "unlicensed": True,
        "mpfs_status": national.data.get("status_code") if national else None,
    }
    return facts, data, [view]


def _public_fee_fact(view: CodeView, fee: RecordView) -> Fact:
    data = fee.data
    status = str(data.get("status_code") or "")
    days = str(data.get("global_days") or "")
    parts = [f"status {status} ({STATUS.get(status, 'meaning not in the data')})"]
    if days:
        parts.append(f"global period {days} ({GLOBAL_DAYS.get(days, 'see the MPFS')})")
    if data.get("non_facility_payment") is not None:
        parts.append(f"national non-facility payment {money(data['non_facility_payment'])}")
    return fact(
        f"{view.display} is in the {fee.release.label}: {', '.join(parts)}.",
        f"MPFS fee for {view.display}",
        code_url(CPT, view.display, "payment"),
        fee.release,
    )


async def search_codes(query: str, system: str | None = None, limit: int = 5) -> ToolResult:
    """The catalog search, as facts: each hit's code, title and whether it is billable."""
    slug = system_slug(system) if system else None
    if system and slug not in (CM, PCS, HCPCS, CPT):
        return bad_input(
            "search_codes",
            f"“{shown(system)}” is not a code system: use icd-10-cm, icd-10-pcs, hcpcs or cpt.",
        )
    limit = int_arg(limit, 5, 1, MAX_SEARCH)
    try:
        result = await service.search(
            text_arg(query), system=slug, limit=limit, wait=True, complete=False
        )
    except (SearchQueryError, SearchUnavailable) as exc:
        return bad_input("search_codes", str(exc))
    url = search_url(text_arg(query), slug)
    if not result.hits:
        releases = "; ".join(result.release_names) or "the loaded code sets"
        return fail(
            "search_codes",
            f"No code matches “{shown(query, 80)}” in {releases}.",
            "Code search",
            url,
            releases,
            {"query": result.query, "hits": [], "total": 0},
        )
    facts = tuple(_hit_fact(hit) for hit in result.hits)
    data = {
        "query": result.query,
        "total": result.total,
        "partial": result.partial,
        "corrections": result.corrections,
        "expansions": result.expansions,
        "hits": [_hit_data(hit) for hit in result.hits],
        "url": url,
    }
    codes = tuple(dict.fromkeys((h.system, h.code) for h in result.hits))
    return ToolResult("search_codes", True, facts, data, codes)


def _hit_status(hit: SearchHit) -> str:
    if hit.kind == "modifier":
        return "modifier"
    if hit.billable:
        return "billable"
    if hit.needs_seventh:
        return "not billable: needs a 7th character"
    return "not billable: a header" if hit.system == CM else "not billable"


def _hit_fact(hit: SearchHit) -> Fact:
    return fact(
        f"{hit.display} {hit.title} ({LABELS[hit.system]}, {_hit_status(hit)}).",
        f"{LABELS[hit.system]} {hit.display}",
        hit.url,
        hit.release,
    )


def _hit_data(hit: SearchHit) -> dict[str, Any]:
    return {
        "system": hit.system,
        "code": hit.code,
        "display": hit.display,
        "title": hit.title,
        "billable": hit.billable,
        "status": _hit_status(hit),
        "excludes1": list(hit.excludes1),
        "url": hit.url,
        "release": hit.release,
    }


async def hierarchy(code: str, system: str | None = None) -> ToolResult:
    """Where a code sits: chapter, block, ancestors and children (ICD-10-CM); section and table
    (ICD-10-PCS); the range or section (HCPCS, CPT)."""
    found = await resolve("hierarchy", code, system)
    if isinstance(found, ToolResult):
        return found
    view = found.view
    if view.system == CM:
        return await _cm_hierarchy(view)
    groups = await _groups_of(view)
    facts = [view_fact(f"{view.display}: {view.title}.", view)]
    facts += [group_fact(f"{g.kind.capitalize()} {g.key}: {g.title}.", g) for g in groups]
    if view.system == PCS:
        facts.append(
            view_fact(
                "ICD-10-PCS codes have no parent or child codes: each of the seven characters "
                "is an axis, and the table (the first three characters) groups the codes.",
                view,
                "related",
            )
        )
    data = code_data(view) | {
        "groups": [{"kind": g.kind, "key": g.key, "title": g.title} for g in groups],
        "ancestors": [],
        "children": [],
    }
    return ToolResult("hierarchy", True, tuple(facts), data, view_codes([view]))


async def _groups_of(view: CodeView) -> list[GroupView]:
    if view.system == PCS:
        found = [
            await catalog.group(PCS, "section", view.code[0]),
            await catalog.group(PCS, "table", view.code[:3]),
        ]
        return [g for g in found if g is not None]
    if view.system == HCPCS and view.group_key:
        group = await catalog.group(HCPCS, "range", view.group_key)
        return [group] if group else []
    if view.system == CPT:
        return await _cpt_groups(view.code)
    return []


async def _cpt_groups(code: str) -> list[GroupView]:
    """The narrowest CPT section or range that holds a code, after its parent section (an
    unlicensed code has no group_key, so the ranges are compared)."""
    groups = [*await catalog.groups(CPT, "section"), *await catalog.groups(CPT, "range")]
    holding = [g for g in groups if _holds(g.key, code)]
    if not holding:
        return []
    narrowest = min(holding, key=lambda g: _width(g.key))
    parent = next((g for g in groups if g.key == narrowest.parent_key), None)
    return [*([parent] if parent else []), narrowest]


def _holds(key: str, code: str) -> bool:
    """Whether a range key ("10004-19499", "0001F-9999F") holds the code."""
    first, _, last = key.partition("-")
    if not (len(first) == len(last) == len(code) == 5) or first[-1].isdigit() != code[-1].isdigit():
        return False
    if not code[-1].isdigit() and code[-1] != first[-1]:
        return False
    return first <= code <= last


def _width(key: str) -> int:
    first, _, last = key.partition("-")
    return int(last[:4]) - int(first[:4])


async def _cm_hierarchy(view: CodeView) -> ToolResult:
    lineage = await catalog.ancestors(view)
    kids = await catalog.children(CM, view.code)
    block = await catalog.group(CM, "block", view.group_key) if view.group_key else None
    chapter = (
        await catalog.group(CM, "chapter", block.parent_key) if block and block.parent_key else None
    )
    facts: list[Fact] = []
    if chapter:
        facts.append(group_fact(f"Chapter {chapter.key}: {chapter.title}.", chapter))
    if block:
        facts.append(group_fact(f"Block {block.key}: {block.title}.", block))
    facts += [view_fact(f"Ancestor {a.display}: {a.title}.", a, "hierarchy") for a in lineage]
    seventh = seventh_of(view, lineage)
    facts.append(
        view_fact(
            f"{view.display} {view.title} is {status_of(view, seventh, len(kids))}.",
            view,
            "hierarchy",
        )
    )
    if kids:
        facts.append(
            view_fact(f"{view.display} has {len(kids)} codes directly below it.", view, "hierarchy")
        )
    for kid in kids[:MAX_CHILDREN_FACTS]:
        mark = "billable" if kid.billable else "not billable"
        facts.append(view_fact(f"Below {view.display}: {kid.display} {kid.title} ({mark}).", kid))
    data = code_data(view) | {
        "chapter": {"key": chapter.key, "title": chapter.title} if chapter else None,
        "block": {"key": block.key, "title": block.title} if block else None,
        "ancestors": [code_data(a) for a in lineage],
        "children": [code_data(k) for k in kids],
    }
    return ToolResult("hierarchy", True, tuple(facts), data, view_codes([view, *lineage, *kids]))
