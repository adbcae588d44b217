"""CMS place-of-service codes from a CSV (`code,description`: pos/place_of_service.csv).

Records: kind "pos", key = the two-digit code ("11"), data {"name": "Office"}; a third column
(a longer description, as in the CMS POS table) becomes data["description"] when present.
The file carries no date, so the release is named after the code set and versioned by checksum.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from features.case2code.importing.base import (
    Dataset,
    MalformedFile,
    RecordRow,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

CODE_SET = "pos"
DEFAULT_FILE = "pos/place_of_service.csv"
_CODE = re.compile(r"^[0-9]{2}$")


def parse(path: Path) -> Dataset:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedFile(path, None, f"not UTF-8 text: {exc}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[RecordRow] = []
    seen: set[str] = set()
    start = 1
    header = False
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if not header:
            titles = [c.strip().lower() for c in cells]
            if titles[:1] != ["code"] or len(titles) < 2:
                raise MalformedFile(path, line, "expected the title row 'code,description'")
            header = True
            continue
        if len(cells) < 2:
            raise MalformedFile(path, line, f"expected 2 columns, found {len(cells)}")
        code = cells[0].strip()
        # Spreadsheets drop the leading zero of "01"-"09".
        if code.isdigit() and len(code) == 1:
            code = code.zfill(2)
        if not _CODE.match(code):
            raise MalformedFile(path, line, f"{code!r} is not a two-digit place-of-service code")
        name = " ".join(cells[1].split())
        if not name:
            raise MalformedFile(path, line, f"{code} has no name")
        if code in seen:
            raise MalformedFile(path, line, f"{code} appears twice")
        seen.add(code)
        data = {"name": name}
        if len(cells) > 2 and cells[2].strip():
            data["description"] = " ".join(cells[2].split())
        records.append(RecordRow("pos", code, data))
    if not records:
        raise MalformedFile(path, None, "no place-of-service codes")
    checksum = sha256_of([path])
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name="CMS Place of Service codes",
            version=checksum[:12],
            source=str(path),
            checksum=checksum,
        ),
        record_kinds=("pos",),
        records=records,
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    yield parse(ctx.files.get(CODE_SET) or ctx.data_file(DEFAULT_FILE))
