"""Medicare Physician Fee Schedule: the CMS relative value zip (RVU25A.zip and its successors).

Read in place from the zip: `PPRRVU*.csv` (RVUs and indicators per HCPCS/CPT code and modifier;
five title lines, column titles spread over lines 6-10, the last of which starts
"HCPCS,MOD,DESCRIPTION"), `GPCI<year>.csv` (geographic practice cost indices per Medicare
contractor and locality) and `<yy>LOCCO.csv` (the counties of each locality).

The DESCRIPTION column of PPRRVU holds CPT short descriptors, copyright AMA. It is dropped from
each row the moment the row is read: it never reaches a Record, a log line or an error message.
Error messages name the line and the field, never the row's text.

Records:
  kind "fee", key = HCPCS/CPT code, key2 = modifier ("" for the global service; "26", "TC", "53"),
  data, in this order:
    status_code "A", not_used_for_medicare_payment (bool), work_rvu, non_facility_pe_rvu,
    non_facility_na (bool: "NA", rarely or never done outside a facility), facility_pe_rvu,
    facility_na (bool), mp_rvu, non_facility_total, facility_total (total RVUs),
    non_facility_payment, facility_payment (national amounts, see below), pctc_indicator "0",
    global_days "090", preop_share, intraop_share, postop_share (fractions of the global
    package), multiple_procedure, bilateral_surgery, assistant_surgery, co_surgeons,
    team_surgery (indicator digits as strings), endoscopic_base_code (or None),
    conversion_factor 32.3465, physician_supervision "09", calculation_flag,
    diagnostic_imaging_family "99", non_facility_pe_used_for_opps_payment_amount,
    facility_pe_used_for_opps_payment_amount, mp_used_for_opps_payment_amount.
    Numbers are floats (None when the file leaves the field blank).
  National payment (before the geographic GPCI adjustment):
      amount = round_half_up(total RVUs x conversion factor, 2)
    for the non-facility total and the facility total separately, using the file's own TOTAL
    columns (work + PE + MP RVUs). It is None when the status is not one Medicare pays under the
    fee schedule (only A, R and T are) or when that setting carries the NA indicator.
  kind "gpci", key = contractor + locality ("1011200", the 5-digit MAC number then the 2-digit
  locality), key2 = the state's postal code ("AL"), data:
    carrier "10112", locality "00", state "AL", state_name "ALABAMA" (from LOCCO), locality_name,
    work_gpci, pe_gpci, mp_gpci (floats), fee_schedule_area "STATEWIDE" and counties
    "ALL COUNTIES" (the LOCCO wording, kept as CMS writes it: "ALL OTHER COUNTIES EXCEPT ..."
    does not split into a list), notes [the file's footnotes the row is marked with].
    A LOCCO row whose contractor and locality have no GPCI row is not loaded.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from features.case2code.importing.base import (
    Dataset,
    MalformedFile,
    RecordRow,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

CODE_SET = "mpfs"
DEFAULT_ZIP = "mpfs/RVU25A.zip"
PAYABLE_STATUSES = frozenset({"A", "R", "T"})
CENT = Decimal("0.01")

_RVU_MEMBER = re.compile(r"PPRRVU[^/]*\.csv$", re.IGNORECASE)
_GPCI_MEMBER = re.compile(r"GPCI\d{4}[^/]*\.csv$", re.IGNORECASE)
_LOCCO_MEMBER = re.compile(r"\d{2}LOCCO[^/]*\.csv$", re.IGNORECASE)
_RELEASE = re.compile(r"RVU(\d{2})([A-D])(R?)", re.IGNORECASE)
_QUARTER_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10}
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")

# The last title line of PPRRVU (line 10 in the CMS file), column by column.
RVU_HEADER = (
    "HCPCS", "MOD", "DESCRIPTION", "CODE", "PAYMENT", "RVU", "PE RVU", "INDICATOR", "PE RVU",
    "INDICATOR", "RVU", "TOTAL", "TOTAL", "IND", "DAYS", "OP", "OP", "OP", "PROC", "SURG", "SURG",
    "SURG", "SURG", "BASE", "FACTOR", "PROCEDURES", "FLAG", "INDICATOR", "AMOUNT", "AMOUNT",
    "AMOUNT",
)  # fmt: skip
DESCRIPTION_COLUMN = 2

# Columns after DESCRIPTION is dropped (index into the row without it): key and how to read it.
_FEE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("status_code", "text"),
    ("not_used_for_medicare_payment", "plus"),
    ("work_rvu", "number"),
    ("non_facility_pe_rvu", "number"),
    ("non_facility_na", "na"),
    ("facility_pe_rvu", "number"),
    ("facility_na", "na"),
    ("mp_rvu", "number"),
    ("non_facility_total", "number"),
    ("facility_total", "number"),
    ("pctc_indicator", "text"),
    ("global_days", "text"),
    ("preop_share", "number"),
    ("intraop_share", "number"),
    ("postop_share", "number"),
    ("multiple_procedure", "text"),
    ("bilateral_surgery", "text"),
    ("assistant_surgery", "text"),
    ("co_surgeons", "text"),
    ("team_surgery", "text"),
    ("endoscopic_base_code", "text"),
    ("conversion_factor", "number"),
    ("physician_supervision", "text"),
    ("calculation_flag", "text"),
    ("diagnostic_imaging_family", "text"),
    ("non_facility_pe_used_for_opps_payment_amount", "number"),
    ("facility_pe_used_for_opps_payment_amount", "number"),
    ("mp_used_for_opps_payment_amount", "number"),
)
# Where the computed payments go in `data` (after the totals), so pages list them in that order.
_PAYMENTS_AFTER = "facility_total"


def decode(data: bytes) -> str:
    """CMS CSVs are ASCII with the odd cp1252 character; a BOM is dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) per CSV row; the line number is where the row starts."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def payment(total: Decimal | None, factor: Decimal | None) -> float | None:
    """National amount: total RVUs x conversion factor, rounded half up to cents."""
    if total is None or factor is None:
        return None
    return float((total * factor).quantize(CENT, rounding=ROUND_HALF_UP))


def find_rvu_header(text: str, where: str) -> int:
    """The line of the PPRRVU column titles ("HCPCS,MOD,DESCRIPTION,..."), checked in full."""
    for line, cells in _rows(text):
        if line > 30:
            break
        titles = tuple(c.strip().upper() for c in cells)
        if titles[:3] == RVU_HEADER[:3]:
            if titles != RVU_HEADER:
                raise MalformedFile(
                    where, line, f"the column titles differ from the PPRRVU layout ({len(cells)})"
                )
            return line
    raise MalformedFile(where, None, "no 'HCPCS,MOD,DESCRIPTION,...' title line: not a PPRRVU file")


def parse_rvu(text: str, where: str) -> list[RecordRow]:
    header = find_rvu_header(text, where)
    records: list[RecordRow] = []
    seen: set[tuple[str, str]] = set()
    for line, row in _rows(text):
        if line <= header:
            continue
        # Drop the AMA descriptor before anything else looks at the row.
        cells = row[:DESCRIPTION_COLUMN] + row[DESCRIPTION_COLUMN + 1 :]
        del row
        if not any(c.strip() for c in cells) or cells[0].strip() == "\x1a":
            continue  # blank lines and the DOS end-of-file mark CMS leaves at the end
        if len(cells) != len(RVU_HEADER) - 1:
            raise MalformedFile(
                where, line, f"expected {len(RVU_HEADER)} columns, found {len(cells) + 1}"
            )
        code, modifier = cells[0].strip().upper(), cells[1].strip().upper()
        if not _CODE.match(code):
            raise MalformedFile(where, line, f"HCPCS {code!r} is not a 5-character code")
        if modifier and not _MODIFIER.match(modifier):
            raise MalformedFile(where, line, f"MOD {modifier!r} is not a 2-character modifier")
        if (code, modifier) in seen:
            raise MalformedFile(where, line, f"{code} {modifier or '(no modifier)'} appears twice")
        seen.add((code, modifier))
        records.append(RecordRow("fee", code, _fee(cells[2:], where, line), key2=modifier))
    if not records:
        raise MalformedFile(where, None, "no fee schedule rows after the title lines")
    return records


def _fee(cells: Sequence[str], where: str, line: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    numbers: dict[str, Decimal | None] = {}
    for (key, kind), raw in zip(_FEE_COLUMNS, cells, strict=True):
        value = raw.strip()
        if kind == "number":
            try:
                number = Decimal(value) if value else None
            except InvalidOperation:
                raise MalformedFile(where, line, f"{key} {value!r} is not a number") from None
            if number is not None and not number.is_finite():
                raise MalformedFile(where, line, f"{key} {value!r} is not a number")
            numbers[key] = number
            data[key] = float(number) if number is not None else None
        elif kind == "na":
            if value not in ("", "NA"):
                raise MalformedFile(where, line, f"{key} {value!r} is neither blank nor NA")
            data[key] = value == "NA"
        elif kind == "plus":
            if value not in ("", "+"):
                raise MalformedFile(where, line, f"{key} {value!r} is neither blank nor +")
            data[key] = value == "+"
        else:
            data[key] = value or None
        if key == _PAYMENTS_AFTER:
            # Placeholders, so the payments sit next to the totals they come from.
            data["non_facility_payment"] = data["facility_payment"] = None
    if not data["status_code"]:
        raise MalformedFile(where, line, "STATUS CODE is blank")
    if data["status_code"] in PAYABLE_STATUSES:
        factor = numbers["conversion_factor"]
        for setting in ("non_facility", "facility"):
            if not data[f"{setting}_na"]:
                data[f"{setting}_payment"] = payment(numbers[f"{setting}_total"], factor)
    return data


def _footnotes(text: str) -> dict[str, str]:
    """Footnote lines ("*Work GPCI reflects ...", "**PE GPCI ...") by their marker."""
    notes = {}
    for _, cells in _rows(text):
        first = cells[0].strip() if cells else ""
        match = re.match(r"^(\*+)\s*(.+)$", first)
        if match:
            notes[match.group(1)] = match.group(2).strip()
    return notes


def _marked(name: str, notes: dict[str, str]) -> tuple[str, list[str]]:
    stars = len(name) - len(name.rstrip("*"))
    note = notes.get("*" * stars) if stars else None
    return name.rstrip("*").strip(), [note] if note else []


def _gpci_value(raw: str, name: str, where: str, line: int) -> float:
    try:
        value = Decimal(raw.strip())
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise MalformedFile(where, line, f"{name} {raw.strip()!r} is not a number") from None
    return float(value)


def parse_gpci(text: str, where: str) -> dict[str, dict[str, Any]]:
    """GPCI rows by key (contractor + locality)."""
    notes = _footnotes(text)
    header = None
    out: dict[str, dict[str, Any]] = {}
    for line, cells in _rows(text):
        first = cells[0].strip() if cells else ""
        if header is None:
            if first.lower().startswith("medicare administrative contractor"):
                titles = " ".join(cells).upper()
                if len(cells) < 7 or titles.count("GPCI") < 3:
                    raise MalformedFile(
                        where, line, "the column titles differ from the GPCI layout"
                    )
                header = line
            continue
        if not first.isdigit():
            continue  # blank lines and the notes under the table
        if len(cells) < 7:
            raise MalformedFile(where, line, f"expected 7 columns, found {len(cells)}")
        carrier, state, locality = first.zfill(5), cells[1].strip().upper(), cells[2].strip()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise MalformedFile(where, line, f"state {state!r} is not a postal code")
        if not locality.isdigit():
            raise MalformedFile(where, line, f"locality {locality!r} is not a number")
        locality = locality.zfill(2)
        name, marks = _marked(cells[3].strip(), notes)
        key = carrier + locality
        if key in out:
            raise MalformedFile(where, line, f"contractor {carrier} locality {locality} twice")
        out[key] = {
            "carrier": carrier,
            "locality": locality,
            "state": state,
            "state_name": None,
            "locality_name": name,
            "work_gpci": _gpci_value(cells[4], "work GPCI", where, line),
            "pe_gpci": _gpci_value(cells[5], "PE GPCI", where, line),
            "mp_gpci": _gpci_value(cells[6], "MP GPCI", where, line),
            "fee_schedule_area": None,
            "counties": None,
            "notes": marks,
        }
    if header is None:
        raise MalformedFile(where, None, "no 'Medicare Administrative Contractor' title line")
    if not out:
        raise MalformedFile(where, None, "no GPCI rows")
    return out


def parse_locco(text: str, where: str) -> dict[str, dict[str, Any]]:
    """Locality -> {state_name, fee_schedule_area, counties, notes} from the LOCCO CSV."""
    notes = _footnotes(text)
    header = None
    state = ""
    out: dict[str, dict[str, Any]] = {}
    for line, cells in _rows(text):
        first = cells[0].strip() if cells else ""
        if header is None:
            if len(cells) >= 5 and cells[1].strip().lower().startswith("locality"):
                header = line
            continue
        if not first.isdigit():
            continue
        if len(cells) < 5:
            raise MalformedFile(where, line, f"expected 5 columns, found {len(cells)}")
        locality = cells[1].strip()
        if not locality.isdigit():
            raise MalformedFile(where, line, f"locality {locality!r} is not a number")
        # CMS writes the state on the first row of each state only.
        state = cells[2].strip() or state
        area, marks = _marked(cells[3].strip(), notes)
        counties = " ".join(cells[4].split())
        key = first.zfill(5) + locality.zfill(2)
        if key in out:
            # Missouri's "REST OF STATE" is listed twice: merge, keeping distinct wording once.
            known = out[key]
            if counties and counties not in (known["counties"] or ""):
                known["counties"] = f"{known['counties']}; {counties}"
            known["notes"] = list(dict.fromkeys([*known["notes"], *marks]))
            continue
        out[key] = {
            "state_name": state or None,
            "fee_schedule_area": area,
            "counties": counties or None,
            "notes": marks,
        }
    if header is None:
        raise MalformedFile(where, None, "no 'Locality' title line: not a LOCCO file")
    return out


def gpci_records(
    gpci: dict[str, dict[str, Any]], locco: dict[str, dict[str, Any]]
) -> list[RecordRow]:
    records = []
    for key, data in gpci.items():
        place = locco.get(key)
        if place:
            data["state_name"] = place["state_name"]
            data["fee_schedule_area"] = place["fee_schedule_area"]
            data["counties"] = place["counties"]
            data["notes"] = list(dict.fromkeys([*data["notes"], *place["notes"]]))
        records.append(RecordRow("gpci", key, data, key2=data["state"]))
    return records


def release_for(path: Path, members: Sequence[str]) -> ReleaseInfo:
    match = _RELEASE.search(path.name) or next(
        (m for m in (_RELEASE.search(n) for n in members) if m), None
    )
    if match is None:
        raise MalformedFile(path, None, "cannot tell the release from the name (RVU<yy><A-D>)")
    year, letter = 2000 + int(match.group(1)), match.group(2).upper()
    revised = " revised" if match.group(3) else ""
    effective = date(year, _QUARTER_MONTH[letter], 1)
    return ReleaseInfo(
        code_set=CODE_SET,
        name=f"MPFS CY{year} {letter}{revised} ({effective:%B} {year})",
        version=f"{year}{letter}{match.group(3).upper()}",
        source=f"{path} ({', '.join(members)})",
        checksum=sha256_of([path]),
        effective_date=effective,
    )


def _member(archive: zipfile.ZipFile, pattern: re.Pattern[str], path: Path, what: str) -> str:
    found = sorted(n for n in archive.namelist() if pattern.search(n))
    if not found:
        raise MalformedFile(path, None, f"no {what} CSV inside the zip")
    # CY2026 ships QPP and non-QPP RVU files: the non-QPP one is the default fee schedule.
    preferred = [n for n in found if "nonqpp" in n.lower()]
    return (preferred or found)[0]


def parse(path: Path) -> Dataset:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise MalformedFile(path, None, f"not a zip file: {exc}") from exc
    with archive:
        rvu = _member(archive, _RVU_MEMBER, path, "PPRRVU")
        gpci = _member(archive, _GPCI_MEMBER, path, "GPCI")
        locco = _member(archive, _LOCCO_MEMBER, path, "LOCCO")
        texts = {name: decode(archive.read(name)) for name in (rvu, gpci, locco)}
    fees = parse_rvu(texts[rvu], f"{path}!{rvu}")
    places = gpci_records(
        parse_gpci(texts[gpci], f"{path}!{gpci}"), parse_locco(texts[locco], f"{path}!{locco}")
    )
    return Dataset(
        release=release_for(path, [rvu, gpci, locco]),
        record_kinds=("fee", "gpci"),
        records=[*fees, *places],
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """The RVU zip given with --file, else RVU25A.zip in the data folder."""
    yield parse(ctx.files.get(CODE_SET) or ctx.data_file(DEFAULT_ZIP))
