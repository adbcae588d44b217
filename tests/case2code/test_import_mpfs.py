"""The MPFS importer: a small RVU zip in the CMS layout (PPRRVU with its ten title lines, GPCI,
LOCCO), payments, malformed rows, the AMA DESCRIPTION column never reaching a record, loading on
both engines, and the real RVU25A.zip."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from features.case2code.importing import mpfs
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.runner import run_imports
from features.case2code.tables import Record, Release
from tests.case2code.catalog_db import DATA_DIR, ENGINES, own_database

COLUMNS = 31
TITLES = [
    ",,2025 National Physician Fee Schedule Relative Value File January Release" + "," * 28,
    ",,CPT codes and descriptions only are copyright American Medical Association." + "," * 28,
    ",,Dental codes (D codes) are copyright American Dental Association." + "," * 28,
    ",, ," + "," * 28,
    ",,RELEASED 12/23/2024" + "," * 28,
    ",, , ,,,,,,,,,,,,,,,,,,,,,,,,,NON-FACILITY,FACILITY,",
    ",,,,NOT USED,,,,,,,,,,,,,,,,,,,,,PHYSICIAN,,DIAGNOSTIC,PE USED,PE USED,MP USED",
    ",,,,FOR,,,NON-FAC,,FACILITY ,,,,,,,,,,,,,,,,SUPERVISION OF,,IMAGING,FOR OPPS,FOR OPPS,"
    "FOR OPPS",
    ",,,STATUS,MEDICARE ,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,"
    "INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,"
    "PAYMENT,PAYMENT",
    "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,"
    "IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,"
    "AMOUNT,AMOUNT",
]
# Stand-ins for the AMA descriptors: distinctive, so a leak anywhere is found.
DESCRIPTORS = {
    "99213": "SECRET DESCRIPTOR office est",
    "71046": "SECRET DESCRIPTOR chest xray",
    "G0278": "SECRET DESCRIPTOR iliac art angio",
    "A0021": "SECRET, DESCRIPTOR, with commas",
    "99999": "SECRET DESCRIPTOR half cent",
}


def fee_row(code: str, mod: str = "", **changes: str) -> str:
    cells = {
        "status": "A", "not_used": "", "work": "1.30", "nf_pe": "1.35", "nf_na": "",
        "f_pe": "0.57", "f_na": "", "mp": "0.10", "nf_total": "2.75", "f_total": "1.97",
        "pctc": "0", "glob": "XXX", "pre": "0.00", "intra": "0.00", "post": "0.00", "mult": "0",
        "bilat": "0", "asst": "0", "co": "0", "team": "0", "endo": "", "cf": "32.3465",
        "super": "09", "calc": "0", "family": "99", "o_nf": "0.00", "o_f": "0.00", "o_mp": "0.00",
    }  # fmt: skip
    cells.update(changes)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        [code, mod, DESCRIPTORS.get(code, "SECRET DESCRIPTOR other"), *cells.values()]
    )
    return out.getvalue()


def rvu_rows() -> list[str]:
    return [
        fee_row("A0021", status="I", work="0.00", nf_pe="0.00", f_pe="0.00", mp="0.00",
                nf_total="0.00", f_total="0.00", pctc="9", not_used="+"),
        fee_row("G0278", nf_na="NA", work="0.20", nf_pe="0.10", f_pe="0.10", mp="0.09",
                nf_total="0.39", f_total="0.39"),
        fee_row("71046", pctc="1"),
        fee_row("71046", "26", work="0.22", nf_pe="0.08", f_pe="0.08", mp="0.01",
                nf_total="0.31", f_total="0.31", pctc="1"),
        fee_row("71046", "TC", work="0.00", nf_pe="0.75", f_pe="0.75", mp="0.01",
                nf_total="0.76", f_total="0.76", pctc="1", super="01"),
        fee_row("99213"),
        fee_row("99999", nf_total="1.00", f_total="1.00", cf="10.005"),
        fee_row("47562", glob="090", pre="0.09", intra="0.84", post="0.07", mult="2",
                asst="2", endo="49320"),
    ]  # fmt: skip


GPCI = """ADDENDUM E. FINAL CY 2025 GEOGRAPHIC PRACTICE COST INDICES (GPCIs) BY STATE AND MEDICARE LOCALITY,,,,,,
,,,,,,
Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI
10112,AL,00,ALABAMA,1,0.869,0.575
02102,AK,01,ALASKA*,1.5,1.081,0.592
05302,MO,99,REST OF MISSOURI,1,0.859,0.974
03502,UT,09,UTAH,1,0.945,0.866
"MAC Assignments as of November 22, 2023",,,,,,
,,,,,,
*Work GPCI reflects a 1.5 floor in Alaska established by the MIPPA.,,,,,,
"""

LOCCO = """COUNTIES INCLUDED IN 2025 LOCALITIES.,,,,
,,,,
Medicare Adminstrative Contractor,Locality Number,State ,Fee Schedule Area ,Counties
,,,,
10112,0,ALABAMA ,STATEWIDE ,ALL COUNTIES 
,,,,
2102,1,ALASKA ,STATEWIDE ,ALL COUNTIES 
,,,,
5302,2,MISSOURI ,METROPOLITAN KANSAS CITY,"CLAY, JACKSON AND PLATTE"
5302,99,,REST OF STATE* ,ALL OTHER COUNTIES 
5302,99,,REST OF STATE*,ALL OTHER COUNTIES
,,,,
*  Payment locality is serviced by two carriers.,,,,
"""


def write_zip(
    path: Path, rows: list[str] | None = None, titles: list[str] | None = None, gpci: str = GPCI
) -> Path:
    lines = [*(titles or TITLES), *(rvu_rows() if rows is None else rows), "\x1a" + "," * 30]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("PPRRVU25_JAN.csv", "\r\n".join(lines) + "\r\n")
        archive.writestr("GPCI2025.csv", gpci)
        archive.writestr("25LOCCO.csv", LOCCO)
        archive.writestr("RVU25A.pdf", b"%PDF-1.4")
    return path


def fees(dataset: mpfs.Dataset) -> dict[tuple[str, str | None], dict]:
    return {(r.key, r.key2): r.data for r in dataset.records if r.kind == "fee"}


def test_the_title_lines_end_on_line_10_and_every_column_is_read(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "RVU25A.zip")
    text = zipfile.ZipFile(path).read("PPRRVU25_JAN.csv").decode()
    assert mpfs.find_rvu_header(text, "x") == 10
    dataset = mpfs.parse(path)
    release = dataset.release
    assert (release.code_set, release.name, release.version) == (
        "mpfs",
        "MPFS CY2025 A (January 2025)",
        "2025A",
    )
    assert str(release.effective_date) == "2025-01-01" and len(release.checksum) == 64
    assert dataset.record_kinds == ("fee", "gpci")
    rows = fees(dataset)
    assert list(rows)[:3] == [("A0021", ""), ("G0278", ""), ("71046", "")]
    office = rows[("99213", "")]
    assert office == {
        "status_code": "A",
        "not_used_for_medicare_payment": False,
        "work_rvu": 1.3,
        "non_facility_pe_rvu": 1.35,
        "non_facility_na": False,
        "facility_pe_rvu": 0.57,
        "facility_na": False,
        "mp_rvu": 0.1,
        "non_facility_total": 2.75,
        "facility_total": 1.97,
        "non_facility_payment": 88.95,  # 2.75 x 32.3465 = 88.952875
        "facility_payment": 63.72,  # 1.97 x 32.3465 = 63.722605
        "pctc_indicator": "0",
        "global_days": "XXX",
        "preop_share": 0.0,
        "intraop_share": 0.0,
        "postop_share": 0.0,
        "multiple_procedure": "0",
        "bilateral_surgery": "0",
        "assistant_surgery": "0",
        "co_surgeons": "0",
        "team_surgery": "0",
        "endoscopic_base_code": None,
        "conversion_factor": 32.3465,
        "physician_supervision": "09",
        "calculation_flag": "0",
        "diagnostic_imaging_family": "99",
        "non_facility_pe_used_for_opps_payment_amount": 0.0,
        "facility_pe_used_for_opps_payment_amount": 0.0,
        "mp_used_for_opps_payment_amount": 0.0,
    }
    assert rows[("99999", "")]["non_facility_payment"] == 10.01  # 10.005: half a cent rounds up
    assert rows[("71046", "26")]["non_facility_payment"] == 10.03
    assert rows[("71046", "TC")]["physician_supervision"] == "01"
    # NA in a setting: no amount for that setting; not payable status: no amount at all.
    assert rows[("G0278", "")]["non_facility_na"] is True
    assert rows[("G0278", "")]["non_facility_payment"] is None
    assert rows[("G0278", "")]["facility_payment"] == 12.62
    assert rows[("A0021", "")]["status_code"] == "I"
    assert rows[("A0021", "")]["not_used_for_medicare_payment"] is True
    assert rows[("A0021", "")]["facility_payment"] is None
    surgery = rows[("47562", "")]
    assert (surgery["global_days"], surgery["endoscopic_base_code"]) == ("090", "49320")
    assert (surgery["preop_share"], surgery["intraop_share"], surgery["postop_share"]) == (
        0.09,
        0.84,
        0.07,
    )


def test_gpci_rows_carry_their_counties_and_footnotes(tmp_path: Path) -> None:
    dataset = mpfs.parse(write_zip(tmp_path / "RVU25A.zip"))
    places = {(r.key, r.key2): r.data for r in dataset.records if r.kind == "gpci"}
    assert set(places) == {
        ("1011200", "AL"),
        ("0210201", "AK"),
        ("0530299", "MO"),
        ("0350209", "UT"),
    }
    alabama = places[("1011200", "AL")]
    assert alabama == {
        "carrier": "10112",
        "locality": "00",
        "state": "AL",
        "state_name": "ALABAMA",
        "locality_name": "ALABAMA",
        "work_gpci": 1.0,
        "pe_gpci": 0.869,
        "mp_gpci": 0.575,
        "fee_schedule_area": "STATEWIDE",
        "counties": "ALL COUNTIES",
        "notes": [],
    }
    alaska = places[("0210201", "AK")]
    assert alaska["locality_name"] == "ALASKA" and alaska["work_gpci"] == 1.5
    assert alaska["notes"] == ["Work GPCI reflects a 1.5 floor in Alaska established by the MIPPA."]
    missouri = places[("0530299", "MO")]
    # The state is written on a state's first LOCCO row only; the doubled row is merged.
    assert missouri["state_name"] == "MISSOURI" and missouri["counties"] == "ALL OTHER COUNTIES"
    assert missouri["fee_schedule_area"] == "REST OF STATE"
    assert missouri["notes"] == ["Payment locality is serviced by two carriers."]
    assert places[("0350209", "UT")]["counties"] is None  # no LOCCO row for it


def test_no_descriptor_text_reaches_any_record_or_error(tmp_path: Path) -> None:
    dataset = mpfs.parse(write_zip(tmp_path / "RVU25A.zip"))
    everything = json.dumps(
        [[r.kind, r.key, r.key2, r.data] for r in dataset.records] + [repr(dataset.release)]
    )
    assert "SECRET" not in everything and "DESCRIPTOR" not in everything
    assert "description" not in everything.lower()
    # A malformed row is reported by line and field, without the row's text.
    rows = rvu_rows()
    rows[3] = fee_row("71046", "26", work="1,30")
    with pytest.raises(MalformedFile) as info:
        mpfs.parse(write_zip(tmp_path / "bad.zip", rows))
    assert "SECRET" not in str(info.value) and info.value.line == 14


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (fee_row("99214", work="1.9x"), "work_rvu '1.9x' is not a number"),
        (fee_row("99214", nf_na="N/A"), "non_facility_na 'N/A' is neither blank nor NA"),
        (fee_row("99214", not_used="*"), "not_used_for_medicare_payment"),
        (fee_row("99214", status=""), "STATUS CODE is blank"),
        (fee_row("9921"), "HCPCS '9921' is not a 5-character code"),
        (fee_row("99214", "2"), "MOD '2' is not a 2-character modifier"),
        (fee_row("99213"), "99213 \\(no modifier\\) appears twice"),
        (fee_row("99214") + ",extra", "expected 31 columns, found 32"),
        (",".join(fee_row("99214").split(",")[:20]), "expected 31 columns, found 20"),
        (fee_row("99214", cf="NaN"), "conversion_factor 'NaN' is not a number"),
    ],
)
def test_malformed_rvu_rows_fail_with_their_line(tmp_path: Path, row: str, reason: str) -> None:
    rows = [*rvu_rows(), row]
    with pytest.raises(MalformedFile, match=reason) as info:
        mpfs.parse(write_zip(tmp_path / "RVU25A.zip", rows))
    assert info.value.line == 10 + len(rows)
    assert "PPRRVU25_JAN.csv:" in str(info.value)


def test_wrong_titles_gpci_values_and_names_fail(tmp_path: Path) -> None:
    titles = [*TITLES[:9], TITLES[9].replace("GLOB", "GLOBAL").replace("DAYS", "PERIOD")]
    with pytest.raises(MalformedFile, match="column titles differ") as info:
        mpfs.parse(write_zip(tmp_path / "RVU25A.zip", titles=titles))
    assert info.value.line == 10
    with pytest.raises(MalformedFile, match="not a PPRRVU file"):
        mpfs.parse(write_zip(tmp_path / "RVU25A.zip", titles=TITLES[:9]))
    bad_gpci = GPCI.replace("1.081", "1.0.81")
    with pytest.raises(MalformedFile, match=re.escape("PE GPCI '1.0.81' is not a number")) as info:
        mpfs.parse(write_zip(tmp_path / "RVU25A.zip", gpci=bad_gpci))
    assert info.value.line == 5 and "GPCI2025.csv:5" in str(info.value)
    with pytest.raises(MalformedFile, match="state 'ALA' is not a postal code"):
        mpfs.parse(write_zip(tmp_path / "RVU25A.zip", gpci=GPCI.replace(",AL,", ",ALA,")))
    with pytest.raises(MalformedFile, match="cannot tell the release"):
        mpfs.parse(write_zip(tmp_path / "fees.zip"))
    revised = mpfs.parse(write_zip(tmp_path / "RVU26BR.zip")).release
    assert (revised.name, revised.version, str(revised.effective_date)) == (
        "MPFS CY2026 B revised (April 2026)",
        "2026BR",
        "2026-04-01",
    )


def test_the_real_rvu25a_zip() -> None:
    path = DATA_DIR / mpfs.DEFAULT_ZIP
    with zipfile.ZipFile(path) as archive:
        text = mpfs.decode(archive.read("PPRRVU25_JAN.csv"))
    assert mpfs.find_rvu_header(text, str(path)) == 10  # as SOURCES.md says
    # The test reads the descriptors only to prove none of them is stored.
    descriptors = {
        row[2].strip() for row in list(csv.reader(io.StringIO(text)))[10:] if len(row) > 2
    }
    descriptors.discard("")
    assert len(descriptors) > 10000

    dataset = mpfs.parse(path)
    assert dataset.release.name == "MPFS CY2025 A (January 2025)"
    kinds = Counter(r.kind for r in dataset.records)
    assert kinds == {"fee": 18865, "gpci": 109}
    rows = fees(dataset)
    office = rows[("99213", "")]
    assert office["status_code"] == "A" and office["non_facility_total"] > 0
    assert office["non_facility_payment"] == 88.95 and office["conversion_factor"] == 32.3465
    assert rows[("71046", "26")]["pctc_indicator"] == "1"
    strings = {
        value
        for record in dataset.records
        if record.kind == "fee"
        for value in record.data.values()
        if isinstance(value, str)
    }
    # Every text value of a fee row is a short code, with no room for a descriptor; counts only
    # in the assertions, so a failure does not print AMA text either.
    assert max(len(value) for value in strings) <= 5
    leaked = len(strings & descriptors)
    assert leaked == 0
    gpci = [r.data for r in dataset.records if r.kind == "gpci"]
    assert all(g["counties"] and g["state_name"] for g in gpci)
    la = next(g for g in gpci if g["carrier"] == "01182" and g["locality"] == "18")
    assert "LOS ANGELES" in la["counties"]


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_reload_and_a_malformed_second_zip(
    app, tmp_path: Path, engine_kind: str
) -> None:
    good = write_zip(tmp_path / "RVU25A.zip")
    async with own_database(engine_kind, tmp_path) as engine:
        result = await load(mpfs.parse(good), engine)
        assert not result.skipped and result.records == 8 + 4 and result.codes == 0
        office = (
            await Record.select()
            .where((Record.kind == "fee") & (Record.key == "99213") & (Record.key2 == ""))
            .output(load_json=True)
            .first()
        )
        assert office["data"]["non_facility_payment"] == 88.95
        assert office["release"] == result.release_id
        assert await Record.count().where(Record.kind == "gpci") == 4
        assert await Record.count().where(Record.kind == "fee") == 8
        assert (await load(mpfs.parse(good), engine)).skipped

        (tmp_path / "next").mkdir()
        rows = [*rvu_rows(), fee_row("99214", work="bad")]
        bad = write_zip(tmp_path / "next" / "RVU25B.zip", rows)
        report = await run_imports(ImportContext(tmp_path, {"mpfs": bad}), engine, ["mpfs"])
        assert "PPRRVU25_JAN.csv:19: work_rvu 'bad'" in report.failed["mpfs"]
        current = await Release.select().where(Release.code_set == "mpfs").output(load_json=True)
        assert [(r["id"], r["status"]) for r in current] == [(result.release_id, "current")]
        assert await Record.count().where(Record.kind == "fee") == 8
