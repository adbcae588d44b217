"""CPT codes and descriptors from the AMA CPT data files, which the operator imports under licence.

The AMA "standard" data files open with a copyright notice, then hold one code per line:
  LONGULT.txt  long descriptors, upper/lower case: code, a TAB, the descriptor
  MEDU.txt     medium descriptors: code, a space, the descriptor (optional)
  SHORTU.txt   short descriptors: code, a space, the descriptor (optional)
Lines before the first code line are the notice and are skipped; after it, every non-blank line
must be a code and a descriptor (MalformedFile with the line otherwise). MEDU and SHORTU are read
when they sit next to LONGULT (any letter case). `--file` may name LONGULT.txt or its folder.

Without a licensed file, the project's own SAMPLE (`features/case2code/sample_data/cpt/
LONGULT.txt`: ~30 common codes described in the project's plain words, not AMA text) is loaded
as a release with sample=True.

Code rows (system "cpt"): kind "code", billable True, parent None, code = display = "99213",
title = long descriptor, short_title = the SHORTU descriptor (when given), group_key = the CPT
range the code falls in (SECTIONS below: "99202-99499" Evaluation and Management, surgery by
body system, ...), details {"medium_descriptor": ...} when MEDU is given.
Group rows: kind "section" for the six CPT sections and the code categories by suffix letter,
kind "range" for the surgery subsections (parent_key "10004-69990"); every group, used or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from features.case2code.importing.base import (
    CodeRow,
    Dataset,
    GroupRow,
    MalformedFile,
    ReleaseInfo,
    sha256_of,
)
from features.case2code.importing.context import ImportContext

SYSTEM = "cpt"
CODE_SET = "cpt"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "cpt" / "LONGULT.txt"
SAMPLE_NAME = "CPT sample descriptors (written by this project, not AMA text)"

_LINE = re.compile(r"^([0-9]{4}[0-9AFMTU])(?:\t| +)(.*)$")
_YEAR = re.compile(r"\bCPT\W{0,3}(20\d{2})\b")


@dataclass(frozen=True)
class Section:
    first: str
    last: str
    key: str
    title: str
    kind: str = "section"
    parent: str | None = None


SURGERY = "10004-69990"
PATHOLOGY = "80047-89398"
MEDICINE = "90281-99607"
# The CPT code ranges (public knowledge: the section ranges of the CPT code set). Evaluation and
# Management comes first because its numbers sit inside Medicine's.
SECTIONS: tuple[Section, ...] = (
    Section("99202", "99499", "99202-99499", "Evaluation and Management"),
    Section("00100", "01999", "00100-01999", "Anesthesia"),
    Section("10004", "69990", SURGERY, "Surgery"),
    Section("70010", "79999", "70010-79999", "Radiology"),
    Section("80047", "89398", PATHOLOGY, "Pathology and Laboratory"),
    Section("90281", "99607", MEDICINE, "Medicine"),
)
SURGERY_RANGES: tuple[Section, ...] = tuple(
    Section(first, last, f"{first}-{last}", title, "range", SURGERY)
    for first, last, title in (
        ("10004", "19499", "Integumentary System"),
        ("20100", "29999", "Musculoskeletal System"),
        ("30000", "32999", "Respiratory System"),
        ("33016", "37799", "Cardiovascular System"),
        ("38100", "38999", "Hemic and Lymphatic Systems"),
        ("39000", "39599", "Mediastinum and Diaphragm"),
        ("40490", "49999", "Digestive System"),
        ("50010", "53899", "Urinary System"),
        ("54000", "55899", "Male Genital System"),
        ("55920", "55980", "Reproductive System and Intersex Procedures"),
        ("56405", "58999", "Female Genital System"),
        ("59000", "59899", "Maternity Care and Delivery"),
        ("60000", "60699", "Endocrine System"),
        ("61000", "64999", "Nervous System"),
        ("65091", "68899", "Eye and Ocular Adnexa"),
        ("69000", "69979", "Auditory System"),
        ("69990", "69990", "Operating Microscope"),
    )
)
# Codes of four digits and a letter, grouped by the letter.
BY_SUFFIX: dict[str, Section] = {
    "F": Section("0001F", "9999F", "0001F-9999F", "Category II codes (performance measurement)"),
    "T": Section("0001T", "0999T", "0001T-0999T", "Category III codes (emerging technology)"),
    "U": Section(
        "0001U", "9999U", "0001U-9999U", "Proprietary Laboratory Analyses (PLA)", "range", PATHOLOGY
    ),
    "M": Section(
        "0001M",
        "9999M",
        "0001M-9999M",
        "Multianalyte Assays with Algorithmic Analyses (administrative codes)",
        "range",
        PATHOLOGY,
    ),
    "A": Section(
        "0001A", "9999A", "0001A-9999A", "Immunization administration (A codes)", "range", MEDICINE
    ),
}


def group_of(code: str) -> str | None:
    """The most specific CPT range a code belongs to, or None outside every range."""
    suffix = BY_SUFFIX.get(code[-1])
    if suffix:
        return suffix.key
    for section in (*SURGERY_RANGES, *SECTIONS):
        if section.first <= code <= section.last:
            return section.key
    return None


def groups() -> list[GroupRow]:
    every = (*SECTIONS, *SURGERY_RANGES, *BY_SUFFIX.values())
    ordered = sorted(every, key=lambda s: (s.first[-1].isalpha(), s.first[-1], s.first))
    return [
        GroupRow(
            SYSTEM,
            s.kind,
            s.key,
            s.title,
            parent_key=s.parent,
            sort=index,
            details={"first": s.first, "last": s.last},
        )
        for index, s in enumerate(ordered, start=1)
    ]


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # The AMA files come from Windows; cp1252 covers their curly quotes and dashes.
        return data.decode("cp1252", errors="replace")


def parse_descriptors(path: Path) -> tuple[dict[str, str], list[str]]:
    """{code: descriptor} from one data file, and the notice lines above the first code."""
    descriptors: dict[str, str] = {}
    notice: list[str] = []
    for number, raw in enumerate(_text(path).splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            if descriptors:
                raise MalformedFile(path, number, "expected a CPT code, a tab and a descriptor")
            notice.append(line)
            continue
        code, text = match.group(1), " ".join(match.group(2).split())
        if not text:
            raise MalformedFile(path, number, f"{code} has no descriptor")
        if code in descriptors:
            raise MalformedFile(path, number, f"{code} appears twice")
        descriptors[code] = text
    if not descriptors:
        raise MalformedFile(path, None, "no CPT codes found")
    return descriptors, notice


def _beside(long_file: Path, name: str) -> Path | None:
    return next((p for p in long_file.parent.iterdir() if p.name.lower() == name.lower()), None)


def find_long_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.name.lower() == "longult.txt")
        if not found:
            raise MalformedFile(path, None, "no LONGULT.txt in this folder")
        return found[0]
    return path


def parse(path: Path, sample: bool = False) -> Dataset:
    long_file = find_long_file(path)
    long, notice = parse_descriptors(long_file)
    used = [long_file]
    medium: dict[str, str] = {}
    short: dict[str, str] = {}
    for name, target in (("MEDU.txt", medium), ("SHORTU.txt", short)):
        other = _beside(long_file, name)
        if other is not None:
            target.update(parse_descriptors(other)[0])
            used.append(other)
    codes = [
        CodeRow(
            SYSTEM,
            code,
            code,
            title,
            kind="code",
            billable=True,
            group_key=group_of(code),
            short_title=short.get(code),
            sort=sort,
            details={"medium_descriptor": medium[code]} if code in medium else {},
        )
        for sort, (code, title) in enumerate(sorted(long.items()), start=1)
    ]
    checksum = sha256_of(used)
    if sample:
        name, version, effective = SAMPLE_NAME, f"sample-{checksum[:8]}", None
    else:
        year = next((m.group(1) for m in map(_YEAR.search, notice) if m), None)
        name = f"CPT {year} (licensed AMA data file)" if year else "CPT (licensed AMA data file)"
        version = year or checksum[:12]
        effective = date(int(year), 1, 1) if year else None
    return Dataset(
        release=ReleaseInfo(
            code_set=CODE_SET,
            name=name,
            version=version,
            source=", ".join(str(p) for p in used),
            checksum=checksum,
            effective_date=effective,
            sample=sample,
        ),
        systems=(SYSTEM,),
        codes=codes,
        groups=groups(),
    )


def datasets(ctx: ImportContext) -> Iterator[Dataset]:
    """The licensed file given with --file, else the project's own sample."""
    given = ctx.files.get(CODE_SET)
    yield parse(given) if given is not None else parse(SAMPLE, sample=True)
