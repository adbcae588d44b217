"""Code pages for ICD-10-PCS, HCPCS Level II and CPT (ICD-10-CM is in pages.py)."""

from __future__ import annotations

from typing import Any

from features.case2code import catalog, describe
from features.case2code.catalog import CodeView, RecordView
from features.case2code.pages import CodePage, Section, history_section, sources, status_of
from features.case2code.systems import System

# Fee schedule fields shown as "modifier and policy indicators" on CPT and HCPCS pages.
POLICY_KEYS = (
    "status_code",
    "pctc_indicator",
    "multiple_procedure",
    "bilateral_surgery",
    "assistant_surgery",
    "co_surgeons",
    "team_surgery",
    "endoscopic_base_code",
    "physician_supervision",
    "diagnostic_imaging_family",
    "not_used_for_medicare_payment",
)


def facts(data: dict[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """(label, value) pairs of a record's fields, in the order the importer wrote them."""
    labels = data.get("_labels", {}) if isinstance(data.get("_labels"), dict) else {}
    rows = []
    for key, value in data.items():
        if (
            key.startswith("_")
            or key in skip
            or value in (None, "", [], {})
            or isinstance(value, dict)
        ):
            continue
        shown = labels.get(key)
        if isinstance(value, list):
            meanings = shown if isinstance(shown, list) else [None] * len(value)
            text = "; ".join(
                f"{v} ({m})" if m else str(v) for v, m in zip(value, meanings, strict=False)
            )
        else:
            text = f"{value} ({shown})" if shown else str(value)
        rows.append((key.replace("_", " ").capitalize(), text))
    return rows


async def _edits(code: str) -> dict[str, Any]:
    as_first = await catalog.records(("ncci", "mue"), code)
    as_second = await catalog.records(("ncci",), code, by_key2=True)
    release = next(
        (r.release for r in [*as_first["ncci"], *as_first["mue"], *as_second["ncci"]]), None
    ) or await catalog.current_release("ncci")
    return {
        "column1": as_first["ncci"],
        "column2": as_second["ncci"],
        "mue": as_first["mue"],
        "release": release,
    }


def _fee_sources(fees: list[RecordView]) -> list[str]:
    return sources(*(f.release for f in fees[:1]))


async def _fees(code: str) -> list[RecordView]:
    return (await catalog.records(("fee",), code))["fee"]


async def _hcpcs(system: System, view: CodeView) -> CodePage:
    fees = await _fees(view.code)
    edits = await _edits(view.code)
    modifiers = sorted({f.key2 for f in fees if f.key2})
    sections = [
        Section(
            "coverage",
            "Coverage and pricing indicators",
            "facts.html",
            sources(view.release),
            {"facts": facts(view.details), "empty": "No indicators in the HCPCS file."},
        ),
        Section(
            "modifiers",
            "Modifiers",
            "hcpcs_modifiers.html",
            sources(view.release, *(f.release for f in fees[:1])),
            {"modifiers": modifiers, "is_modifier": view.kind == "modifier"},
        ),
        Section("edits", "NCCI edits and MUE", "edits.html", sources(edits["release"]), edits),
        Section("fees", "Fee schedule", "fees.html", _fee_sources(fees), {"fees": fees}),
        await history_section(view, system.code_set),
    ]
    plain = describe.hcpcs(view, fees)
    crumbs = [(system.label, f"/codes/{system.slug}")]
    if view.group_key:
        crumbs.append((view.group_key, f"/codes/{system.slug}/range/{view.group_key}"))
    return CodePage(system, view, crumbs, plain, status_of(view), sections, sources(view.release))


async def _cpt(system: System, view: CodeView) -> CodePage:
    fees = await _fees(view.code)
    edits = await _edits(view.code)
    national = next((f for f in fees if not f.key2), fees[0] if fees else None)
    related = (
        [c for c in (await catalog.in_group(system.slug, view.group_key)) if c.code != view.code]
        if view.group_key
        else []
    )
    sections = [
        Section("payment", "RVUs and payment", "fees.html", _fee_sources(fees), {"fees": fees}),
        Section("edits", "NCCI edits and MUE", "edits.html", sources(edits["release"]), edits),
        Section(
            "indicators",
            "Modifier and policy indicators",
            "facts.html",
            _fee_sources(fees),
            {
                "facts": [
                    f for f in facts(national.data) if f[0].lower().replace(" ", "_") in POLICY_KEYS
                ]
                if national
                else [],
                "empty": "No MPFS row for this code.",
            },
        ),
        Section("global", "Global period", "global.html", _fee_sources(fees), {"fee": national}),
        Section(
            "related",
            "Related codes in its range",
            "code_list.html",
            sources(view.release),
            {"codes": related[:80], "empty": "No other codes of this range are loaded."},
        ),
    ]
    plain = describe.cpt(view, national)
    crumbs = [(system.label, f"/codes/{system.slug}")]
    if view.group_key:
        crumbs.append((view.group_key, f"/codes/{system.slug}/range/{view.group_key}"))
    return CodePage(system, view, crumbs, plain, status_of(view), sections, sources(view.release))


async def _pcs(system: System, view: CodeView) -> CodePage:
    table = await catalog.group(system.slug, "table", view.code[:3])
    operation = await catalog.records(("pcs-root-operation",), view.code[:3])
    guideline_release = await catalog.current_release("icd-10-pcs")
    crosswalk = await catalog.records(("gem-9-pcs",), view.code, by_key2=True)
    icd9 = await catalog.codes("icd-9-pcs", [r.key for r in crosswalk["gem-9-pcs"]])
    related = [
        c
        for c in await catalog.in_group(system.slug, view.code[:3], limit=200)
        if c.code != view.code
    ]
    gem_release = await catalog.current_release("gems")
    guidelines = await catalog.records(("pcs-guideline-for",), view.code[:3])
    sections = [
        Section(
            "axes",
            "The seven characters",
            "pcs_axes.html",
            sources(view.release, table.release if table else None),
            {"axes": view.details.get("axes") or [], "table": table, "code": view},
        ),
        Section(
            "operation",
            "Root operation and guidelines",
            "pcs_operation.html",
            sources(*(r.release for r in operation["pcs-root-operation"][:1]), guideline_release),
            {
                "operation": operation["pcs-root-operation"],
                "guidelines": guidelines["pcs-guideline-for"],
                "axes": view.details.get("axes") or [],
            },
        ),
        Section(
            "crosswalk",
            "ICD-9 procedure crosswalk",
            "pcs_crosswalk.html",
            sources(gem_release),
            {"rows": crosswalk["gem-9-pcs"], "icd9": icd9, "loaded": gem_release is not None},
        ),
        Section(
            "related",
            "Related codes in the same table",
            "code_list.html",
            sources(view.release),
            {
                "codes": related[:120],
                "more": max(len(related) - 120, 0),
                "empty": "No other codes in this table.",
            },
        ),
        await history_section(view, system.code_set),
    ]
    crumbs = [(system.label, f"/codes/{system.slug}")]
    if view.group_key:
        crumbs.append((view.code[0], f"/codes/{system.slug}/section/{view.code[0]}"))
        crumbs.append((view.code[:3], f"/codes/{system.slug}/table/{view.code[:3]}"))
    plain = describe.pcs(view)
    return CodePage(system, view, crumbs, plain, status_of(view), sections, sources(view.release))


BUILDERS = {"hcpcs": _hcpcs, "cpt": _cpt, "icd-10-pcs": _pcs}


async def build(system: System, view: CodeView) -> CodePage:
    return await BUILDERS[system.slug](system, view)
