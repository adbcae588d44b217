"""MS-DRG: the CC and MCC designations with their exclusions, and the DRG weights, from CMS.

Sources (the drg package, `drg/data/`), one release of code set "ms-drg":
- `cms/mcc_list.txt` (Table 6I) and `cms/cc_list.txt` (Table 6J): "A02.1<TAB>Salmonella
  sepsis", a title line and a column header first;
- `cms/cc_exclusions.txt` (Table 6K): Part 1 lists each CC/MCC with its PDX exclusion collection
  (" A000    CC  0002:3 codes     Cholera ..." or "No Excl"), then each collection
  ("PDX collection 0002" and its codes); Part 2 the codes that count only if the patient was
  discharged alive; Part 3 the codes that are not a CC/MCC in some DRGs ("MDC 01 DRGs 082-084
  Traumatic Stupor and Coma >1 Hour" and its codes);
- `cms/drg_weights.txt` (Table 5, tab separated, cp1252): DRG, post-acute, special pay, MDC,
  TYPE, title, weight before and after the 10% cap, geometric and arithmetic mean LOS. Its title
  names the fiscal year ("FY 2026 Final Rule"); the MS-DRG version is FY - 1983 (v43 = FY2026);
- `tuva/mdc.csv` ("01","Diseases and Disorders of the Nervous System"): MDC titles;
- `tuva/ms_drg.csv` (drg, mdc, M/P, title, deprecated, deprecated since): DRGs CMS has retired,
  which Table 5 no longer lists.
drgpy's v43 data repeats Tables 6I-6K (the same levels and collections) and adds nothing for
this version (its hospital-acquired-condition flags start in v43.1), so it is not read.

Records (codes normalised: upper case, no dot):
- "drg-cc": key = ICD-10-CM code, data {"level": "CC" | "MCC", "title": str,
  "pdx_exclusion": "0002" | None (the collection of principal diagnoses with which the code is
  not a CC/MCC), "pdx_exclusion_count": int, "alive_only": bool (Part 2),
  "excluded_in_drgs": ["082-084", ...] (Part 3)};
- "drg-pdx-collection": key = collection ("0002"), data {"codes": [ICD-10-CM codes]};
- "drg-cc-drg-exclusion": key = DRG ("082"), data {"mdc": "01", "drgs": "082-084", "title",
  "codes": [secondary diagnoses that are not a CC/MCC in this DRG]};
- "ms-drg": key = DRG ("001"), data {"title", "mdc": "01" | "PRE" | None, "mdc_title",
  "type": "MED" | "SURG" | None, "weight" (10% cap applied, the payment weight),
  "weight_uncapped", "gmlos", "amlos" (floats or None), "post_acute": bool,
  "special_pay": bool, "retired": None | "2023-10-01"}.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
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

CODE_SET = "ms-drg"
PACKAGE = "drg"
FILES = {
    "mcc": "data/cms/mcc_list.txt",
    "cc": "data/cms/cc_list.txt",
    "exclusions": "data/cms/cc_exclusions.txt",
    "weights": "data/cms/drg_weights.txt",
    "mdc": "data/tuva/mdc.csv",
    "drgs": "data/tuva/ms_drg.csv",
}
RECORD_KINDS = ("drg-cc", "drg-pdx-collection", "drg-cc-drg-exclusion", "ms-drg")

_CM = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")  # FY2026 adds QA0.0101: a letter second
_PART = re.compile(r"^K Part ([123])\b")
_PART1_ROW = re.compile(
    r"^ (\S+)\s+(CC|MCC)\s+(?:(\d{4}):([\d,]+) codes?|No Excl)\s*(.*)$"  # "1,070 codes"
)
_COLLECTION = re.compile(r"^PDX collection (\d{4})\s*$")
_CODE_ROW = re.compile(r"^ {2}(\S+)(?:\s+(.*))?$")
_DRG_GROUP = re.compile(r"^MDC (\d\d|PRE) DRGs? (\d{3})(?:-(\d{3}))? (.+)$")
_FISCAL_YEAR = re.compile(r"FY\s*(\d{4})\s+(Final|Proposed|Correction)[^\"\t\r\n]*", re.I)


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise MalformedFile(path, line, f"not {encoding} text: {exc.reason}") from exc
    # CMS mixes CRLF and LF line ends in these files.
    return [line.rstrip("\r") for line in text.split("\n")]


def _code(path: Path, line: int, raw: str) -> str:
    code = raw.strip().replace(".", "").upper()
    if not _CM.match(code):
        raise MalformedFile(path, line, f"{raw.strip() or '(empty)'} is not an ICD-10-CM code")
    return code


def read_level_list(path: Path, level: str) -> dict[str, tuple[str, int]]:
    """Table 6I or 6J: code -> (title, line)."""
    found: dict[str, tuple[str, int]] = {}
    lines = _lines(path, "cp1252")
    if not lines or not lines[0].upper().startswith("TABLE 6"):
        raise MalformedFile(path, 1, "expected a CMS Table 6I/6J title line")
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip() or text.lower().startswith("diagnosis code"):
            continue
        raw, tab, title = text.partition("\t")
        if tab and not raw.strip():
            continue  # CMS ends the table with "<TAB>Notes:"
        if not tab:
            raise MalformedFile(path, number, "expected code<TAB>description")
        code = _code(path, number, raw)
        if code in found:
            raise MalformedFile(path, number, f"{raw} is listed twice")
        found[code] = (title.strip(), number)
    if not found:
        raise MalformedFile(path, None, f"no {level} codes found")
    return found


@dataclass
class Exclusions:
    levels: dict[str, tuple[str, str | None, int, str, int]] = field(default_factory=dict)
    # code -> (level, collection, count, title, line)
    collections: dict[str, list[str]] = field(default_factory=dict)
    alive_only: set[str] = field(default_factory=set)
    drg_groups: list[dict[str, Any]] = field(default_factory=list)


def read_exclusions(path: Path) -> Exclusions:
    """Table 6K, all three parts."""
    result = Exclusions()
    part: str | None = None
    codes: list[str] | None = None  # the collection or DRG group being read
    lines = _lines(path, "cp1252")
    if not lines or "TABLE 6K" not in lines[0].upper():
        raise MalformedFile(path, 1, "expected the CMS Table 6K title line")
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        heading = _PART.match(text)
        if heading:
            part, codes = heading.group(1), None
            continue
        if part is None:
            continue  # the table's introduction
        if part == "1":
            collection = _COLLECTION.match(text)
            if collection:
                codes = result.collections.setdefault(collection.group(1), [])
                continue
            if codes is None:
                if text.strip().startswith("I10 Dx"):
                    continue  # the column header
                row = _PART1_ROW.match(text)
                if not row:
                    raise MalformedFile(path, number, "expected: code, CC or MCC, exclusions")
                code = _code(path, number, row.group(1))
                result.levels[code] = (
                    row.group(2),
                    row.group(3),
                    int((row.group(4) or "0").replace(",", "")),
                    row.group(5).strip(),
                    number,
                )
                continue
        if part == "3":
            group = _DRG_GROUP.match(text)
            if group:
                codes = []
                first, last = group.group(2), group.group(3) or group.group(2)
                result.drg_groups.append(
                    {
                        "mdc": group.group(1),
                        "drgs": f"{first}-{last}" if last != first else first,
                        "numbers": [f"{n:03d}" for n in range(int(first), int(last) + 1)],
                        "title": group.group(4).strip(),
                        "codes": codes,
                    }
                )
                continue
        row = _CODE_ROW.match(text)
        if not row or (part in ("1", "3") and codes is None):
            raise MalformedFile(path, number, f"unexpected line in Part {part}: {text.strip()}")
        code = _code(path, number, row.group(1))
        if part == "2":
            result.alive_only.add(code)
        else:
            assert codes is not None
            codes.append(code)
    if not result.levels:
        raise MalformedFile(path, None, "no Part 1 (list of CC and MCC codes) found")
    for code, (_level, collection, count, _title, number) in result.levels.items():
        if collection is None:
            continue
        members = result.collections.get(collection)
        if members is None:
            raise MalformedFile(path, number, f"{code}: PDX collection {collection} is not listed")
        if len(members) != count:
            raise MalformedFile(
                path,
                number,
                f"{code}: collection {collection} says {count} codes, lists {len(members)}",
            )
    return result


def _number(path: Path, line: int, raw: str) -> float | None:
    raw = raw.strip()
    if raw in ("", "."):
        return None
    try:
        return float(raw.replace(",", ""))
    except ValueError as exc:
        raise MalformedFile(path, line, f"{raw!r} is not a number") from exc


def read_weights(path: Path) -> tuple[int, str, dict[str, dict[str, Any]]]:
    """Table 5: (fiscal year, the rule as the title names it, DRG -> data)."""
    lines = _lines(path, "cp1252")
    head = " ".join(lines[:3])
    year = _FISCAL_YEAR.search(head)
    if "TABLE 5" not in head.upper() or not year:
        raise MalformedFile(path, 1, "expected the CMS Table 5 title naming the fiscal year")
    drgs: dict[str, dict[str, Any]] = {}
    header_seen = False
    for number, text in enumerate(lines, start=1):
        fields = text.split("\t")
        if fields[0].strip().upper() == "MS-DRG":
            header_seen = True
            if len(fields) < 10:
                raise MalformedFile(path, number, "the column header has fewer than 10 columns")
            continue
        if not header_seen or not "".join(fields).strip():
            continue
        if len(fields) < 10:
            raise MalformedFile(path, number, f"expected 10 columns, found {len(fields)}")
        drg = fields[0].strip()
        if not re.fullmatch(r"\d{3}", drg):
            raise MalformedFile(path, number, f"{drg!r} is not a DRG number")
        kind = fields[4].strip().upper()
        if kind not in ("MED", "SURG", "**"):
            raise MalformedFile(path, number, f"TYPE {kind!r} is not MED or SURG")
        if drg in drgs:
            raise MalformedFile(path, number, f"DRG {drg} is listed twice")
        drgs[drg] = {
            "title": fields[5].strip(),
            "mdc": fields[3].strip() or None,
            "type": None if kind == "**" else kind,
            "weight": _number(path, number, fields[7]),
            "weight_uncapped": _number(path, number, fields[6]),
            "gmlos": _number(path, number, fields[8]),
            "amlos": _number(path, number, fields[9]),
            "post_acute": fields[1].strip().lower() == "yes",
            "special_pay": fields[2].strip().lower() == "yes",
            "retired": None,
        }
    if not drgs:
        raise MalformedFile(path, None, "no DRG rows found")
    return int(year.group(1)), year.group(0).strip(), drgs


def read_mdc_titles(path: Path) -> dict[str, str]:
    titles: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        for fields in reader:
            if not fields:
                continue
            if len(fields) != 2 or not re.fullmatch(r"\d\d", fields[0].strip()):
                raise MalformedFile(path, reader.line_num, 'expected "NN","title"')
            titles[fields[0].strip()] = fields[1].strip()
    return titles


def read_retired(path: Path) -> dict[str, dict[str, Any]]:
    """DRGs the Tuva seed marks deprecated, with the date CMS retired them."""
    retired: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        for fields in reader:
            if not fields or not "".join(fields).strip():
                continue
            if len(fields) != 6 or not re.fullmatch(r"\d{3}", fields[0].strip()):
                raise MalformedFile(path, reader.line_num, "expected 6 columns, a DRG first")
            drg, mdc, kind, title, deprecated, since = (f.strip() for f in fields)
            if deprecated != "1":
                continue
            mdc_match = re.search(r"\d\d", mdc)
            retired[drg] = {
                "title": title,
                "mdc": mdc_match.group(0) if mdc_match else None,
                "type": {"P": "SURG", "SURGICAL": "SURG", "M": "MED", "MEDICAL": "MED"}.get(
                    kind.upper()
                ),
                "weight": None,
                "weight_uncapped": None,
                "gmlos": None,
                "amlos": None,
                "post_acute": False,
                "special_pay": False,
                "retired": None if since in ("", "\\N") else since,
            }
    return retired


def parse(files: dict[str, Path]) -> Dataset:
    """`files`: the paths of FILES' keys."""
    mcc = read_level_list(files["mcc"], "MCC")
    cc = read_level_list(files["cc"], "CC")
    exclusions = read_exclusions(files["exclusions"])
    year, rule, drgs = read_weights(files["weights"])
    mdc_titles = read_mdc_titles(files["mdc"])
    retired = read_retired(files["drgs"])

    levels: dict[str, tuple[str, str]] = {}  # code -> (level, title)
    for table, level in ((mcc, "MCC"), (cc, "CC")):
        for code, (title, number) in table.items():
            if code in levels:
                raise MalformedFile(files[level.lower()], number, f"{code} is both CC and MCC")
            levels[code] = (level, title)
    excluded_in: dict[str, list[str]] = {}
    for group in exclusions.drg_groups:
        for code in group["codes"]:
            excluded_in.setdefault(code, []).append(group["drgs"])

    records: list[RecordRow] = []
    for code, (level, title) in levels.items():
        listed = exclusions.levels.get(code)
        if listed and listed[0] != level:
            raise MalformedFile(
                files["exclusions"], listed[4], f"{code} is {listed[0]} here but {level} in 6I/6J"
            )
        records.append(
            RecordRow(
                "drg-cc",
                code,
                {
                    "level": level,
                    "title": title,
                    "pdx_exclusion": listed[1] if listed else None,
                    "pdx_exclusion_count": listed[2] if listed else 0,
                    "alive_only": code in exclusions.alive_only,
                    "excluded_in_drgs": excluded_in.get(code, []),
                },
            )
        )
    records += [
        RecordRow("drg-pdx-collection", key, {"codes": codes})
        for key, codes in sorted(exclusions.collections.items())
    ]
    records += [
        RecordRow(
            "drg-cc-drg-exclusion",
            number,
            {k: group[k] for k in ("mdc", "drgs", "title", "codes")},
        )
        for group in exclusions.drg_groups
        for number in group["numbers"]
    ]
    for drg, data in sorted({**retired, **drgs}.items()):
        data["mdc_title"] = mdc_titles.get(data["mdc"] or "")
        records.append(RecordRow("ms-drg", drg, data))

    version = year - 1983  # MS-DRG v25 was FY2008; one version a fiscal year since
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=f"MS-DRG v{version} ({rule})",
            version=str(version),
            source=f"{files['weights'].parent.parent} (drg package: CMS Tables 5, 6I, 6J, 6K; "
            "Tuva MDC and retired DRG seeds)",
            checksum=sha256_of(files.values()),
            effective_date=date(year - 1, 10, 1),
        ),
        record_kinds=RECORD_KINDS,
        records=records,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    yield parse({key: ctx.package_file(PACKAGE, rel) for key, rel in FILES.items()})
