"""The ICD-10-CM importer: tabular XML in the CMS format, 7th characters, notes, releases,
history between two releases, and a malformed file that leaves the previous release alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.case2code.importing import icd10cm
from features.case2code.importing.base import MalformedFile, load
from features.case2code.tables import Code, CodeChange, Release

TABULAR = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>{version}</version>
  <chapter>
    <name>4</name>
    <desc>Endocrine, nutritional and metabolic diseases (E00-E89)</desc>
    <excludes1><note>transitory endocrine disorders (P70-P74)</note></excludes1>
    <section id="E08-E13">
      <desc>Diabetes mellitus (E08-E13)</desc>
      <diag>
        <name>E11</name>
        <desc>Type 2 diabetes mellitus</desc>
        <useAdditionalCode>
          <note>code to identify control using:</note>
          <note>insulin (Z79.4)</note>
        </useAdditionalCode>
        <diag>
          <name>E11.9</name>
          <desc>{e119}</desc>
          <excludes1><note>type 2 diabetes mellitus, in remission (E11.A)</note></excludes1>
        </diag>
        {extra}
      </diag>
    </section>
  </chapter>
  <chapter>
    <name>19</name>
    <desc>Injury, poisoning (S00-T88)</desc>
    <section id="S00-S09">
      <desc>Injuries to the head (S00-S09)</desc>
      <diag>
        <name>S02</name>
        <desc>Fracture of skull and facial bones</desc>
        <sevenChrNote><note>The appropriate 7th character is to be added to each code from category S02</note></sevenChrNote>
        <sevenChrDef>
          <extension char="A">initial encounter for closed fracture</extension>
          <extension char="B">initial encounter for open fracture</extension>
        </sevenChrDef>
        <diag><name>S02.0</name><desc>Fracture of vault of skull</desc></diag>
      </diag>
      <diag>
        <name>S06</name>
        <desc>Intracranial injury</desc>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="D">subsequent encounter</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <notes><note>7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due to brain injury prior to regaining consciousness, or 8 - death due to other cause prior to regaining consciousness.</note></notes>
        <diag>
          <name>S06.0</name>
          <desc>Concussion</desc>
          <diag><name>S06.0X1</name><desc>Concussion with loss of consciousness of 30 minutes or less</desc></diag>
          <diag><name>S06.0X7</name><desc>Concussion with loss of consciousness with death due to brain injury</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def write(
    tmp_path: Path,
    name: str = "icd10cm-tabular-April-1-2026.xml",
    *,
    version: str = "2026",
    e119: str = "Type 2 diabetes mellitus without complications",
    extra: str = "",
) -> Path:
    path = tmp_path / name
    path.write_text(TABULAR.format(version=version, e119=e119, extra=extra), encoding="utf-8")
    return path


def by_code(dataset) -> dict:  # type: ignore[no-untyped-def]
    return {c.code: c for c in dataset.codes}


def test_seventh_characters_are_expanded_with_placeholders(tmp_path: Path) -> None:
    codes = by_code(icd10cm.parse_tabular(write(tmp_path)))
    assert codes["S020XXA"].display == "S02.0XXA"
    assert (
        codes["S020XXA"].title
        == "Fracture of vault of skull, initial encounter for closed fracture"
    )
    assert codes["S020XXA"].billable and codes["S020XXA"].parent == "S020"
    assert codes["S020XXB"].billable
    base = codes["S020"]
    assert not base.billable and base.details["needs_seventh"] == "S02"


def test_prose_exceptions_to_seventh_characters_are_respected(tmp_path: Path) -> None:
    codes = by_code(icd10cm.parse_tabular(write(tmp_path)))
    assert {"S060X1A", "S060X1D", "S060X1S"} <= codes.keys()
    assert "S060X7A" in codes
    assert "S060X7D" not in codes and "S060X7S" not in codes


def test_headers_billable_codes_notes_and_groups(tmp_path: Path) -> None:
    dataset = icd10cm.parse_tabular(write(tmp_path))
    codes = by_code(dataset)
    assert not codes["E11"].billable and codes["E11"].kind == "category"
    assert codes["E119"].billable and codes["E119"].parent == "E11"
    assert codes["E119"].group_key == "E08-E13"
    assert codes["E119"].details["notes"]["excludes1"] == [
        "type 2 diabetes mellitus, in remission (E11.A)"
    ]
    assert codes["E11"].details["notes"]["useAdditionalCode"][1] == "insulin (Z79.4)"
    groups = {(g.kind, g.key): g for g in dataset.groups}
    assert groups[("chapter", "4")].details["notes"]["excludes1"]
    assert groups[("block", "E08-E13")].parent_key == "4"


def test_release_is_named_from_the_file(tmp_path: Path) -> None:
    release = icd10cm.parse_tabular(write(tmp_path)).release
    assert release.name == "ICD-10-CM FY2026, April 1 2026 update"
    assert str(release.effective_date) == "2026-04-01"
    plain = icd10cm.parse_tabular(
        write(tmp_path, "icd10cm_tabular_2027.xml", version="2027")
    ).release
    assert plain.name == "ICD-10-CM FY2027" and str(plain.effective_date) == "2026-10-01"
    assert len(release.checksum) == 64


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("<ICD10CM.tabular><version>2026</version><chapter>", "not well-formed"),
        ("<other/>", "expected an ICD10CM.tabular"),
        ("<ICD10CM.tabular><chapter/></ICD10CM.tabular>", "no <version>"),
        (
            "<ICD10CM.tabular><version>2026</version><chapter><name>1</name><section id='A00-A09'>"
            "<diag><name>not a code</name><desc>x</desc></diag></section></chapter></ICD10CM.tabular>",
            "is not an ICD-10-CM code",
        ),
        (
            "<ICD10CM.tabular><version>2026</version><chapter><name>1</name><section id='A00-A09'>"
            "<diag><name>A00</name></diag></section></chapter></ICD10CM.tabular>",
            "has no description",
        ),
    ],
)
def test_malformed_files_say_where_and_why(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content)
    with pytest.raises(MalformedFile, match=reason) as info:
        icd10cm.parse_tabular(path)
    assert str(path) in str(info.value)


def test_the_real_fy2026_file_yields_exactly_the_cms_code_list() -> None:
    from features.case2code.importing.context import ImportContext

    ctx = ImportContext(Path("/nonexistent"))
    tabular = icd10cm.parse_tabular(ctx.package_file(*icd10cm.TABULAR))
    listed = {
        line.strip()
        for line in ctx.package_file("simple_icd_10_cm", "data/code-list-April-2026.txt").open()
        if line.strip() and "-" not in line and not line.strip().isdigit()
    }
    ours = {c.code for c in tabular.codes}
    assert ours == listed
    codes = by_code(tabular)
    assert (
        codes["S93402A"].title == "Sprain of unspecified ligament of left ankle, initial encounter"
    )
    assert codes["E119"].billable and not codes["E11"].billable
    fy2025 = icd10cm.parse_fy2025_titles(ctx.package_file(*icd10cm.FY2025))
    assert len(fy2025.codes) == 97584 and fy2025.release.version == "2025"


async def test_history_idempotency_and_a_failed_import_on_sqlite(app, tmp_path: Path) -> None:
    from portal import runtime
    from tests.support.engines import use_sqlite

    async with use_sqlite(tmp_path / "catalog.sqlite3"):
        engine = runtime.current().engine
        first = await load(
            icd10cm.parse_tabular(write(tmp_path, version="2025", name="fy2025.xml")), engine
        )
        extra = "<diag><name>E11.A</name><desc>Type 2 diabetes mellitus without complications in remission</desc></diag>"
        second_file = write(
            tmp_path, e119="Type 2 diabetes mellitus without complication", extra=extra
        )
        second = await load(icd10cm.parse_tabular(second_file), engine)
        assert not first.skipped and not second.skipped
        assert (second.added, second.revised, second.deleted) == (1, 1, 0)
        changes = {
            r["code"]: r
            for r in await CodeChange.select().where(CodeChange.release == second.release_id)
        }
        assert changes["E11A"]["change"] == "added"
        assert changes["E119"]["old_title"] == "Type 2 diabetes mellitus without complications"

        again = await load(icd10cm.parse_tabular(second_file), engine)
        assert again.skipped and again.release_id == second.release_id
        assert await Release.count().where(Release.code_set == "icd-10-cm") == 2

        broken = tmp_path / "broken.xml"
        broken.write_text(
            second_file.read_text().replace("<name>E11.9</name>", "<name>E11..9</name>")
        )
        with pytest.raises(MalformedFile):
            icd10cm.parse_tabular(broken)
        current = await Release.select().where(Release.status == "current").first()
        assert current["id"] == second.release_id
        assert await Code.count().where(Code.system == "icd-10-cm") == len(
            icd10cm.parse_tabular(second_file).codes
        )
