"""The NCCI importer: PTP and MUE files in the CMS quarterly layouts (tab-delimited PTP text with
its wrapped title lines, MUE CSV under a multi-line AMA notice), in a folder or a zip; malformed
lines; the shared hand-written sample as a labelled sample release; loading on both engines."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from features.case2code.importing import ncci
from features.case2code.importing.base import MalformedFile, MissingSource, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.runner import run_imports
from features.case2code.tables import Record, Release
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

PTP_TITLES = [
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
PTP_ROWS = [
    "0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction",
    "11042\t97597\t*\t19960101\t*\t1\tStandards of medical / surgical practice",
    "99213\t36415\t\t20240101\t*\t0\tMisuse of column two code with column one code",
    "20610\t76942\t\t20150101\t*\t9",  # older files carry no rationale column
]
MUE = (
    '"CPT codes, descriptions and other data only are copyright 2025 American Medical '
    "Association.\nAll Rights Reserved.\nApplicable FARS/DFARS Restrictions Apply to Government "
    'Use.",,,\r\n'
    '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    '"MUE Rationale"\r\n'
    '99213,1,"2 Date of Service Edit: Policy","Code Descriptor / CPT Instruction"\r\n'
    '36415,2,"3 Date of Service Edit: Clinical","Clinical: Data"\r\n'
    'J1100,100,"1 Line Edit","Nature of Service/Procedure"\r\n'
)
MUE_LINES = 6  # the notice spans lines 1-3, the titles 4-5, the first code is line 6


def write_ptp(
    folder: Path, name: str = "ccipra-v320r0-f1.txt", rows: list[str] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\r\n".join([*PTP_TITLES, *(PTP_ROWS if rows is None else rows)]) + "\r\n")
    return path


def write_mue(folder: Path, text: str = MUE, setting: str = "PractitionerServices") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"MCR_MUE_{setting}_Eff_01-01-2026.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_official_files_in_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ncci"
    write_ptp(folder)
    write_ptp(folder, "ccioph-v320r0-f1.txt", PTP_ROWS[2:3])
    write_mue(folder)
    # Neither kind: ignored, even when it mentions the columns.
    (folder / "README.txt").write_text("Column 1 and Column 2 are HCPCS/CPT codes.\n")
    dataset = ncci.parse_official(folder)
    release = dataset.release
    assert release.name == "Medicare NCCI 2026 Q1 (PTP v32.0, MUE)"
    assert release.version == "2026Q1" and str(release.effective_date) == "2026-01-01"
    assert not release.sample and release.code_set == "ncci" and len(release.checksum) == 64
    assert dataset.record_kinds == ("ncci", "mue")
    edits = [(r.key, r.key2, r.data["setting"]) for r in dataset.records if r.kind == "ncci"]
    assert sorted(edits) == [
        ("0001A", "0591T", "practitioner"),
        ("11042", "97597", "practitioner"),
        ("20610", "76942", "practitioner"),
        ("99213", "36415", "hospital"),
        ("99213", "36415", "practitioner"),
    ]
    by_pair = {
        (r.key, r.key2, r.data["setting"]): r.data for r in dataset.records if r.kind == "ncci"
    }
    assert by_pair[("0001A", "0591T", "practitioner")] == {
        "modifier_indicator": 1,
        "effective": "2022-01-01",
        "deletion": "2023-12-31",
        "rationale": "CPT Manual or CMS manual coding instruction",
        "setting": "practitioner",
        "prior_1996": False,
    }
    assert by_pair[("11042", "97597", "practitioner")]["prior_1996"] is True
    assert by_pair[("11042", "97597", "practitioner")]["deletion"] is None
    assert by_pair[("99213", "36415", "practitioner")]["modifier_indicator"] == 0
    assert by_pair[("20610", "76942", "practitioner")]["rationale"] is None
    mue = {r.key: r for r in dataset.records if r.kind == "mue"}
    assert mue["99213"].key2 == "practitioner"
    assert mue["99213"].data == {
        "value": 1,
        "adjudication_indicator": 2,
        "adjudication": "Date of Service Edit: Policy",
        "rationale": "Code Descriptor / CPT Instruction",
        "setting": "practitioner",
    }
    assert mue["J1100"].data["value"] == 100 and mue["J1100"].data["adjudication_indicator"] == 1


def test_official_zips_a_hospital_mue_table_and_a_single_file(tmp_path: Path) -> None:
    archive_path = tmp_path / "medicare-ncci-2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("ccipra-v321r0-f1.TXT", "\r\n".join([*PTP_TITLES, *PTP_ROWS]))
        archive.writestr("ccipra-v321r0-f1.xlsx", b"PK not read")
    dataset = ncci.parse_official(archive_path)
    assert dataset.release.name == "Medicare NCCI 2026 Q2 (PTP v32.1)"
    assert dataset.record_kinds == ("ncci",) and len(dataset.records) == 4
    assert dataset.records[0].data["setting"] == "practitioner"

    hospital = MUE.replace("Practitioner Services", "Outpatient Hospital Services")
    path = write_mue(tmp_path / "mue", hospital, "OutpatientHospitalServices")
    only_mue = ncci.parse_official(path)
    assert (
        only_mue.record_kinds == ("mue",) and only_mue.release.name == "Medicare NCCI 2026 Q1 (MUE)"
    )
    assert {(r.key2, r.data["setting"]) for r in only_mue.records} == {("hospital", "hospital")}
    # Columns are found by their titles, in any order.
    swapped = (
        '"MUE Rationale","HCPCS/CPT Code","MUE Adjudication Indicator",'
        '"DME Supplier Services MUE Values"\r\n"Nature of Service",E0100,"1 Line Edit",2\r\n'
    )
    (row,) = ncci.parse_mue(ncci.SourceFile("x.csv", "x.csv", swapped.encode()))
    assert (row.key, row.key2, row.data["value"]) == ("E0100", "dme", 2)
    assert row.data["rationale"] == "Nature of Service" and row.data["adjudication"] == "Line Edit"
    (tmp_path / "empty").mkdir()
    with pytest.raises(MalformedFile, match="hold no edits"):
        ncci.parse_official(write_ptp(tmp_path / "titles-only", rows=[]))
    with pytest.raises(MalformedFile, match="no NCCI PTP"):
        ncci.parse_official(tmp_path / "empty")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("99213\t36415\t\t20241301\t*\t0\tMisuse", "effective date '20241301' is not a YYYYMMDD"),
        ("99213\t36415\t\t20240101\t2024-12-31\t0\tMisuse", "deletion date '2024-12-31'"),
        ("99213\t36415\t\t20240101\t*\t2\tMisuse", "modifier indicator '2' is not 0, 1 or 9"),
        ("99213\t36415\t\t20240101\t*\t\tMisuse", "modifier indicator '' is not 0, 1 or 9"),
        ("99213\t36415\t20240101\t*\t1\tx", "prior-to-1996 flag '20240101'"),
        ("99213\t36415\t\t20240101\t*", "expected 7 columns, found 5"),
        ("9921\t36415\t\t20240101\t*\t1\tMisuse", "column 1 code '9921' is not a HCPCS/CPT code"),
        ("99213\t\t\t20240101\t*\t1\tMisuse", "column 2 code '' is not a HCPCS/CPT code"),
    ],
)
def test_malformed_ptp_lines_fail_with_their_line(tmp_path: Path, row: str, reason: str) -> None:
    path = write_ptp(tmp_path / "ncci", rows=[*PTP_ROWS, "", row])
    with pytest.raises(MalformedFile, match=reason) as info:
        ncci.parse_official(path)
    assert info.value.line == len(PTP_TITLES) + len(PTP_ROWS) + 2
    assert f"{path}:{info.value.line}: " in str(info.value)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            '99214,x,"2 Date of Service Edit: Policy",Clinical',
            "MUE value 'x' is not a whole number",
        ),
        ('99214,-1,"2 Date of Service Edit: Policy",Clinical', "MUE value '-1'"),
        ('99214,1,"4 Date of Service Edit",Clinical', "adjudication indicator '4 Date of Service"),
        ("99214,1", "expected 4 columns, found 2"),
        ('992,1,"1 Line Edit",Anatomic', "code '992' is not a HCPCS/CPT code"),
        ('99213,1,"1 Line Edit",Anatomic', "99213 appears twice"),
    ],
)
def test_malformed_mue_lines_fail_with_their_line(tmp_path: Path, row: str, reason: str) -> None:
    path = write_mue(tmp_path / "ncci", MUE + row + "\r\n")
    with pytest.raises(MalformedFile, match=reason) as info:
        ncci.parse_official(path)
    assert info.value.line == MUE_LINES + 3


def test_a_ptp_file_whose_setting_cannot_be_told_fails(tmp_path: Path) -> None:
    path = write_ptp(tmp_path / "ncci", "edits.txt")
    with pytest.raises(MalformedFile, match="cannot tell the setting"):
        ncci.parse_official(path)


def test_the_shared_hand_written_sample_is_a_labelled_sample_release() -> None:
    dataset = ncci.parse_sample(DATA_DIR / ncci.SAMPLE_DIR)
    release = dataset.release
    assert release.sample and "sample" in release.name.lower() and "not CMS" in release.name
    assert release.name == "NCCI sample (not CMS data), labelled 2024 Q1"
    assert release.effective_date is None and release.version == "sample-2024Q1"
    edits = [r for r in dataset.records if r.kind == "ncci"]
    mues = [r for r in dataset.records if r.kind == "mue"]
    # 370 hand-written pairs, one of them (43239/43235) listed twice.
    assert len(edits) == 369 and len({(r.key, r.key2) for r in edits}) == 369
    assert len(mues) == 2 * 159 and {r.key2 for r in mues} == {"practitioner", "hospital"}
    pair = next(r for r in edits if (r.key, r.key2) == ("99211", "99212"))
    assert pair.data["modifier_indicator"] == 0 and pair.data["effective"] == "2024-01-01"
    assert pair.data["setting"] == "practitioner" and pair.data["category"] == "em-conflict"
    assert "column1Description" not in pair.data and "description" not in str(pair.data)
    office = next(r for r in mues if r.key == "99202" and r.key2 == "practitioner")
    assert office.data["value"] == 1 and office.data["adjudication_indicator"] == 2


def test_datasets_defaults_to_the_sample_and_takes_official_files(tmp_path: Path) -> None:
    (only,) = ncci.datasets(ImportContext(DATA_DIR))
    assert only.release.sample
    folder = tmp_path / "cms"
    write_ptp(folder)
    (official,) = ncci.datasets(ImportContext(tmp_path / "nowhere", {"ncci": folder}))
    assert not official.release.sample and len(official.records) == 4
    with pytest.raises(MissingSource):
        list(ncci.datasets(ImportContext(tmp_path / "nowhere")))
    # Files saved under ncci/ in the data folder win over the sample.
    write_mue(tmp_path / "data" / "ncci")
    (saved,) = ncci.datasets(ImportContext(tmp_path / "data"))
    assert not saved.release.sample and saved.record_kinds == ("mue",)


def test_a_broken_sample_fails(tmp_path: Path) -> None:
    folder = tmp_path / "ncci-sample"
    folder.mkdir()
    for name in ncci.SAMPLE_FILES:
        (folder / name).write_bytes((DATA_DIR / ncci.SAMPLE_DIR / name).read_bytes())
    (folder / "ptp-edits.json").write_text(
        '[{"column1": "99213", "column2": "36415", "effectiveDate": "2024-01-01",'
        ' "modifierIndicator": 3}]'
    )
    with pytest.raises(MalformedFile, match="entry 1: modifier indicator 3"):
        ncci.parse_sample(folder)
    (folder / "mue.json").write_text("[{")
    (folder / "ptp-edits.json").write_text("[]")
    with pytest.raises(MalformedFile, match="not valid JSON") as info:
        ncci.parse_sample(folder)
    assert info.value.line == 1


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_the_sample_reload_and_a_malformed_official_file(
    app, tmp_path: Path, engine_kind: str
) -> None:
    async with own_database(engine_kind, tmp_path) as engine:
        result = await load(ncci.parse_sample(DATA_DIR / ncci.SAMPLE_DIR), engine)
        assert not result.skipped and result.records == 369 + 318
        release = await Release.select().where(Release.id == result.release_id).first()
        assert release["sample"] is True and "sample" in release["name"]
        edit = (
            await Record.select()
            .where((Record.kind == "ncci") & (Record.key == "99211") & (Record.key2 == "99212"))
            .output(load_json=True)
            .first()
        )
        assert edit["data"]["modifier_indicator"] == 0 and edit["release"] == result.release_id
        assert await Record.count().where((Record.kind == "mue") & (Record.key == "99213")) == 2
        assert (await load(ncci.parse_sample(DATA_DIR / ncci.SAMPLE_DIR), engine)).skipped

        bad = write_ptp(tmp_path / "cms", rows=[*PTP_ROWS, "99213\t36415\t\t20240101\t*\t7\tx"])
        report = await run_imports(ImportContext(DATA_DIR, {"ncci": bad}), engine, ["ncci"])
        assert f"{bad}:11: modifier indicator '7'" in report.failed["ncci"]
        current = await Release.select().where(Release.status == "current").first()
        assert current["id"] == result.release_id
        assert await Record.count().where(Record.kind == "ncci") == 369
