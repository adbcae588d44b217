"""ICD-10-CM index tables, FY2022: Table of Drugs and Chemicals, Neoplasm Table, External Cause
Index, from the data folder (PORTAL_DATA_DIR/icd10cm-index/).

Sources (copies of the CDC FY2022 tables as CBIIT's icdgenie publishes them):
- `icd10drug.json` and `icd10neoplasm.json`: Elasticsearch bulk files, an {"index": ...} line
  before each document {"code": {six columns}, "path": [ancestors..., term], "description",
  "parent", "id"}; a heading row has no "code". Preferred: the CSVs beside them
  (`icd10cm_drug_2022.csv`, `icd10cm_neoplasm_2022.csv`: Term, Level, Parent, six code columns)
  leave the commas of Parent unquoted; when a JSON file is absent its CSV is read instead, the
  six codes taken from the end of the line and the path rebuilt from the levels;
- `icd10cm_eindex_2022.csv`: Accident (the term), Level, Parent, Code (and empty columns).
"NA" and empty cells (the printed table's dash) become None.

Records (one release, code set "icd-10-cm-index"; kinds replaced whole):
- "index-drug", "index-neoplasm", "index-external": key = the row number in the table, zero
  padded ("00028", so keys sort in table order), key2 None, data
  {"term": "Acetaminophen", "path": [ancestor terms, outermost first], "level": 0,
   "codes": {column label: code as printed ("T39.1X1", "C79.8-") or None}} with the column
  labels of DRUG_COLUMNS, NEOPLASM_COLUMNS or EXTERNAL_COLUMNS ({} for a heading row);
- "index-code": one per (code, row, column), so a code's page finds the index terms that point to
  it: key = the code normalised (upper case, no dot, no trailing dash: "C79.8-" -> "C798"),
  key2 None, data {"table": "drugs" | "neoplasms" | "external causes", "term", "path",
  "column", "code" (as printed), "row" (the index row's key)}.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
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

CODE_SET = "icd-10-cm-index"
FOLDER = "icd10cm-index"
NAME = "ICD-10-CM Index Tables FY2022 (Drugs, Neoplasms, External Causes)"
RECORD_KINDS = ("index-drug", "index-neoplasm", "index-external", "index-code")

# JSON key -> the column label the printed table uses.
DRUG_COLUMNS = {
    "poisoningAccidental": "Poisoning, Accidental (unintentional)",
    "poisoningIntentionalSelfHarm": "Poisoning, Intentional self-harm",
    "poisoningAssault": "Poisoning, Assault",
    "poisoningUndetermined": "Poisoning, Undetermined",
    "adverseEffect": "Adverse effect",
    "underdosing": "Underdosing",
}
NEOPLASM_COLUMNS = {
    "malignantPrimary": "Malignant Primary",
    "malignantSecondary": "Malignant Secondary",
    "carcinomaInSitu": "Ca in situ",
    "benign": "Benign",
    "uncertainBehavior": "Uncertain Behavior",
    "unspecifiedBehavior": "Unspecified Behavior",
}
EXTERNAL_COLUMNS = {"Code": "Code"}
TABLES = {
    # kind: (table label, JSON file, CSV file, columns)
    "index-drug": ("drugs", "icd10drug.json", "icd10cm_drug_2022.csv", DRUG_COLUMNS),
    "index-neoplasm": (
        "neoplasms",
        "icd10neoplasm.json",
        "icd10cm_neoplasm_2022.csv",
        NEOPLASM_COLUMNS,
    ),
    "index-external": ("external causes", None, "icd10cm_eindex_2022.csv", EXTERNAL_COLUMNS),
}
NOT_APPLICABLE = {"", "NA", "--", "\u2014"}
_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{0,4})?-?$")

Row = tuple[int, str, list[str], dict[str, str | None]]  # line, term, path, codes


def _cell(path: Path, line: int, raw: Any) -> str | None:
    value = str(raw or "").strip()
    if value.upper() in NOT_APPLICABLE:
        return None
    if not _CODE.match(value):
        raise MalformedFile(path, line, f"{value!r} is not an ICD-10-CM code")
    return value


def read_json(path: Path, columns: dict[str, str]) -> list[Row]:
    rows: list[Row] = []
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise MalformedFile(path, line, f"not JSON: {exc.msg}") from exc
            if not isinstance(doc, dict):
                raise MalformedFile(path, line, "expected a JSON object")
            if "index" in doc:
                continue  # the bulk file's action line
            terms = doc.get("path")
            term = str(doc.get("description") or "").strip()
            if not isinstance(terms, list) or not terms or not term:
                raise MalformedFile(path, line, "a row needs a description and a path")
            if str(terms[-1]).strip() != term:
                raise MalformedFile(path, line, f"the path does not end with {term!r}")
            raw = doc.get("code") or {}
            if not isinstance(raw, dict) or set(raw) - set(columns):
                raise MalformedFile(path, line, f"unexpected code columns: {sorted(raw)}")
            codes = {label: _cell(path, line, raw.get(key)) for key, label in columns.items()}
            rows.append((line, term, [str(t).strip() for t in terms[:-1]], codes if raw else {}))
    if not rows:
        raise MalformedFile(path, None, "no rows found")
    return rows


def read_csv(path: Path, columns: dict[str, str], unquoted_parent: bool) -> list[Row]:
    """Term, Level, Parent, then the code columns; the path is rebuilt from the levels and
    checked against Parent. `unquoted_parent`: the Drug and Neoplasm CSVs leave the commas of
    Parent unquoted, so the codes are the last columns and Parent is everything between."""
    rows: list[Row] = []
    stack: list[str] = []
    width = len(columns)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or len(header) < 3 + width or header[1].strip().lower() != "level":
            raise MalformedFile(path, 1, "expected the header: term, Level, Parent, codes")
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) < 3 + width:
                raise MalformedFile(path, line, f"expected {3 + width} columns")
            if unquoted_parent:
                parent, cells = ",".join(fields[2:-width]), fields[-width:]
            else:
                parent, cells = fields[2], fields[3 : 3 + width]
                if any(f.strip() for f in fields[3 + width :]):
                    raise MalformedFile(path, line, f"more than {3 + width} columns")
            term = fields[0].strip()
            try:
                level = int(fields[1])
            except ValueError as exc:
                raise MalformedFile(path, line, f"level {fields[1]!r} is not a number") from exc
            if not term:
                raise MalformedFile(path, line, "no term")
            if level < 0 or level > len(stack):
                raise MalformedFile(path, line, f"level {level} follows level {len(stack) - 1}")
            stack = stack[:level]
            if level and parent.strip() != stack[-1]:
                raise MalformedFile(
                    path, line, f"parent {parent.strip()!r}, expected {stack[-1]!r}"
                )
            codes = {
                label: _cell(path, line, cell)
                for label, cell in zip(columns.values(), cells, strict=True)
            }
            rows.append((line, term, list(stack), codes if any(codes.values()) else {}))
            stack.append(term)
    if not rows:
        raise MalformedFile(path, None, "no rows found")
    return rows


def normalise_index_code(code: str) -> str:
    return code.replace(".", "").rstrip("-").upper()


def records_of(kind: str, table: str, rows: list[Row]) -> list[RecordRow]:
    records: list[RecordRow] = []
    for number, (_line, term, path, codes) in enumerate(rows):
        key = f"{number:05d}"
        records.append(
            RecordRow(
                kind,
                key,
                {"term": term, "path": path, "level": len(path), "codes": codes},
            )
        )
        for column, code in codes.items():
            if code:
                records.append(
                    RecordRow(
                        "index-code",
                        normalise_index_code(code),
                        {
                            "table": table,
                            "term": term,
                            "path": path,
                            "column": column,
                            "code": code,
                            "row": key,
                        },
                    )
                )
    return records


def parse(folder: Path) -> Dataset:
    records: list[RecordRow] = []
    used: list[Path] = []
    for kind, (table, json_name, csv_name, columns) in TABLES.items():
        json_path = folder / json_name if json_name else None
        csv_path = folder / csv_name
        if json_path is not None and json_path.exists():
            rows = read_json(json_path, columns)
            used.append(json_path)
        elif csv_path.exists():
            rows = read_csv(csv_path, columns, unquoted_parent=kind != "index-external")
            used.append(csv_path)
        else:
            raise MissingSource(f"{csv_path} is not on this machine (set PORTAL_DATA_DIR)")
        records += records_of(kind, table, rows)
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=NAME,
            version="2022",
            source=f"{folder} ({', '.join(p.name for p in used)}; CDC FY2022 index tables)",
            checksum=sha256_of(used),
            effective_date=date(2021, 10, 1),
        ),
        record_kinds=RECORD_KINDS,
        records=records,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    yield parse(ctx.data_file(FOLDER))
