"""The LCD importer: the Medicare Coverage Database list of LCDs and articles (CSV with a title
row, a contractor cell over several lines), malformed lines, the real August 2025 list, loading
on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.case2code.importing import lcd
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.registry import IMPORTERS, importer
from features.case2code.tables import Record, Release
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

TITLES = (
    "contractor_name_type,document_display_id,document_id,document_type,document_version,"
    "effective_date,note,retirement_date,title,updated_on,updated_on_sort,url"
)
ROWS = [
    '"Noridian Healthcare Solutions, LLC\n(MAC - Part A, MAC - Part B)",L36692,36692,LCD,27,'
    "08/14/2025,,N/A,Vitamin D Assay Testing,08/06/2025,20250806133001,"
    "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=36692&ver=27",
    '"CGS Administrators, LLC\n(DME MAC)\n\nNoridian Healthcare Solutions, LLC\n(DME MAC)",'
    "A52458,52458,Article,12,01/01/2024,,N/A,Glucose Monitors - Policy Article,12/20/2023,"
    "20231220080000,"
    "https://www.cms.gov/medicare-coverage-database/view/article.aspx?articleid=52458&ver=12",
    '"First Coast Service Options, Inc.\n(MAC - Part A, MAC - Part B)",L34011,34011,LCD,18,'
    "10/01/2019,Retired,06/26/2025,Ionized Calcium,06/26/2025,20250626010001,"
    "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=34011&ver=18",
]


def write(tmp_path: Path, rows: list[str], titles: str = TITLES) -> Path:
    path = tmp_path / "documents_latest.csv"
    path.write_text("\n".join([titles, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_small_list_parses_into_lcd_records(tmp_path: Path) -> None:
    dataset = lcd.parse(write(tmp_path, ROWS))
    assert dataset.record_kinds == ("lcd",)
    by_id = {r.key: r for r in dataset.records}
    assert list(by_id) == ["L36692", "A52458", "L34011"]
    vitamin = by_id["L36692"]
    assert vitamin.key2 == "Noridian Healthcare Solutions, LLC"
    assert vitamin.data == {
        "id": "L36692",
        "type": "LCD",
        "version": 27,
        "title": "Vitamin D Assay Testing",
        "effective": "2025-08-14",
        "retirement": None,
        "updated": "2025-08-06",
        "note": None,
        "url": "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=36692&ver=27",
        "contractors": [
            {
                "name": "Noridian Healthcare Solutions, LLC",
                "types": ["MAC - Part A", "MAC - Part B"],
            }
        ],
    }
    shared = by_id["A52458"]
    assert shared.data["type"] == "Article" and shared.key2 == "CGS Administrators, LLC"
    assert [c["name"] for c in shared.data["contractors"]] == [
        "CGS Administrators, LLC",
        "Noridian Healthcare Solutions, LLC",
    ]
    retired = by_id["L34011"]
    assert retired.data["retirement"] == "2025-06-26" and retired.data["note"] == "Retired"
    release = dataset.release
    # Named after the newest update in the list.
    assert release.name == "Medicare Coverage Database: LCDs and articles, August 2025"
    assert release.code_set == "lcd" and release.version == "2025-08-06" and not release.sample


def test_a_bad_date_names_its_line(tmp_path: Path) -> None:
    bad = ROWS[2].replace("10/01/2019", "2019-10-01")
    path = write(tmp_path, [ROWS[0], bad])
    # The first row spans lines 2-3 (its contractor cell has a line break): the bad one is line 4.
    with pytest.raises(
        MalformedFile, match=r"documents_latest\.csv:4: effective_date '2019-10-01'"
    ):
        lcd.parse(path)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (ROWS[0].replace(",LCD,27,", ",NCD,27,"), "document type 'NCD' is neither LCD nor Article"),
        (
            ROWS[0].replace("L36692,36692,LCD", "A36692,36692,LCD"),
            "'A36692' is not the id of an LCD",
        ),
        (ROWS[0].replace(",27,08/14", ",v27,08/14"), "L36692: version 'v27' is not a number"),
        (ROWS[0].replace(",Vitamin D Assay Testing,", ",,"), "L36692 has no title"),
        (ROWS[0].replace("https://www.cms.gov", "www.cms.gov"), "is not a web address"),
        (ROWS[0].rsplit(",", 1)[0], "expected 12 columns, found 11"),
    ],
)
def test_malformed_lines(tmp_path: Path, row: str, reason: str) -> None:
    with pytest.raises(MalformedFile, match=r"documents_latest\.csv:2: ") as caught:
        lcd.parse(write(tmp_path, [row]))
    assert reason in str(caught.value)


def test_a_wrong_title_row_or_a_repeated_version(tmp_path: Path) -> None:
    with pytest.raises(MalformedFile, match="the title row lacks document_type"):
        lcd.parse(write(tmp_path, ROWS, TITLES.replace("document_type", "kind")))
    with pytest.raises(MalformedFile, match="L36692 version 27 appears twice"):
        lcd.parse(write(tmp_path, [ROWS[0], ROWS[0]]))
    empty = tmp_path / "empty.csv"
    empty.write_text(TITLES + "\n")
    with pytest.raises(MalformedFile, match="no LCDs or articles"):
        lcd.parse(empty)


def test_the_shared_august_2025_list() -> None:
    (dataset,) = lcd.datasets(ImportContext(DATA_DIR))
    assert len(dataset.records) == 3133
    assert dataset.release.name == "Medicare Coverage Database: LCDs and articles, August 2025"
    kinds = {r.data["type"] for r in dataset.records}
    assert kinds == {"LCD", "Article"}
    # A document listed twice: the version in effect and a future one.
    versions = sorted(r.data["version"] for r in dataset.records if r.key == "L39297")
    assert versions == [3, 6]
    assert all(len(r.key2 or "") <= lcd.KEY2_LENGTH for r in dataset.records)


def test_registered() -> None:
    assert importer("lcd").datasets is lcd.datasets
    assert "lcd" in [i.code_set for i in IMPORTERS]


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_and_reload(app, tmp_path: Path, engine_kind: str) -> None:
    path = write(tmp_path, ROWS)
    async with own_database(engine_kind, tmp_path) as engine:
        first = await load(lcd.parse(path), engine)
        assert not first.skipped and first.records == 3
        row = (
            await Record.select()
            .where((Record.kind == "lcd") & (Record.key == "A52458"))
            .output(load_json=True)
            .first()
        )
        assert row["key2"] == "CGS Administrators, LLC"
        assert row["data"]["title"] == "Glucose Monitors - Policy Article"
        release = await Release.select().where(Release.id == first.release_id).first()
        assert release["status"] == "current" and release["sample"] is False
        assert (await load(lcd.parse(path), engine)).skipped
