"""The HCPCS Level II importer: 320-byte fixed-width records built to the CMS record layout,
read from a zip; malformed records; loading into PostgreSQL and SQLite; the real January 2026
file."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest

from features.case2code.importing import hcpcs
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.runner import run_imports
from features.case2code.tables import Code, CodeGroup, Release
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

MEMBER = "HCPC2026_JAN_ANWEB_01122026.txt"


def record(code: str, ric: str, seq: int, long: str, short: str = "", **fields: str) -> str:
    """One 320-character record; fields by their 1-based start position in the layout."""
    chars = [" "] * 320

    def put(start: int, value: str) -> None:
        chars[start - 1 : start - 1 + len(value)] = value

    put(1 if len(code) == 5 else 4, code)
    put(6, f"{seq:05d}")
    put(11, ric)
    put(12, long[:80])
    if ric in "37":
        put(92, short[:28])
        for start, value in fields.items():
            put(int(start.lstrip("p")), value)
    return "".join(chars)


def first(code: str, long: str, short: str, **fields: str) -> str:
    return record(code, "3" if len(code) == 5 else "7", 100, long, short, **fields)


def more(code: str, seq: int, long: str) -> str:
    return record(code, "4" if len(code) == 5 else "8", seq, long)


def sample_lines() -> list[str]:
    return [
        # A modifier whose long description runs over two records.
        first(
            "AB",
            "Audiology service furnished personally by an audiologist without a",
            "Aud svs w/o order",
            p230="C",
            p269="20230101",
            p277="20230101",
            p293="N",
        ),
        more("AB", 200, "physician order, once every 12 months"),
        first("LT", "Left side", "Left side", p230="C", p269="19840101", p293="N"),
        # A drug: two pricing indicators, two types of service, a processing note, an MCM ref.
        first(
            "J1100",
            "Injection, dexamethasone sodium phosphate, 1 mg",
            "Dexamethasone sodium phos",
            p120="5113",
            p128="A",
            p147="2049",
            p230="D",
            p253="0088",
            p257="O1E",
            p261="1P",
            p266="  0",
            p269="19820101",
            p277="20010101",
            p293="N",
        ),
        # Terminated before the file's effective date: kept, not billable.
        first(
            "G0001",
            "Routine venipuncture for collection of specimen(s)",
            "Drawing blood",
            p120="00",
            p205="36415",
            p230="I",
            p269="19850101",
            p285="20251231",
            p293="D",
        ),
        # Terminated later than the effective date: still billable.
        first(
            "A0021",
            "Ambulance service, outside state per mile, transport (Medicaid only)",
            "Outside state ambulance serv",
            p120="00",
            p230="I",
            p266="005",
            p269="19850101",
            p285="20261231",
            p293="N",
        ),
        first(
            "A9999",
            "Miscellaneous DME supply or accessory",
            "DME supply or accessory, nos",
            p230="C",
            p293="N",
        ),
    ]


NOTES = (
    "                                        PROCESSING NOTES\r\n"
    " ______________________________________\r\n\r\n"
    "          0088--THIS CODE IS PAID UNDER THE DRUG PRICING FILE WHEN     *\r\n"
    "                BILLED WITH A SUPPLY.                                  *\r\n"
    "                                                                       *\r\n"
    "          0089--ANOTHER NOTE.                                          *\r\n"
)


def write_zip(path: Path, lines: list[str], trailer: str = "\r\n" + " " * 296 + "\r\n") -> Path:
    text = "\r\n".join(lines) + trailer
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, text.encode("cp1252"))
        archive.writestr("proc_notes_JAN2026.txt", NOTES)
        archive.writestr("HCPC2026_recordlayout.txt", "layout")
    return path


def test_records_built_to_the_layout_parse_into_codes_groups_and_a_release(tmp_path: Path) -> None:
    lines = sample_lines()
    lines[2] = lines[2] + " " * 227  # CMS pads one record past 320 with blanks: still valid
    dataset = hcpcs.parse(write_zip(tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip", lines))
    codes = {c.code: c for c in dataset.codes}
    assert list(codes) == ["AB", "LT", "J1100", "G0001", "A0021", "A9999"]

    ab = codes["AB"]
    assert ab.kind == "modifier" and not ab.billable and ab.group_key == "modifiers"
    assert ab.title == (
        "Audiology service furnished personally by an audiologist without a "
        "physician order, once every 12 months"
    )
    assert ab.short_title == "Aud svs w/o order"

    j = codes["J1100"]
    assert (j.kind, j.billable, j.display, j.group_key, j.parent) == (
        "code",
        True,
        "J1100",
        "J",
        None,
    )
    d = j.details
    assert d["pricing_indicators"] == ["51", "13"]
    assert d["multiple_pricing_indicator"] == "A"
    assert d["type_of_service_codes"] == ["1", "P"]
    assert (
        d["coverage_code"] == "D" and d["betos_code"] == "O1E" and d["mcm_references"] == ["2049"]
    )
    assert d["processing_note"] == "0088"
    assert d["processing_note_text"] == (
        "THIS CODE IS PAID UNDER THE DRUG PRICING FILE WHEN BILLED WITH A SUPPLY."
    )
    assert d["added_date"] == "1982-01-01" and d["action_effective_date"] == "2001-01-01"
    assert "anesthesia_base_units" not in d  # CMS's zero means "not an anesthesia service"
    assert d["_labels"]["coverage_code"] == "Special coverage instructions apply"
    assert d["_labels"]["pricing_indicators"] == [
        "Drugs",
        "Price established by carriers (e.g., not otherwise classified, individual "
        "determination, carrier discretion)",
    ]
    assert d["_labels"]["type_of_service_codes"][1] == (
        "Lump sum purchase of DME, prosthetics, orthotics"
    )
    assert d["_labels"]["betos_code"] == "Other drugs"
    assert d["_labels"]["action_code"] == "No maintenance for this code"

    gone = codes["G0001"]
    assert not gone.billable and gone.details["terminated"] == "2025-12-31"
    assert gone.details["cross_references"] == ["36415"]
    later = codes["A0021"]
    assert later.billable and "terminated" not in later.details
    assert later.details["termination_date"] == "2026-12-31"
    assert later.details["anesthesia_base_units"] == 5

    groups = {g.key: g for g in dataset.groups}
    assert groups["A"].title == "HCPCS codes beginning with A" and groups["A"].kind == "range"
    assert groups["A"].details == {"count": 2, "first": "A0021", "last": "A9999"}
    assert groups["modifiers"].details == {"count": 2}

    release = dataset.release
    assert (release.code_set, release.name, release.version) == (
        "hcpcs",
        "HCPCS January 2026",
        "2026-01",
    )
    assert str(release.effective_date) == "2026-01-01"
    assert release.source.endswith(f"!{MEMBER}") and len(release.checksum) == 64
    assert dataset.systems == ("hcpcs",)


def _ric(line: str, ric: str) -> str:
    return line[:10] + ric + line[11:]


BASE = [first("LT", "Left side", "Left side"), more("LT", 200, "of the body")]


@pytest.mark.parametrize(
    ("lines", "number", "reason"),
    [
        ([_ric(first("J1100", "x", "x"), "5"), *BASE], 1, "record identification code '5'"),
        ([more("J1100", 200, "orphan"), *BASE], 1, "without its first record"),
        ([*BASE, first("J1100", "Inj", "Inj", p269="20261340")], 3,
         "code added date '20261340' is not a YYYYMMDD date"),
        ([*BASE, first("J1100", "Inj", "Inj", p285="2026-1-1")], 3, "termination date"),
        ([*BASE, first("J1100", "x", "x", p6="00A00")], 3, "sequence number '00A00'"),
        ([*BASE, first("J1100", "x", "x") + "JUNK"], 3, "record is 324 characters long"),
        ([*BASE, first("11100", "x", "x")], 3, "is not a HCPCS Level II code"),
        ([*BASE, first("LT", "Left", "Left")], 3, "LT appears twice"),
        ([*BASE, "   LT00100"], 3, "too short"),
        ([*BASE, first("J1100", "x", "x", p266="0A0")], 3, "anesthesia base units"),
        ([first("J1100", "", "no long description"), *BASE], 1, "J1100 has no long description"),
    ],
)  # fmt: skip
def test_malformed_records_fail_with_their_line(
    tmp_path: Path, lines: list[str], number: int, reason: str
) -> None:
    path = write_zip(tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip", lines)
    with pytest.raises(MalformedFile, match=reason) as info:
        hcpcs.parse(path)
    assert info.value.line == number
    assert f"{path}!{MEMBER}:{number}: " in str(info.value)


def test_a_continuation_of_another_kind_and_out_of_order_sequences_fail(tmp_path: Path) -> None:
    lines = [first("J1100", "Injection", "Inj"), record("J1100", "8", 200, "x")]
    with pytest.raises(MalformedFile, match="record type 8 cannot continue J1100") as info:
        hcpcs.parse(write_zip(tmp_path / "january-2026-x.zip", lines))
    assert info.value.line == 2
    lines = [first("J1100", "Injection", "Inj"), more("J1100", 300, "a"), more("J1100", 200, "b")]
    with pytest.raises(MalformedFile, match="sequence number 200 does not follow 300"):
        hcpcs.parse(write_zip(tmp_path / "january-2026-y.zip", lines))


def test_a_zip_without_the_data_file_and_a_file_without_a_quarter_fail(tmp_path: Path) -> None:
    empty = tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(MalformedFile, match="expected one HCPC<year>_<MON>_ANWEB"):
        hcpcs.parse(empty)
    loose = tmp_path / "codes.txt"
    loose.write_text("\r\n".join(sample_lines()), encoding="cp1252")
    with pytest.raises(MalformedFile, match="cannot tell the HCPCS quarter"):
        hcpcs.parse(loose)
    named = tmp_path / "HCPC2026_APR_ANWEB.txt"
    named.write_text("\r\n".join(sample_lines()), encoding="cp1252")
    april = hcpcs.parse(named)
    assert april.release.name == "HCPCS April 2026" and len(april.codes) == 6
    # 1 April: the code terminated 31 December is still terminated, the 2026 one is not yet.
    assert {c.code for c in april.codes if not c.billable} == {"AB", "LT", "G0001"}


def test_the_real_january_2026_file() -> None:
    dataset = hcpcs.parse(DATA_DIR / hcpcs.DEFAULT_ZIP)
    kinds = Counter((c.kind, c.billable) for c in dataset.codes)
    # SOURCES.md: 8,623 procedure codes (7,323 active) and 383 modifiers.
    assert kinds[("code", True)] + kinds[("code", False)] == 8623
    assert kinds[("code", True)] == 7323
    assert kinds[("modifier", False)] == 383 and kinds[("modifier", True)] == 0
    codes = {c.code: c for c in dataset.codes}
    j = codes["J1100"]
    assert j.title == "Injection, dexamethasone sodium phosphate, 1 mg" and j.billable
    assert j.details["pricing_indicators"] == ["51"] and j.details["_labels"][
        "pricing_indicators"
    ] == ["Drugs"]
    assert codes["G0008"].title == "Administration of influenza virus vaccine"
    assert codes["G0008"].details["_labels"]["betos_code"] == "Immunizations/Vaccinations"
    assert codes["LT"].title.startswith("Left side") and codes["RT"].title.startswith("Right side")
    assert codes["LT"].kind == "modifier"
    assert codes["AB"].title.endswith("once every 12 months, per beneficiary")
    # Every coded value the file uses is defined by the layout, so each one has its meaning.
    for code in dataset.codes:
        for key in ("coverage_code", "action_code", "betos_code", "multiple_pricing_indicator"):
            if key in code.details:
                assert key in code.details["_labels"], (code.code, key)
    terminated = [c for c in dataset.codes if "terminated" in c.details]
    assert len(terminated) == 8623 - 7323 + 20  # 20 modifiers are terminated too
    assert {g.key for g in dataset.groups} >= {"A", "G", "J", "modifiers"}
    assert dataset.release.name == "HCPCS January 2026"


def test_datasets_reads_the_data_folder_or_the_file_given(tmp_path: Path) -> None:
    given = write_zip(tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip", sample_lines())
    only = list(hcpcs.datasets(ImportContext(tmp_path / "nowhere", {"hcpcs": given})))
    assert len(only) == 1 and len(only[0].codes) == 6
    from features.case2code.importing.base import MissingSource

    with pytest.raises(MissingSource):
        list(hcpcs.datasets(ImportContext(tmp_path / "nowhere")))


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_reload_and_a_malformed_second_file(
    app, tmp_path: Path, engine_kind: str
) -> None:
    good = write_zip(tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip", sample_lines())
    async with own_database(engine_kind, tmp_path) as engine:
        first_load = await load(hcpcs.parse(good), engine)
        assert not first_load.skipped and first_load.codes == 6
        rows = {
            r["code"]: r
            for r in await Code.select().where(Code.system == "hcpcs").output(load_json=True)
        }
        assert set(rows) == {"AB", "LT", "J1100", "G0001", "A0021", "A9999"}
        assert rows["J1100"]["details"]["_labels"]["pricing_indicators"][0] == "Drugs"
        assert rows["G0001"]["billable"] is False and rows["J1100"]["billable"] is True
        assert (
            rows["AB"]["kind"] == "modifier"
            and rows["J1100"]["short_title"] == "Dexamethasone sodium phos"
        )
        assert await CodeGroup.count().where(CodeGroup.system == "hcpcs") == 4
        release = await Release.select().where(Release.code_set == "hcpcs").first()
        assert release["name"] == "HCPCS January 2026" and release["status"] == "current"
        assert str(release["effective_date"]) == "2026-01-01" and not release["sample"]

        again = await load(hcpcs.parse(good), engine)
        assert again.skipped and again.release_id == first_load.release_id
        assert await Release.count().where(Release.code_set == "hcpcs") == 1

        lines = sample_lines()
        lines.append(first("J9999", "Chemo drug", "Chemo", p277="20261301"))
        (tmp_path / "bad").mkdir()
        bad = write_zip(tmp_path / "bad" / "january-2026-alpha-numeric-hcpcs-file.zip", lines)
        report = await run_imports(ImportContext(tmp_path, {"hcpcs": bad}), engine, ["hcpcs"])
        assert not report.ok and ":8: action effective date '20261301'" in report.failed["hcpcs"]
        current = await Release.select().where(Release.status == "current").first()
        assert current["id"] == first_load.release_id
        assert await Code.count().where(Code.system == "hcpcs") == 6
