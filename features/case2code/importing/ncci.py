"""NCCI procedure-to-procedure (PTP) edits and medically unlikely edits (MUEs).

Two sources:

1. The official CMS quarterly files, given with `--file` (a file, a folder of them, or the zips
   CMS publishes; every `.txt`/`.csv` inside is looked at and files of neither kind are ignored):
   - PTP, practitioner (`ccipra-v<vvv>r0-f<n>.txt`) and outpatient hospital (`ccioph-...`):
     tab-delimited; a copyright line, "Column1/Column2 Edits", the column titles
     ("Column 1<TAB>Column 2<TAB>*=in existence<TAB>Effective<TAB>Deletion<TAB>Modifier<TAB>
     PTP Edit Rationale") wrapped over four lines whose first cell is blank, then one edit per
     line: column 1 code, column 2 code, "*" if in existence prior to 1996 (else blank),
     effective date YYYYMMDD, deletion date YYYYMMDD or "*" (none), modifier indicator 0/1/9,
     rationale. A `.csv` with the same columns (an .xlsx saved as CSV) is read the same way.
     The setting comes from the file name (ccipra/practitioner, ccioph/hospital).
   - MUE (`MCR_MUE_PractitionerServices_Eff_01-01-2026.csv`, `..._OutpatientHospitalServices_
     ...`, `..._DMESupplierServices_...`): CSV, an AMA notice (one quoted cell over several
     lines), then the title row "HCPCS/CPT Code", "<Setting> Services MUE Values",
     "MUE Adjudication Indicator", "MUE Rationale" (columns found by title), then
     code, value, "2 Date of Service Edit: Policy", rationale. The setting comes from the title.
   After the title rows every non-blank line must parse: a bad code, date, modifier indicator,
   MUE value or adjudication indicator, or a missing column, raises MalformedFile with the line.
2. The shared HAND-WRITTEN SAMPLE (`ncci-sample/ptp-edits.json`, `mue.json`, `meta.json`), not
   CMS data: loaded as a release with sample=True and "sample" in its name. Its PTP pairs state no
   setting; they are recorded as practitioner edits (what the sample's E/M and office pairs
   describe). Each sample MUE gives a practitioner and a facility value: two records.

Records:
  kind "ncci", key = column 1 code, key2 = column 2 code, data:
    modifier_indicator (int 0, 1 or 9), effective "2024-01-01", deletion (ISO date or None),
    rationale, setting ("practitioner" | "hospital"), prior_1996 (bool),
    category (the sample's own grouping; sample only).
  kind "mue", key = code, key2 = setting, data:
    value (int units), adjudication_indicator (int 1, 2 or 3), adjudication
    ("Date of Service Edit: Policy"), rationale, setting ("practitioner" | "hospital" | "dme").
Default: the official files when `--file` names them or the data folder has an `ncci/` folder of
them, else the sample.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from features.case2code.importing.base import (
    Dataset,
    MalformedFile,
    MissingSource,
    RecordRow,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

CODE_SET = "ncci"
SAMPLE_DIR = "ncci-sample"
OFFICIAL_DIR = "ncci"
SAMPLE_FILES = ("ptp-edits.json", "mue.json", "meta.json")
MODIFIER_INDICATORS = (0, 1, 9)
ADJUDICATION = {
    1: "Line Edit",
    2: "Date of Service Edit: Policy",
    3: "Date of Service Edit: Clinical",
}

_CODE = re.compile(r"^[0-9A-Z]{5}$")
_PTP_VERSION = re.compile(r"cci(?:pra|oph)-v(\d{2})(\d)r(\d+)", re.IGNORECASE)
_MUE_EFFECTIVE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
_MAI = re.compile(r"^\s*([123])\b\s*(.*)$")


@dataclass(frozen=True)
class SourceFile:
    """One text file to read: on disk, or a member of a zip (`where` names it for errors)."""

    where: str
    name: str
    data: bytes

    def text(self) -> str:
        try:
            return self.data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self.data.decode("cp1252", errors="replace")


def _date(value: str, what: str, where: str, line: int) -> str:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        raise MalformedFile(where, line, f"{what} {value!r} is not a YYYYMMDD date") from None


def _code(value: str, what: str, where: str, line: int) -> str:
    code = value.strip().upper()
    if not _CODE.match(code):
        raise MalformedFile(where, line, f"{what} {value.strip()!r} is not a HCPCS/CPT code")
    return code


def ptp_setting(name: str) -> str | None:
    lower = name.lower()
    if "ccipra" in lower or "practitioner" in lower:
        return "practitioner"
    if "ccioph" in lower or "hospital" in lower:
        return "hospital"
    return None


def _cells(line: str, comma: bool) -> list[str]:
    return next(csv.reader([line])) if comma else line.split("\t")


def is_ptp(text: str) -> bool:
    """A PTP file has a title row whose first two cells are "Column 1" and "Column 2" (a readme
    that merely mentions the columns is not one)."""
    for line in text[:4000].splitlines():
        cells = [c.strip().lower().replace(" ", "") for c in re.split(r"[\t,]", line)]
        if cells[:2] == ["column1", "column2"]:
            return True
    return False


def parse_ptp(source: SourceFile, setting: str | None = None) -> list[RecordRow]:
    """One PTP file in the CMS layout (tab-delimited .txt, or the same columns as .csv)."""
    where = source.where
    setting = setting or ptp_setting(source.name)
    if setting is None:
        raise MalformedFile(
            where, None, "cannot tell the setting: the name has neither ccipra nor ccioph"
        )
    comma = source.name.lower().endswith(".csv")
    records: list[RecordRow] = []
    in_header = False
    in_data = False
    for number, raw in enumerate(source.text().splitlines(), start=1):
        if not raw.strip():
            continue
        cells = [c.strip() for c in _cells(raw, comma)]
        if not in_data:
            if cells[0].lower().replace(" ", "") == "column1":
                in_header = True
                continue
            # The titles wrap over the next lines, each with a blank first cell.
            if not in_header or not cells[0]:
                continue
            in_data = True
        records.append(_ptp_row(cells, setting, where, number))
    if not in_header:
        raise MalformedFile(where, None, "no 'Column 1 / Column 2' title line: not a PTP file")
    return records


def _ptp_row(cells: list[str], setting: str, where: str, line: int) -> RecordRow:
    # Older files have no rationale column; CMS files since 2015 have seven.
    if len(cells) < 6:
        raise MalformedFile(where, line, f"expected 7 columns, found {len(cells)}")
    column1 = _code(cells[0], "column 1 code", where, line)
    column2 = _code(cells[1], "column 2 code", where, line)
    if cells[2] not in ("", "*"):
        raise MalformedFile(where, line, f"prior-to-1996 flag {cells[2]!r} is neither * nor blank")
    effective = _date(cells[3], "effective date", where, line)
    deletion = None if cells[4] in ("", "*") else _date(cells[4], "deletion date", where, line)
    if cells[5] not in ("0", "1", "9"):
        raise MalformedFile(where, line, f"modifier indicator {cells[5]!r} is not 0, 1 or 9")
    return RecordRow(
        "ncci",
        column1,
        {
            "modifier_indicator": int(cells[5]),
            "effective": effective,
            "deletion": deletion,
            "rationale": cells[6] if len(cells) > 6 and cells[6] else None,
            "setting": setting,
            "prior_1996": cells[2] == "*",
        },
        key2=column2,
    )


def _title(cell: str) -> str:
    return " ".join(cell.split()).lower()


def is_mue(text: str) -> bool:
    return "mue values" in " ".join(text[:4000].split()).lower()


def mue_setting(title: str) -> str:
    lower = _title(title)
    if "practitioner" in lower:
        return "practitioner"
    if "hospital" in lower or "facility" in lower:
        return "hospital"
    if "dme" in lower:
        return "dme"
    return "unspecified"


def parse_mue(source: SourceFile) -> list[RecordRow]:
    """One MUE table in the CMS CSV layout; columns are found by their titles."""
    where = source.where
    reader = csv.reader(io.StringIO(source.text(), newline=""))
    columns: dict[str, int] | None = None
    setting = "unspecified"
    records: list[RecordRow] = []
    seen: set[str] = set()
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            titles = [_title(c) for c in cells]
            value = next((i for i, t in enumerate(titles) if "mue values" in t), None)
            if value is None:
                continue  # the AMA notice above the title row
            code = next((i for i, t in enumerate(titles) if "hcpcs" in t or "cpt" in t), None)
            mai = next((i for i, t in enumerate(titles) if "adjudication" in t), None)
            rationale = next((i for i, t in enumerate(titles) if "rationale" in t), None)
            if code is None or mai is None:
                raise MalformedFile(
                    where, line, "the MUE title row lacks the code or adjudication column"
                )
            columns = {"code": code, "value": value, "mai": mai}
            if rationale is not None:
                columns["rationale"] = rationale
            setting = mue_setting(cells[value])
            continue
        needed = max(columns.values()) + 1
        if len(cells) < needed:
            raise MalformedFile(where, line, f"expected {needed} columns, found {len(cells)}")
        code = _code(cells[columns["code"]], "code", where, line)
        raw_value = cells[columns["value"]].strip()
        if not raw_value.isdigit():
            raise MalformedFile(where, line, f"MUE value {raw_value!r} is not a whole number")
        match = _MAI.match(cells[columns["mai"]])
        if match is None:
            raise MalformedFile(
                where,
                line,
                f"adjudication indicator {cells[columns['mai']].strip()!r} is not 1, 2 or 3",
            )
        if code in seen:
            raise MalformedFile(where, line, f"{code} appears twice")
        seen.add(code)
        indicator = int(match.group(1))
        rationale = cells[columns["rationale"]].strip() if "rationale" in columns else ""
        records.append(
            RecordRow(
                "mue",
                code,
                {
                    "value": int(raw_value),
                    "adjudication_indicator": indicator,
                    "adjudication": match.group(2).strip() or ADJUDICATION[indicator],
                    "rationale": rationale or None,
                    "setting": setting,
                },
                key2=setting,
            )
        )
    if columns is None:
        raise MalformedFile(where, None, "no 'MUE Values' title row: not an MUE file")
    return records


def sources_in(path: Path) -> list[SourceFile]:
    """Every .txt/.csv at `path`: the file itself, a folder's files, and the members of zips."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out: list[SourceFile] = []
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".zip":
            try:
                with zipfile.ZipFile(file) as archive:
                    for name in sorted(archive.namelist()):
                        if name.lower().endswith((".txt", ".csv")):
                            out.append(
                                SourceFile(f"{file}!{name}", Path(name).name, archive.read(name))
                            )
            except zipfile.BadZipFile as exc:
                raise MalformedFile(file, None, f"not a zip file: {exc}") from exc
        elif suffix in (".txt", ".csv"):
            out.append(SourceFile(str(file), file.name, file.read_bytes()))
    return out


def _quarter(day: date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def parse_official(path: Path) -> Dataset:
    """The CMS files at `path` (a file, a folder or a zip) as one NCCI release."""
    ptp: list[RecordRow] = []
    mue: list[RecordRow] = []
    used: list[str] = []
    effective: date | None = None
    ptp_version: str | None = None
    for source in sources_in(path):
        text = source.text()
        if is_ptp(text):
            ptp.extend(parse_ptp(source))
            match = _PTP_VERSION.search(source.name)
            if match:
                major, minor = int(match.group(1)), int(match.group(2))
                ptp_version = f"{major}.{minor}"
                # NCCI version 32.0 is the 2026 Q1 release: the major number is the year - 1994.
                effective = effective or date(1994 + major, minor * 3 + 1, 1)
        elif is_mue(text):
            mue.extend(parse_mue(source))
            match = _MUE_EFFECTIVE.search(source.name)
            if match:
                month, day, year = (int(g) for g in match.groups())
                effective = effective or date(year, month, day)
        else:
            continue
        used.append(source.where)
    if not used:
        raise MalformedFile(path, None, "no NCCI PTP (.txt) or MUE (.csv) file found")
    if not ptp and not mue:
        raise MalformedFile(path, None, "the NCCI files hold no edits")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    checksum = sha256_of(files)
    kinds = tuple(kind for kind, rows in (("ncci", ptp), ("mue", mue)) if rows)
    label = _quarter(effective) if effective else f"files {checksum[:8]}"
    parts = []
    if ptp:
        parts.append(f"PTP v{ptp_version}" if ptp_version else "PTP")
    if mue:
        parts.append("MUE")
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=f"Medicare NCCI {label} ({', '.join(parts)})",
            version=_quarter(effective).replace(" ", "") if effective else checksum[:12],
            source="; ".join(used),
            checksum=checksum,
            effective_date=effective,
        ),
        record_kinds=kinds,
        records=[*ptp, *mue],
    )


def _sample_entries(path: Path) -> list[Any]:
    try:
        entries = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise MalformedFile(path, exc.lineno, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(entries, list):
        raise MalformedFile(path, 1, "expected a JSON list")
    return entries


def parse_sample(folder: Path) -> Dataset:
    paths = [folder / name for name in SAMPLE_FILES]
    for path in paths:
        if not path.exists():
            raise MissingSource(f"{path} is not on this machine (set PORTAL_DATA_DIR)")
    ptp_path, mue_path, meta_path = paths
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise MalformedFile(meta_path, exc.lineno, f"not valid JSON: {exc.msg}") from exc
    label = str(meta.get("cmsQuarter") or "").strip()
    records: list[RecordRow] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(_sample_entries(ptp_path), start=1):
        where = f"{ptp_path} (entry {index})"
        try:
            column1 = _code(str(entry["column1"]), "column1", where, 0)
            column2 = _code(str(entry["column2"]), "column2", where, 0)
            indicator = entry["modifierIndicator"]
            effective = date.fromisoformat(entry["effectiveDate"]).isoformat()
            deletion = entry.get("deletionDate")
            deletion = date.fromisoformat(deletion).isoformat() if deletion else None
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedFile(ptp_path, None, f"entry {index}: {exc!r}") from exc
        if indicator not in MODIFIER_INDICATORS:
            raise MalformedFile(ptp_path, None, f"entry {index}: modifier indicator {indicator!r}")
        if (column1, column2) in seen:
            continue  # the sample lists one pair twice; an edit is a pair
        seen.add((column1, column2))
        data = {
            "modifier_indicator": indicator,
            "effective": effective,
            "deletion": deletion,
            "rationale": entry.get("rationale") or None,
            "setting": "practitioner",
            "prior_1996": False,
            "category": entry.get("category") or None,
        }
        records.append(RecordRow("ncci", column1, data, key2=column2))
    for index, entry in enumerate(_sample_entries(mue_path), start=1):
        try:
            code = _code(str(entry["code"]), "code", f"{mue_path} (entry {index})", 0)
            indicator = entry["adjudicationIndicator"]
            values = {"practitioner": entry["practitionerMue"], "hospital": entry["facilityMue"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedFile(mue_path, None, f"entry {index}: {exc!r}") from exc
        if indicator not in ADJUDICATION:
            raise MalformedFile(mue_path, None, f"entry {index}: adjudication {indicator!r}")
        for setting, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MalformedFile(mue_path, None, f"entry {index}: {setting} MUE {value!r}")
            data = {
                "value": value,
                "adjudication_indicator": indicator,
                "adjudication": ADJUDICATION[indicator],
                "rationale": entry.get("rationale") or None,
                "setting": setting,
            }
            records.append(RecordRow("mue", code, data, key2=setting))
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=f"NCCI sample (not CMS data), labelled {label or 'undated'}",
            version=f"sample-{label.replace(' ', '')}" if label else "sample",
            source=f"{folder} (hand-written sample: {', '.join(SAMPLE_FILES)})",
            checksum=sha256_of(paths),
            sample=True,
        ),
        record_kinds=("ncci", "mue"),
        records=records,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """The CMS files given with --file or saved under ncci/ in the data folder (where
    `portal data fetch` tells the operator to put them), else the hand-written sample."""
    given = ctx.files.get(CODE_SET)
    folder = ctx.data_dir / OFFICIAL_DIR
    if given is None and folder.is_dir() and any(folder.iterdir()):
        given = folder
    if given is not None:
        yield parse_official(given)
        return
    yield parse_sample(ctx.data_file(SAMPLE_DIR))
