"""The MS-DRG importer: CMS Tables 6I, 6J (CC and MCC lists), 6K (PDX exclusion collections,
discharged-alive codes, DRG-specific exclusions) and 5 (weights), in their CMS formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.case2code.importing import msdrg
from features.case2code.importing.base import MalformedFile, load
from features.case2code.importing.context import ImportContext
from features.case2code.tables import Record, Release
from tests.case2code.catalog_db import ENGINES, own_database

MCC = [
    "TABLE 6I - COMPLETE MCC LIST",
    "Diagnosis Code\tDescription",
    "A02.1\tSalmonella sepsis",
    "I46.9\tCardiac arrest, cause unspecified",
    "J18.9\tPneumonia, unspecified organism",
    "",
    "\tNotes:",
]
CC = [
    "TABLE 6J - COMPLETE CC LIST",
    "Diagnosis Code\tDescription",
    "A00.0\tCholera due to Vibrio cholerae 01, biovar cholerae",
    "E11.52\tType 2 diabetes mellitus with diabetic peripheral angiopathy with gangrene",
    "QA0.0101\tSCN2A-related neurodevelopmental disorder",
    "Z59.00\tHomelessness unspecified",
]
BIG = [f"Z{n:05d}" for n in range(1070)]  # a collection whose count CMS prints as "1,070"
EXCLUSIONS = [
    "TABLE 6K - COMPLETE LIST OF CC EXCLUSIONS",
    "",
    "Table 6K is a list of all of the codes that are defined as either a CC or an MCC.",
    "",
    "K Part 1: List of CC and Major CC Codes",
    " I10 Dx  Lev PDX Exclusions   ICD-10-CM Description",
    " A000    CC  0002:3 codes     Cholera due to Vibrio cholerae 01, biovar cholerae",
    " A021    MCC 0005:2 codes     Salmonella sepsis",
    " E1152   CC  0126:1,070 codes Type 2 diabetes mellitus with peripheral angiopathy",
    " I469    MCC 0821:1 code      Cardiac arrest, cause unspecified",
    " J189    MCC 0113:2 codes     Pneumonia, unspecified organism",
    " QA00101 CC  0002:3 codes     SCN2A-related neurodevelopmental disorder",
    " Z5900   CC  No Excl          Homelessness unspecified",
    "",
    "PDX collection 0002",
    "  A000    Cholera due to Vibrio cholerae 01, biovar cholerae",
    "  A001    Cholera due to Vibrio cholerae 01, biovar eltor",
    "  A009    Cholera, unspecified",
    "",
    "PDX collection 0005",
    "  A021    Salmonella sepsis",
    "  A0220   Salmonella infection, unspecified",
    "",
    "PDX collection 0113",
    "  J181    Lobar pneumonia, unspecified organism",
    "  J189    Pneumonia, unspecified organism",
    "",
    "PDX collection 0126",
    *[f"  {code}  Made-up code" for code in BIG],
    "",
    "PDX collection 0821",
    "  I469    Cardiac arrest, cause unspecified",
    "",
    "K Part 2: Codes that are CC or Major CC only if patient discharged alive",
    "",
    "  I469    Cardiac arrest, cause unspecified",
    "",
    "K Part 3: Secondary Diagnosis CC/MCC Severity Exclusions in Select MS-DRGs",
    "",
    "MDC 25 DRGs 974-976 HIV with Major Related Condition",
    "",
    "  J189   Pneumonia, unspecified organism",
    "  U071   COVID-19",
]
WEIGHTS = [
    '"TABLE 5.\u2014LIST OF MEDICARE SEVERITY DIAGNOSIS-RELATED GROUPS (MS-DRGS), RELATIVE '
    "WEIGHTING FACTORS, ",
    'AND GEOMETRIC AND ARITHMETIC MEAN LENGTH OF STAY\u2014FY 2026 Final Rule"' + "\t" * 9,
    "MS-DRG \tFY 2026 Final Post-Acute DRG\tFY 2026 Final Special Pay DRG\tMDC\tTYPE\t"
    "MS-DRG Title\tWeights - Before Cap\tWeights - 10% Cap Applied \tGeometric mean LOS\t"
    "Arithmetic mean LOS",
    "001\tNo\tNo\tPRE\tSURG\tHEART TRANSPLANT OR IMPLANT OF HEART ASSIST SYSTEM WITH MCC\t"
    "28.0239\t28.0239\t25.8\t36.2",
    "470\tYes\tNo\t08\tSURG\tMAJOR HIP AND KNEE JOINT REPLACEMENT WITHOUT MCC\t1.9289\t1.9289\t1.9\t2.2",
    "975\tNo\tNo\t25\tMED\tHIV WITH MAJOR RELATED CONDITION WITH CC\t1.2\t1.1\t4.1\t5.3",
    "998\tNo\tNo\t \t**\tPRINCIPAL DIAGNOSIS INVALID AS DISCHARGE DIAGNOSIS\t.\t.\t.\t",
    "\t" * 9,
]
MDC = '"08","Diseases and Disorders of the Musculoskeletal System And Connective Tissue"\n"25","Human Immunodeficiency Virus Infection"\n'
DRGS = (
    '"470","MDC 08","P","MAJOR HIP AND KNEE JOINT REPLACEMENT WITHOUT MCC","0","\\N"\n'
    '"222","05","Surgical","Cardiac defibrillator implant with cardiac catheterization","1",'
    '"2023-10-01"\n'
)


def make_files(tmp_path: Path, **changes: list[str]) -> dict[str, Path]:
    """The six files, CMS style (cp1252, CRLF); `changes` replaces a file's lines."""
    lines = {"mcc": MCC, "cc": CC, "exclusions": EXCLUSIONS, "weights": WEIGHTS, **changes}
    files = {}
    for key, content in lines.items():
        files[key] = tmp_path / f"{key}.txt"
        files[key].write_bytes("\r\n".join(content).encode("cp1252") + b"\r\n")
    files["mdc"] = tmp_path / "mdc.csv"
    files["mdc"].write_text(MDC)
    files["drgs"] = tmp_path / "ms_drg.csv"
    files["drgs"].write_text(DRGS)
    return files


def test_designations_collections_exclusions_and_weights(tmp_path: Path) -> None:
    dataset = msdrg.parse(make_files(tmp_path))
    assert dataset.release.code_set == "ms-drg"
    assert dataset.release.name == "MS-DRG v43 (FY 2026 Final Rule)"
    assert dataset.release.version == "43" and str(dataset.release.effective_date) == "2025-10-01"
    assert not dataset.codes and set(dataset.record_kinds) == set(msdrg.RECORD_KINDS)

    records = {(r.kind, r.key): r.data for r in dataset.records}
    assert records[("drg-cc", "A000")] == {
        "level": "CC",
        "title": "Cholera due to Vibrio cholerae 01, biovar cholerae",
        "pdx_exclusion": "0002",
        "pdx_exclusion_count": 3,
        "alive_only": False,
        "excluded_in_drgs": [],
    }
    assert records[("drg-cc", "E1152")]["pdx_exclusion_count"] == 1070
    assert records[("drg-cc", "I469")]["level"] == "MCC"
    assert records[("drg-cc", "I469")]["alive_only"] is True
    assert records[("drg-cc", "J189")]["excluded_in_drgs"] == ["974-976"]
    assert records[("drg-cc", "QA00101")]["level"] == "CC"
    assert records[("drg-cc", "Z5900")]["pdx_exclusion"] is None
    assert ("drg-cc", "A001") not in records  # in a collection, not a CC itself
    assert records[("drg-pdx-collection", "0113")] == {"codes": ["J181", "J189"]}
    assert records[("drg-cc-drg-exclusion", "975")] == {
        "mdc": "25",
        "drgs": "974-976",
        "title": "HIV with Major Related Condition",
        "codes": ["J189", "U071"],
    }
    assert {k for k, _ in records if k == "drg-cc-drg-exclusion"} and all(
        ("drg-cc-drg-exclusion", n) in records for n in ("974", "975", "976")
    )
    hip = records[("ms-drg", "470")]
    assert hip["weight"] == 1.9289 and hip["gmlos"] == 1.9 and hip["amlos"] == 2.2
    assert hip["type"] == "SURG" and hip["post_acute"] is True and hip["retired"] is None
    assert hip["mdc"] == "08" and hip["mdc_title"].startswith("Diseases and Disorders of the Musc")
    assert records[("ms-drg", "975")]["weight"] == 1.1  # the capped weight is the one paid
    assert records[("ms-drg", "975")]["weight_uncapped"] == 1.2
    invalid = records[("ms-drg", "998")]
    assert invalid["type"] is None and invalid["mdc"] is None and invalid["weight"] is None
    assert records[("ms-drg", "222")]["retired"] == "2023-10-01"
    assert (
        records[("ms-drg", "222")]["type"] == "SURG" and records[("ms-drg", "222")]["mdc"] == "05"
    )


def replaced(lines: list[str], old: str, new: str) -> list[str]:
    assert old in lines
    return [new if line == old else line for line in lines]


@pytest.mark.parametrize(
    ("key", "old", "new", "file", "line", "reason"),
    [
        (
            "exclusions",
            " A021    MCC 0005:2 codes     Salmonella sepsis",
            " A021    XCC 0005:2 codes     Salmonella sepsis",
            "exclusions",
            8,
            "expected: code",
        ),
        (
            "exclusions",
            " A021    MCC 0005:2 codes     Salmonella sepsis",
            " A021    MCC 0005:5 codes     Salmonella sepsis",
            "exclusions",
            8,
            "collection 0005 says 5 codes, lists 2",
        ),
        (
            "exclusions",
            " A021    MCC 0005:2 codes     Salmonella sepsis",
            " A021    MCC 0099:2 codes     Salmonella sepsis",
            "exclusions",
            8,
            "PDX collection 0099 is not listed",
        ),
        (
            "exclusions",
            " A021    MCC 0005:2 codes     Salmonella sepsis",
            " A021    CC  0005:2 codes     Salmonella sepsis",
            "exclusions",
            8,
            "A021 is CC here but MCC in 6I/6J",
        ),
        (
            "exclusions",
            "  A009    Cholera, unspecified",
            "  9009    Cholera",
            "exclusions",
            18,
            "not an ICD-10-CM code",
        ),
        (
            "cc",
            "A00.0\tCholera due to Vibrio cholerae 01, biovar cholerae",
            "A02.1\tTwice",
            "cc",
            3,
            "A021 is both CC and MCC",
        ),
        (
            "cc",
            "Z59.00\tHomelessness unspecified",
            "Z59.00 Homelessness",
            "cc",
            6,
            "expected code<TAB>description",
        ),
        (
            "weights",
            WEIGHTS[5],
            WEIGHTS[5].replace("\tMED\t", "\tMEDICAL\t"),
            "weights",
            6,
            "TYPE 'MEDICAL'",
        ),
        (
            "weights",
            WEIGHTS[5],
            WEIGHTS[5].replace("\t4.1\t", "\tfour\t"),
            "weights",
            6,
            "'four' is not a number",
        ),
        ("weights", WEIGHTS[5], WEIGHTS[5].replace("975", "97"), "weights", 6, "not a DRG number"),
    ],
)
def test_malformed_lines_fail_with_their_line(
    tmp_path: Path, key: str, old: str, new: str, file: str, line: int, reason: str
) -> None:
    base = {"mcc": MCC, "cc": CC, "exclusions": EXCLUSIONS, "weights": WEIGHTS}
    files = make_files(tmp_path, **{key: replaced(base[key], old, new)})
    with pytest.raises(MalformedFile) as caught:
        msdrg.parse(files)
    assert caught.value.path == str(files[file])
    assert caught.value.line == line and reason in caught.value.reason


def test_bytes_that_are_not_cp1252_and_a_missing_title(tmp_path: Path) -> None:
    files = make_files(tmp_path)
    raw = files["weights"].read_bytes().replace(b"HEART TRANSPLANT", b"HEART \x81TRANSPLANT")
    files["weights"].write_bytes(raw)
    with pytest.raises(MalformedFile) as caught:
        msdrg.parse(files)
    assert caught.value.line == 4 and "not cp1252 text" in caught.value.reason

    files = make_files(tmp_path, weights=WEIGHTS[2:])
    with pytest.raises(MalformedFile, match="Table 5 title naming the fiscal year"):
        msdrg.parse(files)
    files = make_files(tmp_path)
    files["mdc"].write_text('"08","Musculoskeletal"\n"8","Short"\n')
    with pytest.raises(MalformedFile) as caught:
        msdrg.parse(files)
    assert caught.value.line == 2


@pytest.mark.parametrize("engine_kind", ENGINES)
async def test_load_and_reload(app, tmp_path: Path, engine_kind: str) -> None:
    async with own_database(engine_kind, tmp_path) as engine:
        result = await load(msdrg.parse(make_files(tmp_path)), engine)
        assert not result.skipped and result.codes == 0
        designation = (
            await Record.select()
            .where((Record.kind == "drg-cc") & (Record.key == "J189"))
            .output(load_json=True)
        )
        assert designation[0]["data"]["level"] == "MCC"
        assert designation[0]["data"]["pdx_exclusion"] == "0113"
        drg = (
            await Record.select()
            .where((Record.kind == "ms-drg") & (Record.key == "470"))
            .output(load_json=True)
        )
        assert drg[0]["data"]["weight"] == 1.9289
        release = await Release.select().where(Release.code_set == "ms-drg").first()
        assert release["name"] == "MS-DRG v43 (FY 2026 Final Rule)"
        assert release["row_count"] == result.records

        again = await load(msdrg.parse(make_files(tmp_path)), engine)
        assert again.skipped and again.release_id == result.release_id
        assert await Record.count().where(Record.kind == "drg-cc") == 7


def test_the_installed_data() -> None:
    (dataset,) = msdrg.datasets(ImportContext(Path("/nonexistent")))
    assert dataset.release.name == "MS-DRG v43 (FY 2026 Final Rule)"
    records = {(r.kind, r.key): r.data for r in dataset.records}
    kinds: dict[str, int] = {}
    for kind, _ in records:
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds["drg-cc"] == 18432 and kinds["drg-pdx-collection"] == 1994
    assert kinds["drg-cc-drg-exclusion"] == 31
    # E11.9 is neither a CC nor an MCC; E11.65 is not a CC in FY2026 either; E11.52 is a CC,
    # E11.00 an MCC (Tables 6I and 6J).
    assert ("drg-cc", "E119") not in records and ("drg-cc", "E1165") not in records
    assert records[("drg-cc", "E1152")]["level"] == "CC"
    assert records[("drg-cc", "E1100")]["level"] == "MCC"
    assert records[("drg-cc", "J189")]["pdx_exclusion"] == "0113"
    assert records[("drg-cc", "J189")]["excluded_in_drgs"] == ["974-976"]
    assert records[("drg-cc", "I469")]["alive_only"] is True
    collection = records[("drg-pdx-collection", "0113")]["codes"]
    assert len(collection) == records[("drg-cc", "J189")]["pdx_exclusion_count"] == 129
    hip = records[("ms-drg", "470")]
    assert hip["title"].startswith("MAJOR HIP AND KNEE JOINT REPLACEMENT")
    assert hip["weight"] == 1.9289 and hip["type"] == "SURG" and hip["mdc"] == "08"
