"""CasePilot tools for billing data: HCPCS indicators, modifiers and place of service, and the
meanings of the MPFS and NCCI indicators the fee and NCCI tools (tools_fee.py, tools_ncci.py)
share."""

from __future__ import annotations

import re
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import ReleaseRef
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_common import (
    HCPCS,
    bad_input,
    code_url,
    count_by_key2,
    current_label,
    fact,
    fail,
    procedure_system,
    records_of_kind,
    resolve,
    shown,
    text_arg,
    view_codes,
    view_fact,
)
from features.casepilot.tools_text import matched, stems

# MPFS status codes, global periods and PC/TC indicators, shortened from the CMS RVU file
# documentation (RVU25A.pdf, Attachment A and the field descriptions).
STATUS = {
    "A": "Active code: paid separately under the physician fee schedule, if covered",
    "B": "Bundled code: payment is always bundled into other services",
    "C": "Contractor priced: the Medicare contractor sets the payment",
    "D": "Deleted code",
    "E": "Excluded from the physician fee schedule by regulation",
    "F": "Deleted or discontinued code (no grace period)",
    "G": "Not valid for Medicare purposes: Medicare uses another code (grace period)",
    "H": "Deleted modifier: this component is no longer priced",
    "I": "Not valid for Medicare purposes: Medicare uses another code",
    "J": "Anesthesia service: no RVUs or payment amounts here",
    "M": "Measurement code: used for reporting only",
    "N": "Non-covered service: not covered by Medicare",
    "P": "Bundled or excluded code: no separate payment under the fee schedule",
    "R": "Restricted coverage: special coverage instructions apply; if covered, contractor priced",
    "T": "Injection: paid only when no other fee schedule service is billed that day by the "
    "same provider",
    "X": "Statutory exclusion: not a physician service; no payment under the fee schedule",
}
GLOBAL_DAYS = {
    "000": "endoscopic or minor procedure: related services on the day of the procedure are "
    "included",
    "010": "minor procedure: the day of the procedure and 10 days of follow-up care are included",
    "090": "major surgery: the day before, the day of and 90 days after are included",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "the global surgery concept does not apply",
    "YYY": "the contractor decides whether a global period applies",
    "ZZZ": "add-on code: always within the global period of another service",
}
PCTC = {
    "0": "physician service: modifiers 26 and TC cannot be used",
    "1": "diagnostic test with professional and technical components: modifiers 26 and TC can "
    "be used",
    "2": "professional component only code: modifiers 26 and TC cannot be used",
    "3": "technical component only code: modifiers 26 and TC cannot be used",
    "4": "global test only code: modifiers 26 and TC cannot be used",
    "5": "incident-to code: modifiers 26 and TC cannot be used",
    "6": "laboratory physician interpretation code: modifier TC cannot be used",
    "7": "physical therapy service not payable in the hospital settings named by CMS",
    "8": "physician interpretation code (professional component of a lab code)",
    "9": "the professional/technical component concept does not apply",
}
MODIFIER_INDICATOR = {
    0: "0 = no modifier allowed: the two codes are never paid together",
    1: "1 = a modifier is allowed: with an appropriate modifier both may be paid",
    9: "9 = not applicable: the edit does not apply",
}
POS_URL = "https://www.cms.gov/medicare/coding-billing/place-of-service-codes/code-sets"

PROCEDURE = re.compile(r"[0-9]{4}[0-9A-Z]|[A-V][0-9]{4}")
_MODIFIER = re.compile(r"[0-9A-Z]{2}")


def split_code(raw: str) -> tuple[str, str | None]:
    """A code with a modifier after a dash ("99213-25") -> ("99213", "25")."""
    code, _, mod = raw.strip().upper().partition("-")
    return code.strip(), (mod.strip() or None)


def is_sample(ref: ReleaseRef | None) -> bool:
    return ref is not None and (ref.sample or "sample" in ref.name.lower())


def sample_note(ref: ReleaseRef | None) -> str:
    return " This is SAMPLE data, not the CMS NCCI files." if is_sample(ref) else ""


async def hcpcs_indicators(code: str) -> ToolResult:
    """A HCPCS Level II code's indicators from the CMS HCPCS file, each with its meaning."""
    typed, _ = split_code(text_arg(code))
    if re.fullmatch(r"[0-9]{4}[0-9A-Z]", typed):
        return bad_input(
            "hcpcs_indicators",
            f"{typed} is a CPT code, not a HCPCS Level II code: the HCPCS file has no "
            "indicators for it (its Medicare fee schedule indicators come from the fee tool).",
        )
    found = await resolve("hcpcs_indicators", typed, HCPCS, allowed=(HCPCS,))
    if isinstance(found, ToolResult):
        return found
    view = found.view
    rows = indicator_rows(view.details)
    facts = [view_fact(f"{view.display}: {view.title}.", view)]
    facts += [view_fact(f"{label}: {value}.", view, "coverage") for label, value in rows]
    if not rows:
        facts.append(view_fact(f"The HCPCS file gives no indicators for {view.display}.", view))
    data = {
        "system": HCPCS,
        "code": view.code,
        "title": view.title,
        "indicators": {k: v for k, v in view.details.items() if not k.startswith("_")},
        "labels": view.details.get("_labels") or {},
        "rows": [{"label": label, "value": value} for label, value in rows],
    }
    return ToolResult("hcpcs_indicators", True, tuple(facts), data, view_codes([view]))


def indicator_rows(details: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value with its meaning) for each field the HCPCS record carries."""
    labels = details.get("_labels") if isinstance(details.get("_labels"), dict) else {}
    rows = []
    for key, value in details.items():
        if key.startswith("_") or value in (None, "", [], {}) or isinstance(value, dict):
            continue
        meaning = labels.get(key)
        if isinstance(value, list):
            meanings = meaning if isinstance(meaning, list) else [None] * len(value)
            text = "; ".join(
                f"{v} ({m})" if m else str(v) for v, m in zip(value, meanings, strict=False)
            )
        else:
            text = f"{value} ({meaning})" if meaning else str(value)
        rows.append((key.replace("_", " ").capitalize(), text))
    return rows


async def modifier(modifier: str) -> ToolResult:
    """A modifier: its HCPCS Level II title, the MPFS rows priced with it, and what the NCCI
    data says of it. CPT modifiers have no descriptor here (AMA text)."""
    typed = text_arg(modifier).upper().removeprefix("MODIFIER").strip().lstrip("-").strip()
    if not _MODIFIER.fullmatch(typed):
        return bad_input(
            "modifier",
            f"“{shown(modifier)}” is not a modifier: a modifier is two letters or digits "
            "(e.g. 25, 59, LT, XS).",
        )
    view = await catalog.get_code(HCPCS, typed)
    facts: list[Fact] = []
    if view is not None and view.kind == "modifier":
        facts.append(view_fact(f"Modifier {typed} (HCPCS Level II): {view.title}.", view))
    elif typed.isdigit():
        facts.append(
            fact(
                f"{typed} is a CPT modifier. Its descriptor is AMA CPT text: showing it needs "
                "an AMA CPT licence file, which this server does not have.",
                f"CPT modifier {typed}",
                "/codes/cpt",
                await current_label("cpt"),
            )
        )
    fee_count, examples = await count_by_key2("fee", typed)
    if fee_count:
        facts.append(await _fee_rows_fact(typed, fee_count, examples))
    ncci = await _ncci_mentions(typed)
    facts += ncci
    ok = bool(view is not None and view.kind == "modifier") or fee_count > 0 or bool(ncci)
    if not facts or not ok:
        hcpcs = await current_label("hcpcs")
        facts.append(
            fact(
                f"{typed} is not a HCPCS Level II modifier in {hcpcs}, and no fee schedule row "
                "or NCCI edit in the data names it.",
                f"HCPCS modifier {typed}",
                code_url(HCPCS, typed),
                hcpcs,
            )
        )
    data = {
        "modifier": typed,
        "code": typed,
        "display": typed,
        "system": HCPCS if view is not None and view.kind == "modifier" else None,
        "hcpcs_title": view.title if view is not None and view.kind == "modifier" else None,
        "cpt_modifier": typed.isdigit(),
        "mpfs_rows": fee_count,
        "mpfs_examples": examples,
        "ncci_mentions": len(ncci),
    }
    codes = view_codes([view]) if view is not None and view.kind == "modifier" else ()
    return ToolResult("modifier", ok, tuple(facts), data, codes)


async def _fee_rows_fact(modifier: str, count: int, examples: list[str]) -> Fact:
    release = await catalog.current_release("mpfs")
    listed = ", ".join(f"{c}-{modifier}" for c in examples)
    first = examples[0]
    return fact(
        f"The {release.label if release else 'MPFS'} has a separately priced row with modifier "
        f"{modifier} for {count:,} codes (e.g. {listed}).",
        f"MPFS rows with modifier {modifier}",
        code_url(procedure_system(first), first, fee_section(first)),
        release,
    )


def fee_section(code: str) -> str:
    return "fees" if procedure_system(code) == HCPCS else "payment"


async def _ncci_mentions(modifier: str) -> list[Fact]:
    """NCCI edits whose rationale names this modifier ("modifier 59/XS"), a few examples."""
    edits = await records_of_kind("ncci", "ncci")
    named = re.compile(rf"modifiers? (?:[0-9A-Z]{{2}}/)*{modifier}\b")
    hits = [e for e in edits if named.search(str(e.data.get("rationale") or ""))]
    if not hits:
        return []
    release = hits[0].release
    shown_edits = "; ".join(f"{e.key} with {e.key2}: “{e.data['rationale']}”" for e in hits[:3])
    first = hits[0]
    return [
        fact(
            f"In the {release.label}, {len(hits)} PTP edit rationales name modifier {modifier}, "
            f"e.g. {shown_edits}.{sample_note(release)}",
            f"NCCI {first.key}/{first.key2}",
            code_url(procedure_system(first.key), first.key, "edits"),
            release,
        )
    ]


async def place_of_service(code_or_words: str) -> ToolResult:
    """A CMS place-of-service code by its number, or the codes whose name has the words."""
    typed = text_arg(code_or_words)
    if not typed:
        return bad_input("place_of_service", "Give a place-of-service code (e.g. 11) or words.")
    rows = await records_of_kind("pos", "pos")
    release = rows[0].release if rows else await catalog.current_release("pos")
    if typed.isdigit() and len(typed) <= 2:
        hits = [r for r in rows if r.key == typed.zfill(2)]
        missing = f"{typed.zfill(2)} is not a place-of-service code in"
    else:
        words = stems(typed, drop_stop=True)
        scored = [(matched(words, r.data.get("name", "")), r) for r in rows]
        best = max((s for s, _ in scored), default=0)
        hits = [r for s, r in scored if words and s == len(words) and best]
        missing = f"No place-of-service code is named “{shown(typed, 60)}” in"
    if not hits:
        where = release.label if release else "the data (no POS data is loaded)"
        return fail("place_of_service", f"{missing} {where}.", "POS", POS_URL, release)
    facts = tuple(
        fact(
            f"Place of service {r.key}: {r.data.get('name')}"
            + (f" — {r.data['description']}" if r.data.get("description") else "")
            + ".",
            f"POS {r.key}",
            POS_URL,
            r.release,
        )
        for r in hits
    )
    data = {"query": typed, "rows": [{"code": r.key, **r.data} for r in hits]}
    return ToolResult("place_of_service", True, facts, data, ())
