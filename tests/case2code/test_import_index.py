"""The ICD-10-CM index tables importer: Drug and Neoplasm tables (bulk JSON, or the CSVs with
their unquoted commas), the External Cause Index, and the code -> term records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from features.case2code.importing import icd10cm_index
from features.case2code.importing.base import MalformedFile, MissingSource, load
from features.case2code.importing.context import ImportContext
from features.case2code.tables import Record
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

DRUG_KEYS = list(icd10cm_index.DRUG_COLUMNS)
NEOPLASM_KEYS = list(icd10cm_index.NEOPLASM_COLUMNS)


def bulk(index: str, docs: list[dict]) -> str:
    lines = []
    for number, doc in enumerate(docs):
        lines.append(json.dumps({"index": {"_index": index, "_id": number}}))
        lines.append(json.dumps({**doc, "parent": [], "id": number}))
    return "\n".join(lines) + "\n"


def drug(path: list[str], *codes: str) -> dict:
    doc: dict = {"path": path, "description": path[-1]}
    if codes:
        doc["code"] = dict(zip(DRUG_KEYS, codes, strict=True))
    return doc


def neoplasm(path: list[str], *codes: str) -> dict:
    doc: dict = {"path": ["Neoplasm, neoplastic", *path], "description": path[-1]}
    if codes:
        doc["code"] = dict(zip(NEOPLASM_KEYS, codes, strict=True))
    return doc


DRUGS = [
    drug(["Acetaminophen"], "T39.1X1", "T39.1X2", "T39.1X3", "T39.1X4", "T39.1X5", "T39.1X6"),
    drug(["Acetic"]),
    drug(["Acetic", "acid"], "T54.2X1", "T54.2X2", "T54.2X3", "T54.2X4", "NA", "NA"),
]
NEOPLASMS = [
    {
        "path": ["Neoplasm, neoplastic"],
        "description": "Neoplasm, neoplastic",
        "code": dict(
            zip(NEOPLASM_KEYS, ["C80.1", "C79.9", "D09.9", "D36.9", "D48.9", "D49.9"], strict=True)
        ),
    },
    neoplasm(["lung"], "C34.9-", "C78.0-", "D02.2-", "D14.3-", "D38.1", "D49.1"),
    neoplasm(["lung", "carina"], "C34.0-", "C78.0-", "D02.2-", "D14.3-", "D38.1", "D49.1"),
    neoplasm(["artery"]),
]
EXTERNAL = (
    "Accident,Level,Parent,Code,,,,,\n"
    "Accident(to),0,,X58,,,,,\n"
    "bare foot water skiier,1,Accident(to),V94.4,,,,,\n"
    '"boat, boating",1,Accident(to),,,,,,\n'
    'striking swimmer,2,"boat, boating",,,,,,\n'
    "powered,3,striking swimmer,V94.11,,,,,\n"
)
DRUG_CSV = (
    "Substance,Level,Parent,Poisoning Accidental (unintentional),Poisoning Intentional self-harm,"
    "Poisoning Assault,Poisoning Undetermined,Adverse effect,Underdosing\n"
    "Acetaminophen,0,,T39.1X1,T39.1X2,T39.1X3,T39.1X4,T39.1X5,T39.1X6\n"
    '"Adrenal(extract, cortex or medulla)",0,,T38.0X1,T38.0X2,T38.0X3,T38.0X4,T38.0X5,T38.0X6\n'
    "ENT agent,1,Adrenal(extract, cortex or medulla),T49.6X1,T49.6X2,T49.6X3,T49.6X4,T49.6X5,"
    "T49.6X6\n"
)
NEOPLASM_CSV = (
    "Neoplasm,Level,Parent,Malignant Primary,Malignant Secondary,Ca in situ,Benign,"
    "Uncertain Behavior,Unspecified Behavior\n"
    '"Neoplasm, neoplastic",0,,C80.1,C79.9,D09.9,D36.9,D48.9,D49.9\n'
    "lung,1,Neoplasm, neoplastic,C34.9-,C78.0-,D02.2-,D14.3-,D38.1,D49.1\n"
)


def make_folder(folder: Path, json_files: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if json_files:
        (folder / "icd10drug.json").write_text(bulk("drug", DRUGS))
        (folder / "icd10neoplasm.json").write_text(bulk("neoplasm", NEOPLASMS))
    (folder / "icd10cm_drug_2022.csv").write_text(DRUG_CSV)
    (folder / "icd10cm_neoplasm_2022.csv").write_text(NEOPLASM_CSV)
    (folder / "icd10cm_eindex_2022.csv").write_text(EXTERNAL)
    return folder


def test_the_three_tables_and_the_code_records(tmp_path: Path) -> None:
    dataset = icd10cm_index.parse(make_folder(tmp_path / "icd10cm-index"))
    assert dataset.release.code_set == "icd-10-cm-index"
    assert dataset.release.name == (
        "ICD-10-CM Index Tables FY2022 (Drugs, Neoplasms, External Causes)"
    )
    assert "icd10drug.json" in dataset.release.source
    records = [(r.kind, r.key, r.key2, r.data) for r in dataset.records]
    rows = {(k, key): data for k, key, _, data in records if k != "index-code"}
    assert rows[("index-drug", "00000")] == {
        "term": "Acetaminophen",
        "path": [],
        "level": 0,
        "codes": {
            "Poisoning, Accidental (unintentional)": "T39.1X1",
            "Poisoning, Intentional self-harm": "T39.1X2",
            "Poisoning, Assault": "T39.1X3",
            "Poisoning, Undetermined": "T39.1X4",
            "Adverse effect": "T39.1X5",
            "Underdosing": "T39.1X6",
        },
    }
    assert rows[("index-drug", "00001")]["codes"] == {}  # a heading
    acid = rows[("index-drug", "00002")]
    assert acid["path"] == ["Acetic"] and acid["level"] == 1
    assert acid["codes"]["Adverse effect"] is None  # NA: the printed table's dash
    carina = rows[("index-neoplasm", "00002")]
    assert carina["path"] == ["Neoplasm, neoplastic", "lung"] and carina["level"] == 2
    assert carina["codes"]["Malignant Primary"] == "C34.0-"
    powered = rows[("index-external", "00004")]
    assert powered == {
        "term": "powered",
        "path": ["Accident(to)", "boat, boating", "striking swimmer"],
        "level": 3,
        "codes": {"Code": "V94.11"},
    }
    assert all(key2 is None for _, _, key2, _ in records)

    by_code: dict[str, list[dict]] = {}
    for kind, key, _, data in records:
        if kind == "index-code":
            by_code.setdefault(key, []).append(data)
    assert by_code["T391X5"] == [
        {
            "table": "drugs",
            "term": "Acetaminophen",
            "path": [],
            "column": "Adverse effect",
            "code": "T39.1X5",
            "row": "00000",
        }
    ]
    assert [d["term"] for d in by_code["C780"]] == ["lung", "carina"]  # "C78.0-", dash stripped
    assert by_code["V9411"][0]["table"] == "external causes"
    assert "T542X5" not in by_code  # NA makes no record
    assert len(records) == len(DRUGS) + len(NEOPLASMS) + 5 + 6 + 4 + 6 * 3 + 3


def test_without_json_the_csvs_with_unquoted_parents(tmp_path: Path) -> None:
    dataset = icd10cm_index.parse(make_folder(tmp_path / "idx", json_files=False))
    assert "icd10cm_drug_2022.csv" in dataset.release.source
    rows = {(r.kind, r.data["term"]): r.data for r in dataset.records if r.kind != "index-code"}
    ent = rows[("index-drug", "ENT agent")]
    assert ent["path"] == ["Adrenal(extract, cortex or medulla)"]
    assert ent["codes"]["Underdosing"] == "T49.6X6"
    lung = rows[("index-neoplasm", "lung")]
    assert lung["path"] == ["Neoplasm, neoplastic"] and lung["codes"]["Benign"] == "D14.3-"


@pytest.mark.parametrize(
    ("name", "text", "line", "reason"),
    [
        ("icd10drug.json", bulk("drug", DRUGS).replace('"T39.1X3"', '"T39.1X3'), 2, "not JSON"),
        (
            "icd10drug.json",
            bulk("drug", DRUGS).replace('"T54.2X2"', '"poison"'),
            6,
            "'poison' is not an ICD-10-CM code",
        ),
        (
            "icd10neoplasm.json",
            bulk("neoplasm", NEOPLASMS).replace(
                '"description": "carina"', '"description": "bronchus"'
            ),
            6,
            "does not end with",
        ),
        (
            "icd10cm_eindex_2022.csv",
            EXTERNAL.replace("powered,3,", "powered,5,"),
            6,
            "level 5 follows level 2",
        ),
        (
            "icd10cm_eindex_2022.csv",
            EXTERNAL.replace('striking swimmer,2,"boat, boating"', "striking swimmer,2,boat"),
            5,
            "parent 'boat', expected 'boat, boating'",
        ),
        (
            "icd10cm_eindex_2022.csv",
            EXTERNAL.replace("V94.4,,,,,", "V94.4,,,,,V94.5"),
            3,
            "more than 4 columns",
        ),
        (
            "icd10cm_eindex_2022.csv",
            EXTERNAL.replace("Accident(to),0,", "Accident(to),zero,"),
            2,
            "not a number",
        ),
    ],
)
def test_malformed_lines_fail_with_their_line(
    tmp_path: Path, name: str, text: str, line: int, reason: str
) -> None:
    folder = make_folder(tmp_path / "idx")
    (folder / name).write_text(text)
    with pytest.raises(MalformedFile) as caught:
        icd10cm_index.parse(folder)
    assert caught.value.path == str(folder / name)
    assert caught.value.line == line and reason in caught.value.reason


def test_a_missing_folder_or_table_is_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(MissingSource):
        list(icd10cm_index.datasets(ImportContext(tmp_path)))
    folder = make_folder(tmp_path / "icd10cm-index")
    (folder / "icd10cm_eindex_2022.csv").unlink()
    with pytest.raises(MissingSource, match=r"icd10cm_eindex_2022\.csv"):
        list(icd10cm_index.datasets(ImportContext(tmp_path)))


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_and_reload(app, tmp_path: Path, engine_kind: str) -> None:
    folder = make_folder(tmp_path / "icd10cm-index")
    async with own_database(engine_kind, tmp_path) as engine:
        result = await load(icd10cm_index.parse(folder), engine)
        assert not result.skipped and result.records == 43
        terms = (
            await Record.select()
            .where((Record.kind == "index-code") & (Record.key == "C349"))
            .output(load_json=True)
        )
        assert [(t["data"]["term"], t["data"]["column"]) for t in terms] == [
            ("lung", "Malignant Primary")
        ]
        assert terms[0]["release"] == result.release_id
        again = await load(icd10cm_index.parse(folder), engine)
        assert again.skipped
        assert await Record.count().where(Record.kind == "index-drug") == 3

        # A new edition replaces the rows of every kind.
        shutil.copy(folder / "icd10cm_eindex_2022.csv", tmp_path / "keep.csv")
        (folder / "icd10cm_eindex_2022.csv").write_text(
            EXTERNAL.splitlines()[0] + "\nAbandonment,0,,X58,,,,,\n"
        )
        newer = await load(icd10cm_index.parse(folder), engine)
        assert not newer.skipped
        assert await Record.count().where(Record.kind == "index-external") == 1
        assert (
            await Record.count().where((Record.kind == "index-code") & (Record.key == "V9411")) == 0
        )


def test_the_shared_data() -> None:
    (dataset,) = icd10cm_index.datasets(ImportContext(DATA_DIR))
    counts: dict[str, int] = {}
    for record in dataset.records:
        counts[record.kind] = counts.get(record.kind, 0) + 1
    assert counts["index-drug"] == 7423 and counts["index-neoplasm"] == 1939
    assert counts["index-external"] == 7800
    acetaminophen = next(
        r.data
        for r in dataset.records
        if r.kind == "index-drug" and r.data["term"] == "Acetaminophen"
    )
    assert list(acetaminophen["codes"].values()) == [
        "T39.1X1",
        "T39.1X2",
        "T39.1X3",
        "T39.1X4",
        "T39.1X5",
        "T39.1X6",
    ]
    lung = [
        r.data
        for r in dataset.records
        if r.kind == "index-neoplasm"
        and (r.data["path"] + [r.data["term"]])[:2] == ["Neoplasm, neoplastic", "lung"]
    ]
    assert lung[0]["term"] == "lung" and lung[0]["codes"]["Malignant Primary"] == "C34.9-"
    assert len(lung) == 12  # lung and its subterms (azygos lobe, carina, ...)
    # Every lung site spreads to C78.0-; mesothelioma and overlapping lesion leave it blank.
    assert {d["codes"].get("Malignant Secondary") for d in lung} == {"C78.0-", None}
    pointing = [r.data for r in dataset.records if r.kind == "index-code" and r.key == "C349"]
    assert any(d["term"] == "lung" and d["table"] == "neoplasms" for d in pointing)
