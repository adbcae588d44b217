"""HCPCS Level II from the CMS alpha-numeric file: fixed-width, cp1252, 320-byte records.

The zip CMS publishes each quarter (e.g. `january-2026-alpha-numeric-hcpcs-file.zip`) is read in
place: its `HCPC<year>_<MON>_ANWEB_*.txt` member, laid out as `HCPC<year>_recordlayout.txt`
describes, and `proc_notes_*.txt` for the text of the processing notes. A plain `.txt` given
with `--file` works too.

A procedure or modifier is one first record (record identification code 3 for a procedure, 7 for
a modifier; it carries the detail fields in positions 92-293) followed by continuation records
(4 or 8, same code, higher sequence number) that continue the 80-character long description.

Code rows (system "hcpcs"):
  procedure codes: kind "code", code = display = "J1100", title = the whole long description,
    short_title = the short description, billable = not terminated before the file's effective
    date (terminated codes stay, with details["terminated"] = the termination date),
    group_key = the leading letter ("J").
  modifiers (2 characters): kind "modifier", billable False, group_key "modifiers".
  details, in this order, keys present only when the file gives a value:
    coverage_code "D", pricing_indicators ["51"], multiple_pricing_indicator "A",
    betos_code "O1E", type_of_service_codes ["1", "P"], lab_certification_codes ["220"],
    asc_payment_group "YY", asc_payment_group_effective_date, mog_payment_group "000",
    mog_payment_policy_indicator, mog_effective_date, anesthesia_base_units (when not 0),
    processing_note "0088", processing_note_text, statute "1833(t)", cim_references [...],
    mcm_references ["2049"], cross_references ["A0425"], added_date, action_effective_date,
    termination_date, terminated (= termination_date when before the effective date),
    action_code "N",
    _labels: {detail key: meaning} for the coded fields the layout defines (coverage_code,
      multiple_pricing_indicator, betos_code, asc_payment_group, mog_payment_policy_indicator,
      action_code: a string; pricing_indicators, type_of_service_codes,
      lab_certification_codes: a list of strings in the order of the codes). Meanings come from
      `hcpcs_labels.py`.
  Dates are ISO strings ("2026-01-01").
Group rows: kind "range", key = the leading letter, title "HCPCS codes beginning with J" (neither
  the layout nor the file names the sections), details {"count", "first", "last"}; plus one
  group "modifiers" ("HCPCS Level II modifiers").
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from features.case2code.importing import hcpcs_labels as labels
from features.case2code.importing.base import (
    CodeRow,
    Dataset,
    GroupRow,
    MalformedFile,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

SYSTEM = "hcpcs"
CODE_SET = "hcpcs"
RECORD_LENGTH = 320
DEFAULT_ZIP = "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip"
MODIFIER_GROUP = "modifiers"

_PROCEDURE = re.compile(r"^[A-Z][0-9]{4}$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_DATA_MEMBER = re.compile(r"HCPC\d{4}_[A-Z]{3}_ANWEB[^/]*\.txt$", re.IGNORECASE)
_NOTES_MEMBER = re.compile(r"proc_notes[^/]*\.txt$", re.IGNORECASE)
_QUARTER_IN_MEMBER = re.compile(r"HCPC(\d{4})_(JAN|APR|JUL|OCT)", re.IGNORECASE)
_QUARTER_IN_ZIP = re.compile(r"(january|april|july|october)-(\d{4})", re.IGNORECASE)
_MONTHS = {"jan": 1, "apr": 4, "jul": 7, "oct": 10}
_NOTE_START = re.compile(r"^\s*(\d{4})--(.*)$")


def _span(start: int, end: int) -> slice:
    """Positions as the layout numbers them (1-based, inclusive) as a Python slice."""
    return slice(start - 1, end)


def _repeated(start: int, width: int, occurs: int) -> list[slice]:
    return [_span(start + i * width, start + (i + 1) * width - 1) for i in range(occurs)]


# Field positions from HCPC2026_recordlayout.txt.
CODE = _span(1, 5)
MODIFIER_FILLER = _span(1, 3)
MODIFIER = _span(4, 5)
SEQUENCE = _span(6, 10)
RECORD_ID = _span(11, 11)
LONG_DESCRIPTION = _span(12, 91)
SHORT_DESCRIPTION = _span(92, 119)
PRICING = _repeated(120, 2, 4)
MULTIPLE_PRICING = _span(128, 128)
CIM = _repeated(129, 6, 3)
MCM = _repeated(147, 8, 3)
STATUTE = _span(171, 180)
LAB_CERTIFICATION = _repeated(181, 3, 8)
CROSS_REFERENCE = _repeated(205, 5, 5)
COVERAGE = _span(230, 230)
ASC_GROUP = _span(231, 232)
ASC_EFFECTIVE = _span(233, 240)
MOG_GROUP = _span(241, 243)
MOG_POLICY = _span(244, 244)
MOG_EFFECTIVE = _span(245, 252)
PROCESSING_NOTE = _span(253, 256)
BETOS = _span(257, 259)
TYPE_OF_SERVICE = _repeated(261, 1, 5)
ANESTHESIA_BASE_UNITS = _span(266, 268)
ADDED = _span(269, 276)
ACTION_EFFECTIVE = _span(277, 284)
TERMINATION = _span(285, 292)
ACTION = _span(293, 293)


@dataclass
class _Entry:
    """One procedure or modifier while its records are being read."""

    code: str
    field: str  # positions 1-5 as written, to match its continuation records
    kind: str  # "code" | "modifier"
    line: int
    sequence: int
    short: str
    descriptions: list[str]
    details: dict[str, Any] = field(default_factory=dict)


def _date(value: str, name: str, where: str, line: int) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        raise MalformedFile(where, line, f"{name} {value!r} is not a YYYYMMDD date") from None


def _codes(record: str, slices: Sequence[slice]) -> list[str]:
    return [v for v in (record[s].strip() for s in slices) if v]


def _details(record: str, where: str, line: int, notes: dict[str, str]) -> dict[str, Any]:
    """The detail fields of a first record, with `_labels` for the coded ones."""
    d: dict[str, Any] = {}
    shown: dict[str, Any] = {}

    def put(key: str, value: Any, table: dict[str, str] | None = None) -> None:
        if value in (None, "", []):
            return
        d[key] = value
        if table is None:
            return
        if isinstance(value, list):
            meanings = [table.get(v, "") for v in value]
            if any(meanings):
                shown[key] = meanings
        elif value in table:
            shown[key] = table[value]

    put("coverage_code", record[COVERAGE].strip(), labels.COVERAGE)
    put("pricing_indicators", _codes(record, PRICING), labels.PRICING_INDICATOR)
    put(
        "multiple_pricing_indicator",
        record[MULTIPLE_PRICING].strip(),
        labels.MULTIPLE_PRICING_INDICATOR,
    )
    put("betos_code", record[BETOS].strip(), labels.BETOS)
    put("type_of_service_codes", _codes(record, TYPE_OF_SERVICE), labels.TYPE_OF_SERVICE)
    put("lab_certification_codes", _codes(record, LAB_CERTIFICATION), labels.LAB_CERTIFICATION)
    put("asc_payment_group", record[ASC_GROUP].strip(), labels.ASC_PAYMENT_GROUP)
    put(
        "asc_payment_group_effective_date",
        _date(record[ASC_EFFECTIVE], "ASC payment group effective date", where, line),
    )
    put("mog_payment_group", record[MOG_GROUP].strip())
    put("mog_payment_policy_indicator", record[MOG_POLICY].strip(), labels.MOG_PAYMENT_POLICY)
    put("mog_effective_date", _date(record[MOG_EFFECTIVE], "MOG effective date", where, line))
    units = record[ANESTHESIA_BASE_UNITS].strip()
    if units and not units.isdigit():
        raise MalformedFile(where, line, f"anesthesia base units {units!r} is not a number")
    # CMS writes 0 for every code that is not an anesthesia service: keep only real values.
    put("anesthesia_base_units", int(units) if units and int(units) else None)
    note = record[PROCESSING_NOTE].strip()
    put("processing_note", note)
    put("processing_note_text", notes.get(note) if note else None)
    put("statute", record[STATUTE].strip())
    put("cim_references", _codes(record, CIM))
    put("mcm_references", _codes(record, MCM))
    put("cross_references", _codes(record, CROSS_REFERENCE))
    put("added_date", _date(record[ADDED], "code added date", where, line))
    put(
        "action_effective_date",
        _date(record[ACTION_EFFECTIVE], "action effective date", where, line),
    )
    put("termination_date", _date(record[TERMINATION], "termination date", where, line))
    put("action_code", record[ACTION].strip(), labels.ACTION)
    if shown:
        d["_labels"] = shown
    return d


def _record(raw: str, where: str, number: int) -> str | None:
    """The 320 characters of one line, or None for a blank line (CMS ends the file with one)."""
    line = raw.rstrip("\r\n")
    if not line.strip():
        return None
    if len(line) > RECORD_LENGTH:
        # One CMS record carries blank padding past position 320; anything else is not this layout.
        if line[RECORD_LENGTH:].strip():
            raise MalformedFile(
                where, number, f"record is {len(line)} characters long; the layout has 320"
            )
        line = line[:RECORD_LENGTH]
    if len(line) < RECORD_ID.stop:
        raise MalformedFile(where, number, "record too short to hold a record identification code")
    # Trailing blanks trimmed by an editor or a transfer are not data: pad them back.
    return line.ljust(RECORD_LENGTH)


def parse_records(
    lines: Sequence[str], where: str, effective: date, notes: dict[str, str] | None = None
) -> list[CodeRow]:
    """Code rows from the lines of the fixed-width file; MalformedFile(where, line) if not valid."""
    notes = notes or {}
    entries: list[_Entry] = []
    seen: set[str] = set()
    current: _Entry | None = None
    for number, raw in enumerate(lines, start=1):
        record = _record(raw, where, number)
        if record is None:
            continue
        kind_code = record[RECORD_ID]
        sequence_text = record[SEQUENCE]
        if not sequence_text.strip().isdigit():
            raise MalformedFile(where, number, f"sequence number {sequence_text!r} is not a number")
        sequence = int(sequence_text)
        if kind_code in ("3", "7"):
            if kind_code == "3":
                code = record[CODE].strip()
                if not _PROCEDURE.match(code):
                    raise MalformedFile(where, number, f"{code!r} is not a HCPCS Level II code")
            else:
                code = record[MODIFIER].strip()
                if record[MODIFIER_FILLER].strip() or not _MODIFIER.match(code):
                    raise MalformedFile(
                        where, number, f"{record[CODE]!r} is not a modifier in positions 4-5"
                    )
            if code in seen:
                raise MalformedFile(where, number, f"{code} appears twice")
            seen.add(code)
            current = _Entry(
                code=code,
                field=record[CODE],
                kind="code" if kind_code == "3" else "modifier",
                line=number,
                sequence=sequence,
                short=record[SHORT_DESCRIPTION].strip(),
                descriptions=[record[LONG_DESCRIPTION].strip()],
                details=_details(record, where, number, notes),
            )
            entries.append(current)
        elif kind_code in ("4", "8"):
            if current is None or current.field != record[CODE]:
                raise MalformedFile(
                    where,
                    number,
                    f"continuation record for {record[CODE].strip()!r} without its first record",
                )
            if (kind_code == "4") != (current.kind == "code"):
                raise MalformedFile(
                    where, number, f"record type {kind_code} cannot continue {current.code}"
                )
            if sequence <= current.sequence:
                raise MalformedFile(
                    where, number, f"sequence number {sequence} does not follow {current.sequence}"
                )
            current.sequence = sequence
            current.descriptions.append(record[LONG_DESCRIPTION].strip())
        else:
            raise MalformedFile(
                where, number, f"record identification code {kind_code!r} is not 3, 4, 7 or 8"
            )
    if not entries:
        raise MalformedFile(where, None, "no HCPCS records found")

    rows = []
    for sort, entry in enumerate(entries, start=1):
        # CMS breaks the long description between words, so the pieces join with one space.
        title = " ".join(p for p in entry.descriptions if p)
        if not title:
            raise MalformedFile(where, entry.line, f"{entry.code} has no long description")
        ended = entry.details.get("termination_date")
        if ended and date.fromisoformat(ended) < effective:
            entry.details = _with_terminated(entry.details, ended)
        rows.append(
            CodeRow(
                SYSTEM,
                entry.code,
                entry.code,
                title,
                kind=entry.kind,
                billable=entry.kind == "code" and "terminated" not in entry.details,
                group_key=entry.code[0] if entry.kind == "code" else MODIFIER_GROUP,
                short_title=entry.short or None,
                sort=sort,
                details=entry.details,
            )
        )
    return rows


def _with_terminated(details: dict[str, Any], ended: str) -> dict[str, Any]:
    """Put `terminated` right after termination_date, so pages list the facts in file order."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        out[key] = value
        if key == "termination_date":
            out["terminated"] = ended
    return out


def groups(rows: Sequence[CodeRow]) -> list[GroupRow]:
    by_letter: dict[str, list[str]] = {}
    modifiers = 0
    for row in rows:
        if row.kind == "modifier":
            modifiers += 1
        else:
            by_letter.setdefault(row.code[0], []).append(row.code)
    out = [
        GroupRow(
            SYSTEM,
            "range",
            letter,
            f"HCPCS codes beginning with {letter}",
            sort=index,
            details={"count": len(codes), "first": min(codes), "last": max(codes)},
        )
        for index, (letter, codes) in enumerate(sorted(by_letter.items()), start=1)
    ]
    if modifiers:
        out.append(
            GroupRow(
                SYSTEM,
                "range",
                MODIFIER_GROUP,
                "HCPCS Level II modifiers",
                sort=len(out) + 1,
                details={"count": modifiers},
            )
        )
    return out


def parse_notes(text: str) -> dict[str, str]:
    """The processing notes file: "0002--TEXT ... *" blocks, continued on indented lines."""
    notes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.rstrip().removesuffix("*").strip()
        match = _NOTE_START.match(line)
        if match:
            current = notes.setdefault(match.group(1), [])
            if match.group(2).strip():
                current.append(match.group(2).strip())
            continue
        if current is not None and line:
            current.append(line)
        elif not line:
            # A blank line ends a note: the rule lines and headings between notes are not text.
            current = None
    return {number: " ".join(" ".join(parts).split()) for number, parts in notes.items() if parts}


def _decode(data: bytes, where: str) -> list[str]:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MalformedFile(where, line, f"byte 0x{data[exc.start]:02x} is not cp1252") from None
    return text.split("\n")


def quarter_of(*names: str) -> date:
    """The quarter's first day from CMS file names: HCPC2026_JAN_... or january-2026-..."""
    for name in names:
        match = _QUARTER_IN_MEMBER.search(name)
        if match:
            return date(int(match.group(1)), _MONTHS[match.group(2).lower()], 1)
        match = _QUARTER_IN_ZIP.search(name)
        if match:
            return date(int(match.group(2)), _MONTHS[match.group(1)[:3].lower()], 1)
    raise MalformedFile(names[0], None, "cannot tell the HCPCS quarter from the file name")


def release_for(path: Path, member: str | None, effective: date) -> ReleaseInfo:
    return ReleaseInfo(
        code_set=CODE_SET,
        name=f"HCPCS {effective:%B} {effective.year}",
        version=f"{effective:%Y-%m}",
        source=f"{path}!{member}" if member else str(path),
        checksum=sha256_of([path]),
        effective_date=effective,
    )


def parse_zip(path: Path) -> Dataset:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise MalformedFile(path, None, f"not a zip file: {exc}") from exc
    with archive:
        names = archive.namelist()
        data_members = [n for n in names if _DATA_MEMBER.search(n)]
        if len(data_members) != 1:
            found = ", ".join(data_members) or "none"
            raise MalformedFile(
                path, None, f"expected one HCPC<year>_<MON>_ANWEB_*.txt member, found {found}"
            )
        member = data_members[0]
        notes_member = next((n for n in names if _NOTES_MEMBER.search(n)), None)
        notes = (
            parse_notes(archive.read(notes_member).decode("cp1252", errors="replace"))
            if notes_member
            else {}
        )
        where = f"{path}!{member}"
        lines = _decode(archive.read(member), where)
    effective = quarter_of(member, path.name)
    return _dataset(lines, where, release_for(path, member, effective), notes)


def parse_text(path: Path) -> Dataset:
    """The fixed-width .txt on its own (e.g. unzipped by the operator); notes read beside it."""
    notes_file = next(iter(sorted(path.parent.glob("proc_notes*.txt"))), None)
    notes = parse_notes(notes_file.read_text("cp1252", errors="replace")) if notes_file else {}
    lines = _decode(path.read_bytes(), str(path))
    effective = quarter_of(path.name)
    return _dataset(lines, str(path), release_for(path, None, effective), notes)


def _dataset(lines: list[str], where: str, info: ReleaseInfo, notes: dict[str, str]) -> Dataset:
    assert info.effective_date is not None
    rows = parse_records(lines, where, info.effective_date, notes)
    return Dataset(release=info, systems=(SYSTEM,), codes=rows, groups=groups(rows))


def parse(path: Path) -> Dataset:
    return parse_zip(path) if zipfile.is_zipfile(path) else parse_text(path)


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """The HCPCS file given with --file, else the January 2026 zip in the data folder."""
    yield parse(ctx.files.get(CODE_SET) or ctx.data_file(DEFAULT_ZIP))
