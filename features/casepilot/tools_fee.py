"""The CasePilot fee tool: Medicare Physician Fee Schedule amounts, national and by locality.

National amounts are the importer's (total RVUs x conversion factor). A locality's amount is
(work RVU x work GPCI + PE RVU x PE GPCI + MP RVU x MP GPCI) x conversion factor, rounded half
up to cents, with the facility or non-facility PE RVU. The RVU file's DESCRIPTION column (AMA
text) is never stored, so it cannot show here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import RecordView
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_billing import (
    GLOBAL_DAYS,
    PCTC,
    PROCEDURE,
    STATUS,
    fee_section,
    split_code,
)
from features.casepilot.tools_common import (
    bad_input,
    code_url,
    fact,
    fail,
    known_code,
    money,
    procedure_system,
    records_of_kind,
    shown,
    text_arg,
)

PAYABLE = frozenset({"A", "R", "T"})  # the statuses whose RVUs Medicare pays (RVU25A.pdf)
CENT = Decimal("0.01")


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def locality_amount(data: dict[str, Any], gpci: dict[str, Any], facility: bool) -> Decimal | None:
    """The geographically adjusted amount, or None where the MPFS gives no payment."""
    if str(data.get("status_code")) not in PAYABLE:
        return None
    if data.get("facility_na" if facility else "non_facility_na"):
        return None
    pe = data.get("facility_pe_rvu" if facility else "non_facility_pe_rvu")
    total = (
        _d(data.get("work_rvu")) * _d(gpci.get("work_gpci"))
        + _d(pe) * _d(gpci.get("pe_gpci"))
        + _d(data.get("mp_rvu")) * _d(gpci.get("mp_gpci"))
    )
    return (total * _d(data.get("conversion_factor"))).quantize(CENT, rounding=ROUND_HALF_UP)


async def fee(code: str, modifier: str | None = None, locality: str | None = None) -> ToolResult:
    """A code's MPFS row: national payment, RVUs, status, global period, PC/TC indicator, and
    the amount in a locality (a 7-digit key, a state code or an area name)."""
    typed, from_code = split_code(text_arg(code))
    if not PROCEDURE.fullmatch(typed):
        return bad_input(
            "fee", f"“{shown(code)}” is not a CPT or HCPCS code (five characters, e.g. 99213)."
        )
    mod = text_arg(modifier).upper().lstrip("-").strip() or (from_code or "")
    if mod and (len(mod) != 2 or not mod.isalnum()):
        return bad_input("fee", f"“{shown(modifier)}” is not a modifier (two characters).")
    rows = (await catalog.records(("fee",), typed))["fee"]
    url = code_url(procedure_system(typed), typed, fee_section(typed))
    if not rows:
        release = await catalog.current_release("mpfs")
        where = release.label if release else "the data (no MPFS is loaded)"
        return fail(
            "fee",
            f"{typed} has no row in the {where}.",
            f"MPFS fee for {typed}",
            url,
            release,
            {"code": typed},
        )
    by_mod = {r.key2 or "": r for r in rows}
    row = by_mod.get(mod)
    facts: list[Fact] = []
    if row is None:
        facts.append(_no_modifier_row(typed, mod, rows, url))
        row = by_mod.get("") or rows[0]
    facts += national_facts(typed, row, url)
    others = sorted(k for k in by_mod if k and k != (row.key2 or ""))
    if others:
        facts.append(
            fact(
                f"The MPFS also has rows for {typed} with modifier {', '.join(others)}.",
                f"MPFS fee for {typed}",
                url,
                row.release,
            )
        )
    data = fee_data(typed, row, sorted(by_mod))
    if locality is not None and text_arg(locality):
        located, extra = await _in_locality(typed, row, text_arg(locality), url)
        facts += located
        data |= extra
    named = ((procedure_system(typed), typed),) if await known_code(typed) else ()
    return ToolResult("fee", True, tuple(facts), data, named)


def _no_modifier_row(code: str, mod: str, rows: list[RecordView], url: str) -> Fact:
    listed = ", ".join(f"{code}-{r.key2}" if r.key2 else f"{code} (no modifier)" for r in rows)
    return fact(
        f"The {rows[0].release.label} has no separate row for {code} with modifier {mod}; its "
        f"rows are {listed}. The row without a modifier is shown.",
        f"MPFS fee for {code}-{mod}",
        url,
        rows[0].release,
    )


def _label(code: str, row: RecordView) -> str:
    return f"MPFS fee for {code}-{row.key2}" if row.key2 else f"MPFS fee for {code}"


def national_facts(code: str, row: RecordView, url: str) -> list[Fact]:
    data = row.data
    name = f"{code}-{row.key2}" if row.key2 else code
    status = str(data.get("status_code") or "")
    meaning = STATUS.get(status, "meaning not in the data")
    label = _label(code, row)
    facts = [fact(_payment_text(name, row), label, url, row.release)]
    facts.append(
        fact(
            f"RVUs for {name}: work {data.get('work_rvu')}, practice expense "
            f"{data.get('non_facility_pe_rvu')} non-facility / {data.get('facility_pe_rvu')} "
            f"facility, malpractice {data.get('mp_rvu')}.",
            label,
            url,
            row.release,
        )
    )
    facts.append(fact(f"Status code {status}: {meaning}.", label, url, row.release))
    days = str(data.get("global_days") or "")
    if days:
        facts.append(
            fact(
                f"Global period {days}: {GLOBAL_DAYS.get(days, 'meaning not in the data')}.",
                label,
                url,
                row.release,
            )
        )
    pctc = str(data.get("pctc_indicator") or "")
    if pctc:
        facts.append(
            fact(
                f"PC/TC indicator {pctc}: {PCTC.get(pctc, 'meaning not in the data')}.",
                label,
                url,
                row.release,
            )
        )
    return facts


def _payment_text(name: str, row: RecordView) -> str:
    data = row.data
    release = row.release.label
    non, fac = data.get("non_facility_payment"), data.get("facility_payment")
    if non is None and fac is None:
        status = str(data.get("status_code") or "")
        return (
            f"{name} has no national payment amount in the {release}: status {status} "
            f"({STATUS.get(status, 'meaning not in the data')})."
        )
    parts = [
        f"{money(non)} non-facility" if non is not None else "non-facility not priced (NA)",
        f"{money(fac)} facility" if fac is not None else "facility not priced (NA)",
    ]
    return (
        f"National payment for {name} in the {release}: {' and '.join(parts)} (total RVUs "
        f"{data.get('non_facility_total')} non-facility and {data.get('facility_total')} "
        f"facility × conversion factor {data.get('conversion_factor')}), before the "
        "geographic (GPCI) adjustment."
    )


def fee_data(code: str, row: RecordView, modifiers: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "modifier": row.key2 or None,
        "rows": [m or None for m in modifiers],
        "release": row.release.label,
        "status_meaning": STATUS.get(str(row.data.get("status_code"))),
        "global_meaning": GLOBAL_DAYS.get(str(row.data.get("global_days"))),
        "pctc_meaning": PCTC.get(str(row.data.get("pctc_indicator"))),
        **row.data,
    }


async def find_localities(text: str) -> list[RecordView]:
    """The GPCI localities a key, state code or name names (several when it is ambiguous)."""
    rows = await records_of_kind("gpci", "mpfs")
    wanted = " ".join(text.upper().replace("LOCALITY", " ").split())
    if wanted.isdigit():
        return [r for r in rows if r.key == wanted] or [
            r for r in rows if r.data.get("locality") == wanted.zfill(2)
        ]
    tests = (
        lambda d: wanted in (d.get("state"), d.get("locality_name")),
        lambda d: d.get("state_name") == wanted,
        lambda d: (
            wanted in str(d.get("locality_name")) or wanted in str(d.get("fee_schedule_area"))
        ),
        lambda d: wanted in str(d.get("counties")),
    )
    for test in tests:
        hits = [r for r in rows if test(r.data)]
        if hits:
            return hits
    return []


def _place(row: RecordView) -> str:
    d = row.data
    return f"{row.key} {d.get('locality_name')} ({d.get('state')})"


async def _in_locality(
    code: str, row: RecordView, text: str, url: str
) -> tuple[list[Fact], dict[str, Any]]:
    hits = await find_localities(text)
    label = f"MPFS fee for {code} in {shown(text, 40)}"
    if len(hits) != 1:
        listed = "; ".join(_place(h) for h in hits[:40])
        said = (
            f"“{shown(text, 40)}” matches {len(hits)} MPFS localities; name one: {listed}."
            if hits
            else f"No MPFS locality matches “{shown(text, 40)}”: name a state (NY), a locality "
            "(MANHATTAN) or a 7-digit contractor and locality key (1320201)."
        )
        choices = [
            {"key": h.key, "state": h.data.get("state"), "name": h.data.get("locality_name")}
            for h in hits
        ]
        return [fact(said, label, url, row.release)], {"locality_choices": choices}
    place = hits[0]
    gpci = place.data
    non = locality_amount(row.data, gpci, facility=False)
    fac = locality_amount(row.data, gpci, facility=True)
    d = row.data
    amounts = " and ".join(
        [
            f"{money(non)} non-facility" if non is not None else "no non-facility amount",
            f"{money(fac)} facility" if fac is not None else "no facility amount",
        ]
    )
    formula = (
        f"(work {d.get('work_rvu')} × {gpci.get('work_gpci')} + PE {d.get('non_facility_pe_rvu')}"
        f" (facility {d.get('facility_pe_rvu')}) × {gpci.get('pe_gpci')} + MP {d.get('mp_rvu')} ×"
        f" {gpci.get('mp_gpci')}) × {d.get('conversion_factor')}, rounded to cents"
    )
    said = f"In MPFS locality {_place(place)}: {amounts} = {formula}."
    extra = {
        "locality": {"key": place.key, **gpci},
        "locality_non_facility_payment": float(non) if non is not None else None,
        "locality_facility_payment": float(fac) if fac is not None else None,
    }
    return [
        fact(said, f"MPFS fee for {code} in {gpci.get('locality_name')}", url, place.release)
    ], extra
