"""The GEMs importer: ICD-9-CM v32 titles (Latin-1, the ICD-9 dot), both diagnosis GEMs and the
ICD-9 procedure -> ICD-10-PCS GEM, flags, no-map rows, malformed lines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from features.case2code.importing import gems
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.tables import Code, Record, Release
from tests.case2code.catalog_db import ENGINES, own_database

HEADER_9_10 = (
    '"icd9cm","icd10cm","flags","approximate","no_map","combination","scenario","choice_list"\n'
)
HEADER_10_9 = (
    '"icd10cm","icd9cm","flags","approximate","no_map","combination","scenario","choice_list"\n'
)
GEM_9_10 = HEADER_9_10 + (
    '"25000","E119","10000",1,0,0,0,0\n'
    '"0730","A70","10111",1,0,1,1,1\n'
    '"0730","J17","10112",1,0,1,1,2\n'
    '"36570","NoDx","11000",1,1,0,0,0\n'
    '"E8000","V8101XA","10000",1,0,0,0,0\n'
)
GEM_10_9 = HEADER_10_9 + '"E119","25000","10000",1,0,0,0,0\n"A000","0010","00000",0,0,0,0,0\n'
TITLES = {
    "LONG_DX": "0010  Cholera due to vibrio cholerae\n0413  Friedländer's bacillus infection\n"
    "25000 Diabetes mellitus without mention of complication\nE8000 Railway accident\n"
    "V0181 Contact with or exposure to anthrax\n042   Human immunodeficiency virus [HIV] disease\n",
    "SHORT_DX": "0010  Cholera d/t vib cholerae\n25000 DMII wo cmp nt st uncntr\n",
    "LONG_SG": "0001 Therapeutic ultrasound of vessels of head and neck\n"
    "042 Destruction of cranial and peripheral nerves\n",
    "SHORT_SG": "0001 Ther ult head & neck ves\n",
}


def make_files(tmp_path: Path) -> tuple[Path, Path, dict[str, Path], Path]:
    gem_9_10 = tmp_path / "icd9toicd10cmgem.csv"
    gem_9_10.write_text(GEM_9_10, encoding="utf-8")
    gem_10_9 = tmp_path / "icd10cmtoicd9gem.csv"
    gem_10_9.write_text(GEM_10_9, encoding="utf-8")
    titles = {}
    for key, text in TITLES.items():
        titles[key] = tmp_path / f"CMS32_DESC_{key}.txt"
        titles[key].write_bytes(text.encode("latin-1"))  # as CMS wrote them
    db_path = tmp_path / "icd10pcs.db"
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TABLE gems_i9_to_pcs (icd9 TEXT, icd9_desc TEXT, pcs_code TEXT, pcs_desc TEXT, "
        "flags TEXT, approximate INTEGER, no_map INTEGER, combination INTEGER, "
        "scenario INTEGER, choice_list INTEGER)"
    )
    db.executemany(
        "INSERT INTO gems_i9_to_pcs VALUES (?, 'herapeutic', ?, NULL, ?, ?, ?, ?, ?, ?)",
        [
            ("0001", "6A750Z4", "10000", 1, 0, 0, 0, 0),
            ("0001", "6A751Z4", "10000", 1, 0, 0, 0, 0),
            ("0016", "NoPCS", "11000", 1, 1, 0, 0, 0),
        ],
    )
    db.commit()
    db.close()
    return gem_9_10, gem_10_9, titles, db_path


def test_titles_mappings_and_the_release(tmp_path: Path) -> None:
    dataset = gems.parse(*make_files(tmp_path))
    assert dataset.release.code_set == "gems"
    assert dataset.release.name == "2018 General Equivalence Mappings (ICD-9-CM v32 titles)"
    assert dataset.systems == ("icd-9-cm", "icd-9-pcs")
    assert set(dataset.record_kinds) == {"gem-9-10", "gem-10-9", "gem-9-pcs"}

    codes = {(c.system, c.code): c for c in dataset.codes}
    assert codes[("icd-9-cm", "25000")].display == "250.00"
    assert codes[("icd-9-cm", "25000")].short_title == "DMII wo cmp nt st uncntr"
    assert codes[("icd-9-cm", "E8000")].display == "E800.0"
    assert codes[("icd-9-cm", "V0181")].display == "V01.81"
    assert codes[("icd-9-cm", "042")].display == "042"
    assert codes[("icd-9-cm", "0413")].title == "Friedländer's bacillus infection"
    assert codes[("icd-9-cm", "0413")].short_title is None
    assert codes[("icd-9-pcs", "0001")].display == "00.01"
    assert codes[("icd-9-pcs", "042")].display == "04.2"
    assert all(c.billable and c.kind == "code" for c in dataset.codes)

    records = [(r.kind, r.key, r.key2, r.data) for r in dataset.records]
    assert (
        "gem-9-10",
        "25000",
        "E119",
        {
            "flags": "10000",
            "approximate": True,
            "no_map": False,
            "combination": False,
            "scenario": 0,
            "choice_list": 0,
        },
    ) in records
    combination = [r for r in records if r[1] == "0730"]
    assert [(r[2], r[3]["combination"], r[3]["choice_list"]) for r in combination] == [
        ("A70", True, 1),
        ("J17", True, 2),
    ]
    no_map = next(r for r in records if r[1] == "36570")
    assert no_map[2] is None and no_map[3]["no_map"] is True
    assert ("gem-10-9", "E119", "25000") in [r[:3] for r in records]
    pcs = [r[:3] for r in records if r[0] == "gem-9-pcs"]
    assert pcs == [
        ("gem-9-pcs", "0001", "6A750Z4"),
        ("gem-9-pcs", "0001", "6A751Z4"),
        ("gem-9-pcs", "0016", None),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('"25000","E119","10000",0,0,0,0,0', "disagree with flags"),
        ('"25000","E119","1x000",1,0,0,0,0', "five GEM flag digits"),
        ('"2500A","E119","10000",1,0,0,0,0', "not a icd9cm code"),
        ('"25000","E11.9","10000",1,0,0,0,0', "not a icd10cm code"),
        ('"25000","NoDx","10000",1,0,0,0,0', "without the no-map flag"),
        ('"25000","E119","10000",1,0,0,0', "expected 8 columns"),
    ],
)
def test_malformed_gem_rows_fail_with_their_line(tmp_path: Path, row: str, reason: str) -> None:
    gem_9_10, gem_10_9, titles, db_path = make_files(tmp_path)
    gem_9_10.write_text(HEADER_9_10 + '"0010","A000","00000",0,0,0,0,0\n' + row + "\n")
    with pytest.raises(MalformedFile) as caught:
        gems.parse(gem_9_10, gem_10_9, titles, db_path)
    assert caught.value.line == 3 and reason in caught.value.reason


def test_malformed_headers_titles_and_database(tmp_path: Path) -> None:
    gem_9_10, gem_10_9, titles, db_path = make_files(tmp_path)
    gem_10_9.write_text(HEADER_9_10 + '"0010","A000","00000",0,0,0,0,0\n')
    with pytest.raises(MalformedFile) as caught:
        gems.parse(gem_9_10, gem_10_9, titles, db_path)
    assert caught.value.line == 1 and "expected the columns" in caught.value.reason

    gem_9_10, gem_10_9, titles, db_path = make_files(tmp_path)
    titles["LONG_SG"].write_text("0001 Therapeutic ultrasound\n\nXY12 Not a procedure\n")
    with pytest.raises(MalformedFile) as caught:
        gems.parse(gem_9_10, gem_10_9, titles, db_path)
    assert caught.value.line == 3 and "XY12 is not an ICD-9-CM code" in caught.value.reason
    titles["LONG_SG"].write_text("0001 Therapeutic ultrasound\n0001 Twice\n")
    with pytest.raises(MalformedFile, match=":2: 0001 is listed twice"):
        gems.parse(gem_9_10, gem_10_9, titles, db_path)

    gem_9_10, gem_10_9, titles, db_path = make_files(tmp_path)
    db = sqlite3.connect(db_path)
    db.execute(
        "INSERT INTO gems_i9_to_pcs VALUES ('0002', '', '6A7', NULL, '10000', 1, 0, 0, 0, 0)"
    )
    db.commit()
    db.close()
    with pytest.raises(MalformedFile) as caught:
        gems.parse(gem_9_10, gem_10_9, titles, db_path)
    assert caught.value.line == 4 and "6A7 is not an ICD-10-PCS code" in caught.value.reason


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_and_reload(app, tmp_path: Path, engine_kind: str) -> None:
    async with own_database(engine_kind, tmp_path) as engine:
        result = await load(gems.parse(*make_files(tmp_path)), engine)
        assert not result.skipped and result.codes == 8 and result.records == 10
        row = (
            await Code.select().where((Code.system == "icd-9-cm") & (Code.code == "25000")).first()
        )
        assert row["display"] == "250.00" and row["release"] == result.release_id
        forward = (
            await Record.select()
            .where((Record.kind == "gem-9-10") & (Record.key2 == "E119"))
            .output(load_json=True)
        )
        assert [(r["key"], r["data"]["approximate"]) for r in forward] == [("25000", True)]
        no_map = (
            await Record.select()
            .where((Record.kind == "gem-9-10") & (Record.key == "36570"))
            .first()
        )
        assert no_map["key2"] is None

        again = await load(gems.parse(*make_files(tmp_path)), engine)
        assert again.skipped and again.release_id == result.release_id
        assert await Release.count().where(Release.code_set == "gems") == 1
        assert await Record.count().where(Record.kind.is_in(list(gems.RECORD_KINDS))) == 10


def test_the_installed_data() -> None:
    (dataset,) = gems.datasets(ImportContext(Path("/nonexistent")))
    counts: dict[str, int] = {}
    for record in dataset.records:
        counts[record.kind] = counts.get(record.kind, 0) + 1
    assert counts == {"gem-9-10": 23912, "gem-10-9": 78838, "gem-9-pcs": 73593}
    assert sum(c.system == "icd-9-cm" for c in dataset.codes) == 14567
    assert sum(c.system == "icd-9-pcs" for c in dataset.codes) == 3882

    by_key = {(r.kind, r.key, r.key2) for r in dataset.records}
    assert ("gem-9-10", "25000", "E119") in by_key  # 250.00 -> E11.9
    assert ("gem-10-9", "E119", "25000") in by_key
    assert ("gem-9-pcs", "0001", "6A750Z4") in by_key
    codes = {(c.system, c.code): c for c in dataset.codes}
    assert codes[("icd-9-cm", "25000")].display == "250.00"
    assert codes[("icd-9-cm", "0413")].title.startswith("Friedländer")
    # The CMS title, not the database's copy that lost its first letter.
    assert codes[("icd-9-pcs", "0001")].title.startswith("Therapeutic ultrasound")
