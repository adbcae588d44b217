"""Place-of-service codes and CPT: the CMS POS CSV, the AMA data-file layout (LONGULT.txt with
MEDU/SHORTU beside it), the project's own CPT sample, malformed lines, loading on both engines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from features.case2code.importing import cpt, pos
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.runner import run_imports
from features.case2code.tables import Code, CodeGroup, Record, Release
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

NOTICE = [
    "CPT 2026 data file. Descriptors are copyright American Medical Association (test stand-in).",
    "Applicable FARS/DFARS restrictions apply.",
    "",
]
LONG = {
    "99213": "Test long descriptor for an established patient visit",
    "20610": "Test long descriptor for a large joint injection",
    "0001F": "Test long descriptor for a performance measure",
    "0042T": "Test long descriptor for an emerging technology",
    "0001U": "Test long descriptor for a proprietary lab analysis",
    "90471": "Test long descriptor for giving one vaccine",
    "33016": "Test long descriptor for a pericardial procedure",
    "00100": "Test long descriptor for anesthesia of the salivary glands",
}


def write_cpt(folder: Path, long: dict[str, str] | None = None, extra: Sequence[str] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"{code}\t{text}" for code, text in (long or LONG).items()]
    path = folder / "LONGULT.txt"
    path.write_text("\r\n".join([*NOTICE, *rows, *extra]) + "\r\n", encoding="cp1252")
    return path


def test_pos_from_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "place_of_service.csv"
    path.write_text("\ufeffcode,description\n01,Pharmacy\n11,Office\n2,Telehealth\n", "utf-8")
    dataset = pos.parse(path)
    assert [(r.kind, r.key, r.data) for r in dataset.records] == [
        ("pos", "01", {"name": "Pharmacy"}),
        ("pos", "11", {"name": "Office"}),
        ("pos", "02", {"name": "Telehealth"}),  # a spreadsheet's "2" is "02"
    ]
    assert dataset.record_kinds == ("pos",) and dataset.release.code_set == "pos"
    assert dataset.release.name == "CMS Place of Service codes"
    assert dataset.release.version == dataset.release.checksum[:12]
    three = tmp_path / "pos3.csv"
    three.write_text("code,name,description\n11,Office,Where the clinician sees patients\n")
    assert pos.parse(three).records[0].data == {
        "name": "Office",
        "description": "Where the clinician sees patients",
    }


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("code,description\n11,Office\n1A,Bad\n", 3, "'1A' is not a two-digit place-of-service"),
        ("code,description\n11,Office\n12,\n", 3, "12 has no name"),
        ("code,description\n11,Office\n11,Office again\n", 3, "11 appears twice"),
        ("code,description\n11,Office\n12\n", 3, "expected 2 columns, found 1"),
        ("pos,name\n11,Office\n", 1, "expected the title row"),
    ],
)
def test_malformed_pos_lines(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "pos.csv"
    path.write_text(text)
    with pytest.raises(MalformedFile, match=reason) as info:
        pos.parse(path)
    assert info.value.line == line


def test_the_real_pos_file() -> None:
    dataset = pos.parse(DATA_DIR / pos.DEFAULT_FILE)
    names = {r.key: r.data["name"] for r in dataset.records}
    assert len(names) == 50
    assert names["11"] == "Office" and names["23"] == "Emergency Room Hospital"
    assert names["02"] == "Telehealth (provided other than in patient's home)"


def test_cpt_long_medium_and_short_files(tmp_path: Path) -> None:
    folder = tmp_path / "cpt"
    write_cpt(folder)
    (folder / "medu.txt").write_text("99213 MEDIUM TEST DESCRIPTOR\n20610 MEDIUM JOINT\n")
    (folder / "SHORTU.TXT").write_text("Notice line\n99213 SHORT TEST\n")
    dataset = cpt.parse(folder)  # a folder: its LONGULT.txt and whatever sits beside it
    codes = {c.code: c for c in dataset.codes}
    assert set(codes) == set(LONG)
    office = codes["99213"]
    assert (office.system, office.kind, office.billable, office.parent) == (
        "cpt",
        "code",
        True,
        None,
    )
    assert office.title == LONG["99213"] and office.display == "99213"
    assert office.short_title == "SHORT TEST"
    assert office.details == {"medium_descriptor": "MEDIUM TEST DESCRIPTOR"}
    assert codes["20610"].short_title is None
    assert {c: codes[c].group_key for c in codes} == {
        "99213": "99202-99499",
        "20610": "20100-29999",
        "0001F": "0001F-9999F",
        "0042T": "0001T-0999T",
        "0001U": "0001U-9999U",
        "90471": "90281-99607",
        "33016": "33016-37799",
        "00100": "00100-01999",
    }
    groups = {g.key: g for g in dataset.groups}
    assert groups["99202-99499"].title == "Evaluation and Management"
    assert groups["99202-99499"].kind == "section"
    assert groups["20100-29999"].parent_key == "10004-69990"
    assert groups["20100-29999"].title == "Musculoskeletal System"
    assert all(len(key) <= 24 for key in groups)  # catalog_group.key is a varchar(24)
    release = dataset.release
    assert release.name == "CPT 2026 (licensed AMA data file)" and release.version == "2026"
    assert str(release.effective_date) == "2026-01-01" and not release.sample
    assert "medu.txt" in release.source and "SHORTU.TXT" in release.source


def test_cpt_group_of() -> None:
    assert cpt.group_of("99202") == "99202-99499"
    assert cpt.group_of("99500") == "90281-99607"  # home services: Medicine
    assert cpt.group_of("99091") == "90281-99607"
    assert cpt.group_of("10004") == "10004-19499"
    assert cpt.group_of("69990") == "69990-69990"
    assert cpt.group_of("71046") == "70010-79999"
    assert cpt.group_of("80053") == "80047-89398"
    assert cpt.group_of("0001A") == "0001A-9999A"
    assert cpt.group_of("0002M") == "0001M-9999M"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            ["99214 Test descriptor without a tab is fine", "9921\tshort code"],
            "expected a CPT code",
        ),
        (["99215\t   "], "99215 has no descriptor"),
        (["99213\tagain"], "99213 appears twice"),
        (["Trailing words"], "expected a CPT code, a tab and a descriptor"),
    ],
)
def test_malformed_cpt_lines(tmp_path: Path, extra: list[str], reason: str) -> None:
    path = write_cpt(tmp_path / "cpt", extra=extra)
    with pytest.raises(MalformedFile, match=reason) as info:
        cpt.parse(path)
    assert info.value.line == len(NOTICE) + len(LONG) + len(extra)
    empty = tmp_path / "empty" / "LONGULT.txt"
    empty.parent.mkdir()
    empty.write_text("Only a notice.\n")
    with pytest.raises(MalformedFile, match="no CPT codes found"):
        cpt.parse(empty)


def test_the_projects_own_cpt_sample() -> None:
    (dataset,) = cpt.datasets(ImportContext(Path("/nonexistent")))
    release = dataset.release
    assert release.sample and release.name == cpt.SAMPLE_NAME
    assert "not AMA text" in release.name and release.version.startswith("sample-")
    codes = {c.code: c for c in dataset.codes}
    assert len(codes) == 31
    for code in ("99202", "99215", "20610", "36415", "93000", "71046", "80053", "85025"):
        assert code in codes
    assert all(f"992{n}" in codes for n in ("81", "82", "83", "84", "85"))
    assert codes["99213"].group_key == "99202-99499" and codes["71046"].group_key == "70010-79999"
    readme = (cpt.SAMPLE.parent / "README.txt").read_text()
    assert "NOT the AMA's CPT descriptor text" in readme


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_pos_and_cpt_reload_and_a_malformed_licensed_file(
    app, tmp_path: Path, engine_kind: str
) -> None:
    async with own_database(engine_kind, tmp_path) as engine:
        places = await load(pos.parse(DATA_DIR / pos.DEFAULT_FILE), engine)
        assert places.records == 50
        office = (
            await Record.select()
            .where((Record.kind == "pos") & (Record.key == "11"))
            .output(load_json=True)
            .first()
        )
        assert office["data"] == {"name": "Office"}

        sample = await load(cpt.parse(cpt.SAMPLE, sample=True), engine)
        assert not sample.skipped and sample.codes == 31
        row = await Code.select().where((Code.system == "cpt") & (Code.code == "99213")).first()
        assert row["billable"] and row["group_key"] == "99202-99499" and row["parent"] is None
        assert await CodeGroup.count().where(CodeGroup.system == "cpt") == len(cpt.groups())
        release = await Release.select().where(Release.id == sample.release_id).first()
        assert release["sample"] is True and release["name"] == cpt.SAMPLE_NAME
        assert (await load(cpt.parse(cpt.SAMPLE, sample=True), engine)).skipped
        assert (await load(pos.parse(DATA_DIR / pos.DEFAULT_FILE), engine)).skipped

        licensed = write_cpt(tmp_path / "licensed", extra=["99214 TEST", "not a code line"])
        report = await run_imports(ImportContext(DATA_DIR, {"cpt": licensed}), engine, ["cpt"])
        assert (
            f"{licensed}:{len(NOTICE) + len(LONG) + 2}: expected a CPT code" in report.failed["cpt"]
        )
        current = await Release.select().where(Release.code_set == "cpt").output(load_json=True)
        assert [(r["id"], r["status"]) for r in current] == [(sample.release_id, "current")]
        assert await Code.count().where(Code.system == "cpt") == 31
