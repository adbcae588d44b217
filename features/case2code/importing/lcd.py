"""Medicare Coverage Database: the list of local coverage determinations (LCDs) and billing
articles, as the CMS coverage API lists them (`lcd/documents_latest.csv`).

The CSV has a title row: contractor_name_type, document_display_id, document_id, document_type,
document_version, effective_date, note, retirement_date, title, updated_on, updated_on_sort, url
(columns are found by title; updated_on_sort and document_id are not needed). Dates are
MM/DD/YYYY, "N/A" for no retirement. `contractor_name_type` is one cell over several lines:
"Noridian Healthcare Solutions, LLC\\n(MAC - Part A, MAC - Part B)", and a document shared by
contractors lists each, separated by a blank line. The list names no codes.

Records: kind "lcd", key = the document's display id ("L36668", "A59636"), key2 = its first
contractor's name (cut to 40 characters), data:
    id "L36668", type "LCD" | "Article", version (int), title, effective "2025-08-14",
    retirement (ISO date or None), updated "2025-08-06" (or None), note ("Retired", "Future",
    "(Notice Ended 08/16/2025)" or None), url (the CMS page of this version),
    contractors [{"name": "Noridian Healthcare Solutions, LLC",
                  "types": ["MAC - Part A", "MAC - Part B"]}].
A document can appear once per version (a future version beside the current one).
The release is named after the newest update in the file: "Medicare Coverage Database: LCDs and
articles, August 2025".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
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

CODE_SET = "lcd"
DEFAULT_FILE = "lcd/documents_latest.csv"
KIND = "lcd"
REQUIRED = (
    "contractor_name_type",
    "document_display_id",
    "document_type",
    "document_version",
    "effective_date",
    "retirement_date",
    "title",
    "url",
)
TYPES = {"LCD": "L", "Article": "A"}  # document type -> the letter its id starts with
KEY2_LENGTH = 40  # Record.key2 is a VARCHAR(40)

_ID = re.compile(r"^[LA][0-9]{4,6}$")
_CONTRACTOR = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$", re.DOTALL)


def _date(raw: str, field: str, path: Path, line: int, *, optional: bool = False) -> str | None:
    text = raw.strip()
    if optional and text.upper() in ("", "N/A"):
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    except ValueError as exc:
        raise MalformedFile(path, line, f"{field} {text!r} is not a MM/DD/YYYY date") from exc


def contractors(cell: str) -> list[dict[str, Any]]:
    """Each "Name (Type, Type)" block of the cell (blank lines between them) as a dict."""
    found = []
    for block in re.split(r"\n\s*\n", cell.strip()):
        text = " ".join(block.split())
        if not text:
            continue
        match = _CONTRACTOR.match(text)
        name, types = (match.group(1), match.group(2)) if match else (text, "")
        found.append({"name": name.strip(), "types": [t.strip() for t in types.split(",") if t]})
    return found


def _columns(cells: list[str], path: Path, line: int) -> dict[str, int]:
    titles = {c.strip().lstrip("\ufeff").lower(): i for i, c in enumerate(cells)}
    missing = [c for c in REQUIRED if c not in titles]
    if missing:
        raise MalformedFile(path, line, f"the title row lacks {', '.join(missing)}")
    return titles


def _record(cells: list[str], at: dict[str, int], path: Path, line: int) -> RecordRow:
    def cell(name: str) -> str:
        index = at.get(name)
        return cells[index].strip() if index is not None else ""

    doc_id = cell("document_display_id").upper()
    kind = cell("document_type")
    if kind not in TYPES:
        raise MalformedFile(path, line, f"document type {kind!r} is neither LCD nor Article")
    if not _ID.match(doc_id) or doc_id[0] != TYPES[kind]:
        raise MalformedFile(path, line, f"{doc_id!r} is not the id of an {kind}")
    version = cell("document_version")
    if not version.isdigit():
        raise MalformedFile(path, line, f"{doc_id}: version {version!r} is not a number")
    title = " ".join(cell("title").split())
    if not title:
        raise MalformedFile(path, line, f"{doc_id} has no title")
    url = cell("url")
    if not url.startswith(("https://", "http://")):
        raise MalformedFile(path, line, f"{doc_id}: url {url[:60]!r} is not a web address")
    who = contractors(cell("contractor_name_type"))
    if not who:
        raise MalformedFile(path, line, f"{doc_id} names no contractor")
    data = {
        "id": doc_id,
        "type": kind,
        "version": int(version),
        "title": title,
        "effective": _date(cell("effective_date"), "effective_date", path, line),
        "retirement": _date(cell("retirement_date"), "retirement_date", path, line, optional=True),
        "updated": _date(cell("updated_on"), "updated_on", path, line, optional=True),
        "note": " ".join(cell("note").split()) or None,
        "url": url,
        "contractors": who,
    }
    return RecordRow(KIND, doc_id, data, key2=who[0]["name"][:KEY2_LENGTH])


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells) of each non-blank CSV row: cells may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if any(c.strip() for c in cells):
            yield line, cells


def parse(path: Path) -> Dataset:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFile(path, None, f"not UTF-8 text: {exc}") from exc
    rows = _rows(text)
    first = next(rows, None)
    if first is None:
        raise MalformedFile(path, None, "the file is empty")
    at = _columns(first[1], path, first[0])
    records: list[RecordRow] = []
    seen: set[tuple[str, int]] = set()
    for line, cells in rows:
        if len(cells) != len(first[1]):
            raise MalformedFile(path, line, f"expected {len(first[1])} columns, found {len(cells)}")
        record = _record(cells, at, path, line)
        version = (record.key, record.data["version"])
        if version in seen:
            raise MalformedFile(path, line, f"{record.key} version {version[1]} appears twice")
        seen.add(version)
        records.append(record)
    if not records:
        raise MalformedFile(path, None, "no LCDs or articles")
    return Dataset(release=release_for(path, records), record_kinds=(KIND,), records=records)


def release_for(path: Path, records: list[RecordRow]) -> ReleaseInfo:
    """Named after the newest update the list holds: the day CMS last changed one of them."""
    updates = [r.data["updated"] for r in records if r.data["updated"]]
    newest = date.fromisoformat(max(updates)) if updates else None
    checksum = sha256_of([path])
    when = f", {newest:%B} {newest.year}" if newest else ""
    return ReleaseInfo(
        code_set=CODE_SET,
        name=f"Medicare Coverage Database: LCDs and articles{when}",
        version=newest.isoformat() if newest else checksum[:12],
        source=str(path),
        checksum=checksum,
        effective_date=newest,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    yield parse(ctx.files.get(CODE_SET) or ctx.data_file(DEFAULT_FILE))
