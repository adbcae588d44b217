"""CasePilot's tools against the real catalog (every code set imported into this run's
PostgreSQL): the facts they give, their citations and releases, bad input, and the function
calling registry."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from features.case2code import catalog
from features.casepilot import tools
from features.casepilot.facts import ToolResult
from features.casepilot.tools import TOOLS, call

pytestmark = pytest.mark.usefixtures("catalog_loaded")

CM_RELEASE = "ICD-10-CM FY2026, April 1 2026 update"
MPFS_RELEASE = "MPFS CY2025 A (January 2025)"
NCCI_RELEASE = "NCCI sample (not CMS data), labelled 2024 Q1"
LCD_RELEASE = "Medicare Coverage Database: LCDs and articles, August 2025"


def texts(result: ToolResult) -> str:
    return "\n".join(f.text for f in result.facts)


async def assert_well_formed(result: ToolResult) -> None:
    """Every fact is cited, and every code the result names is one the catalog backs."""
    assert result.facts, result
    for item in result.facts:
        assert item.text and item.citation.label and item.citation.url
    for system, code in result.codes:
        view = await catalog.get_code(system, code)
        if view is None and system == "cpt":
            view = await catalog.cpt_without_licence(code)
        assert view is not None, (system, code)


# --- lookup_code ----------------------------------------------------------------------------


async def test_lookup_a_billable_code_with_its_parent() -> None:
    result = await tools.lookup_code("E11.9")
    await assert_well_formed(result)
    assert result.ok and result.tool == "lookup_code"
    assert result.data["title"] == "Type 2 diabetes mellitus without complications"
    assert result.data["billable"] is True and result.data["status"] == "billable"
    assert result.data["parent"]["display"] == "E11"
    assert "E11.9 is billable." in texts(result)
    assert "Its parent is E11 Type 2 diabetes mellitus." in texts(result)
    assert result.codes == (("icd-10-cm", "E119"), ("icd-10-cm", "E11"))
    first = result.facts[0].citation
    assert (first.label, first.url, first.release) == (
        "ICD-10-CM E11.9",
        "/codes/icd-10-cm/E11.9",
        CM_RELEASE,
    )
    # Without the dot, in lower case, with the system named: the same code.
    again = await tools.lookup_code("e119", system="ICD-10-CM")
    assert again.ok and again.data["display"] == "E11.9"


async def test_lookup_a_header_and_a_code_that_needs_a_7th_character() -> None:
    header = await tools.lookup_code("E11")
    assert header.ok and header.data["billable"] is False
    assert "E11 is not billable: a header, pick a more specific code (10 codes below it)." in texts(
        header
    )
    sprain = await tools.lookup_code("S93.402")
    await assert_well_formed(sprain)
    assert sprain.data["needs_seventh"] and not sprain.data["billable"]
    assert sprain.data["seventh_options"] == {
        "A": "initial encounter",
        "D": "subsequent encounter",
        "S": "sequela",
    }
    assert "S93.402 is not billable: it needs a 7th character" in texts(sprain)
    full = await tools.lookup_code("S93.402A")
    assert full.data["billable"] and full.data["seventh_char"]["meaning"] == "initial encounter"


async def test_lookup_an_unknown_code_says_not_and_names_the_release() -> None:
    result = await tools.lookup_code("E11.99")
    await assert_well_formed(result)
    assert not result.ok
    assert result.facts[0].text == f"E11.99 is not an ICD-10-CM code in {CM_RELEASE}."
    assert result.facts[0].citation.release == CM_RELEASE
    assert [n["code"] for n in result.data["nearest"]] == ["E11.9"]
    # Only codes that exist are named: the unknown one is not.
    assert ("icd-10-cm", "E1199") not in result.codes


async def test_lookup_suggests_the_placeholder_x() -> None:
    result = await tools.lookup_code("S32.9A")
    assert not result.ok
    assert "Did you mean S32.9XXA?" in texts(result)
    assert ("icd-10-cm", "S329XXA") in result.codes


@pytest.mark.parametrize(
    ("code", "system", "words"),
    [
        ("hello", None, "“hello” is not a code of ICD-10-CM"),
        ("E1.9", None, "is not a code of"),
        ("", None, "No code was given"),
        ("E11.9", "cpt", "“E11.9” is not a CPT code"),
        ("E11.9", "snomed", "“snomed” is not a code system"),
        ("0DTI4ZZ", "icd-10-pcs", "without I or O"),
    ],
)
async def test_lookup_bad_input_gives_a_clear_message(
    code: str, system: str | None, words: str
) -> None:
    result = await tools.lookup_code(code, system)
    assert not result.ok and result.codes == ()
    assert words in texts(result)


async def test_lookup_a_cpt_code_without_a_licensed_descriptor() -> None:
    result = await tools.lookup_code("10060")  # in the MPFS, not in the project's CPT sample
    await assert_well_formed(result)
    assert result.ok and result.data["unlicensed"] is True and result.data["title"] is None
    said = texts(result)
    assert "needs an AMA CPT licence file" in said
    assert "status A" in said and "global period 010" in said and "$124.21" in said
    assert result.facts[1].citation.release == MPFS_RELEASE
    # A code of the sample says its wording is the project's own.
    sample = await tools.lookup_code("99213")
    assert "the project's own sample wording, not AMA text" in texts(sample)
    assert "written by this project" in sample.facts[0].citation.release


async def test_lookup_picks_hcpcs_for_a_letter_and_four_digits() -> None:
    result = await tools.lookup_code("J1100")
    assert result.data["system"] == "hcpcs"
    assert result.data["title"] == "Injection, dexamethasone sodium phosphate, 1 mg"
    # The same characters are also an ICD-10-CM code; that stays in the data.
    assert [a["display"] for a in result.data["also"]] == ["J11.00"]
    assert result.codes == (("hcpcs", "J1100"),)
    pcs = await tools.lookup_code("0DTJ4ZZ")
    assert pcs.data["system"] == "icd-10-pcs"


async def test_lookup_of_a_two_character_code_is_a_modifier() -> None:
    result = await tools.lookup_code("LT")
    assert result.ok and result.tool == "lookup_code"
    assert "Modifier LT (HCPCS Level II): Left side" in texts(result)


# --- search_codes ---------------------------------------------------------------------------


async def test_search_codes(search_ready: Any) -> None:
    result = await tools.search_codes("type 2 diabetes without complications", limit=3)
    await assert_well_formed(result)
    assert result.ok and result.data["hits"][0]["display"] == "E11.9"
    assert (
        result.facts[0].text
        == "E11.9 Type 2 diabetes mellitus without complications (ICD-10-CM, billable)."
    )
    assert result.facts[0].citation.url == "/codes/icd-10-cm/E11.9"
    pcs = await tools.search_codes("laparoscopic appendectomy", system="icd-10-pcs", limit=2)
    assert pcs.ok and all(h["system"] == "icd-10-pcs" for h in pcs.data["hits"])
    assert "0DTJ4ZZ" in [h["display"] for h in pcs.data["hits"]]


async def test_search_codes_bad_input(search_ready: Any) -> None:
    nothing = await tools.search_codes("xqzzyv")
    assert not nothing.ok and "No code matches “xqzzyv”" in texts(nothing)
    assert not (await tools.search_codes("   ")).ok
    assert "is not a code system" in texts(await tools.search_codes("asthma", system="loinc"))


# --- ICD-10-CM: notes, hierarchy, 7th characters ---------------------------------------------


async def test_instructional_notes_own_and_inherited_with_their_levels() -> None:
    result = await tools.instructional_notes("E11.9")
    await assert_well_formed(result)
    said = texts(result)
    assert "At E11.9 itself — Excludes1 (not coded here: never together): type 2 diabetes " in said
    assert "Inherited from E11 (Type 2 diabetes mellitus) — Use additional code:" in said
    assert "insulin (Z79.4)" in said
    assert "Inherited from chapter 4 (Endocrine, nutritional and metabolic diseases" in said
    levels = [(lv["level"], lv["at"]) for lv in result.data["levels"]]
    assert levels[:2] == [("code", "E11.9"), ("ancestor", "E11")]
    assert ("chapter", "4") in levels and ("block", "E08-E13") in levels
    # The codes the notes name are listed, when they exist.
    assert ("icd-10-cm", "Z794") in result.codes and ("icd-10-cm", "E11A") in result.codes
    chapter = next(f for f in result.facts if f.citation.label == "ICD-10-CM chapter 4")
    assert chapter.citation.url == "/codes/icd-10-cm/chapter/4"
    assert result.facts[0].citation.url == "/codes/icd-10-cm/E11.9#gated-notes"


async def test_instructional_notes_are_icd_10_cm_only() -> None:
    result = await tools.instructional_notes("0DTJ4ZZ", system="icd-10-pcs")
    assert not result.ok and "about ICD-10-CM codes" in texts(result)
    assert not (await tools.instructional_notes("E11.99")).ok


async def test_hierarchy_of_an_icd_10_cm_code() -> None:
    result = await tools.hierarchy("E11.9")
    await assert_well_formed(result)
    assert result.data["chapter"]["key"] == "4"
    assert result.data["block"] == {"key": "E08-E13", "title": "Diabetes mellitus (E08-E13)"}
    assert [a["display"] for a in result.data["ancestors"]] == ["E11"]
    category = await tools.hierarchy("E11", "icd-10-cm")
    assert len(category.data["children"]) == 10
    assert "E11.9" in [c["display"] for c in category.data["children"]]
    assert "Below E11: E11.9 Type 2 diabetes mellitus without complications (billable)." in texts(
        category
    )


async def test_hierarchy_of_other_systems() -> None:
    pcs = await tools.hierarchy("0DTJ4ZZ")
    assert [(g["kind"], g["key"]) for g in pcs.data["groups"]] == [
        ("section", "0"),
        ("table", "0DT"),
    ]
    assert "Table 0DT: Gastrointestinal System, Resection." in texts(pcs)
    cpt = await tools.hierarchy("10060")  # no licensed descriptor: its range is still known
    assert [g["key"] for g in cpt.data["groups"]] == ["10004-69990", "10004-19499"]
    em = await tools.hierarchy("99213")
    assert [g["title"] for g in em.data["groups"]] == ["Evaluation and Management"]
    hcpcs = await tools.hierarchy("J1100")
    assert [g["key"] for g in hcpcs.data["groups"]] == ["J"]


async def test_seventh_characters_and_the_placeholder() -> None:
    sprain = await tools.seventh_characters("S93.402")
    await assert_well_formed(sprain)
    assert sprain.data["defined_at"] == "S93"
    assert sprain.data["chars"] == {
        "A": "initial encounter",
        "D": "subsequent encounter",
        "S": "sequela",
    }
    assert [c["code"] for c in sprain.data["codes"]] == ["S93.402A", "S93.402D", "S93.402S"]
    assert "no placeholder X is needed" in texts(sprain)
    short = await tools.seventh_characters("S32.9")
    assert "the placeholder X fills places 5 to 6 before the 7th character (e.g. S32.9XXA)" in (
        texts(short)
    )
    chosen = await tools.seventh_characters("S93.402D")
    assert "S93.402D already has its 7th character D (subsequent encounter)" in texts(chosen)
    none = await tools.seventh_characters("E11.9")
    assert none.ok and none.data["applies"] is False and "takes no 7th character" in texts(none)
    assert not (await tools.seventh_characters("S93.4999")).ok


# --- crosswalks -----------------------------------------------------------------------------


async def test_crosswalk_gems_both_ways_with_flags() -> None:
    forward = await tools.crosswalk("E11.9")
    await assert_well_formed(forward)
    assert "GEM ICD-10-CM to ICD-9-CM: E11.9 → ICD-9-CM 250.00 Diabetes mellitus without " in (
        texts(forward)
    )
    mapping = forward.data["mappings"][0]
    assert (mapping["other_code"], mapping["approximate"], mapping["flags"]) == (
        "25000",
        True,
        "10000",
    )
    assert ("icd-9-cm", "25000") in forward.codes
    assert forward.facts[0].citation.url == "/codes/icd-10-cm/E11.9#gated-crosswalks"
    back = await tools.crosswalk("250.00")
    assert back.ok and back.data["system"] == "icd-9-cm"
    assert "E119" in [m["other_code"] for m in back.data["mappings"]]
    procedure = await tools.crosswalk("0DTJ4ZZ")
    assert {"4701", "4711"} <= {m["other_code"] for m in procedure.data["mappings"]}
    assert "47.01 Laparoscopic appendectomy" in texts(procedure)
    icd9_procedure = await tools.crosswalk("47.01")
    assert icd9_procedure.data["system"] == "icd-9-pcs"


async def test_crosswalk_bad_input() -> None:
    assert not (await tools.crosswalk("000.00")).ok
    assert "not a code system" in texts(await tools.crosswalk("E11.9", system="loinc"))


# --- HCPCS, modifiers -----------------------------------------------------------------------


async def test_hcpcs_indicators_with_their_meanings() -> None:
    result = await tools.hcpcs_indicators("J1100")
    await assert_well_formed(result)
    said = texts(result)
    assert "Coverage code: D (Special coverage instructions apply)." in said
    assert "Betos code: O1E (Other drugs)." in said
    assert result.data["indicators"]["pricing_indicators"] == ["51"]
    assert result.facts[1].citation.url == "/codes/hcpcs/J1100#gated-coverage"
    cpt = await tools.hcpcs_indicators("99213")
    assert not cpt.ok and "is a CPT code" in texts(cpt)


async def test_modifiers_hcpcs_and_cpt() -> None:
    left = await tools.modifier("LT")
    await assert_well_formed(left)
    assert left.ok and left.codes == (("hcpcs", "LT"),)
    professional = await tools.modifier("26")
    said = texts(professional)
    assert "26 is a CPT modifier" in said and "AMA CPT licence" in said
    assert professional.data["mpfs_rows"] == 1117
    assert "has a separately priced row with modifier 26 for 1,117 codes" in said
    distinct = await tools.modifier("-59")
    assert distinct.ok and distinct.data["hcpcs_title"] is None
    assert "PTP edit rationales name modifier 59" in texts(distinct)
    assert "SAMPLE data" in texts(distinct)
    separate = await tools.modifier("XS")
    assert separate.data["hcpcs_title"].startswith("Separate structure")
    unknown = await tools.modifier("ZZ")
    assert not unknown.ok and "ZZ is not a HCPCS Level II modifier" in texts(unknown)
    assert not (await tools.modifier("abc")).ok


# --- NCCI and MUE ---------------------------------------------------------------------------


async def test_ncci_edit_found_in_either_order_with_its_indicator() -> None:
    for codes in (["99213", "20610"], ["20610", "99213"]):
        result = await tools.ncci_check(codes)
        await assert_well_formed(result)
        (edit,) = result.data["edits"]
        assert (edit["column1"], edit["column2"], edit["modifier_indicator"]) == (
            "20610",
            "99213",
            1,
        )
        said = texts(result)
        assert (
            "column 1 20610, column 2 99213; modifier indicator 1 = a modifier is allowed" in said
        )
        assert result.data["sample"] is True and NCCI_RELEASE in said
        assert "MUE for 20610 (practitioner)" in said
    assert result.facts[0].citation.url == "/codes/cpt/20610#gated-edits"


async def test_ncci_no_edit_and_a_never_allowed_pair() -> None:
    none = await tools.ncci_check(["20610", "36415"])
    assert f"No NCCI PTP edit found between 20610 and 36415 in the {NCCI_RELEASE}." in texts(none)
    assert "SAMPLE data, not the CMS NCCI files" in texts(none)
    never = await tools.ncci_check(["99212", "99211"])
    assert "modifier indicator 0 = no modifier allowed" in texts(never)
    many = await tools.ncci_check(["99213", "20610", "36415", "71046", "93000"])
    assert len(many.data["edits"]) == 2  # 20610/99213 and 36415/99213
    assert "No NCCI PTP edit found for these 8 pairs" in texts(many)
    mixed = await tools.ncci_check(["abc", "99213"])
    assert "“abc” is not a CPT or HCPCS code" in texts(mixed)
    assert not (await tools.ncci_check([])).ok


async def test_mue() -> None:
    result = await tools.mue("20610")
    await assert_well_formed(result)
    assert {r["setting"]: r["value"] for r in result.data["rows"]} == {
        "practitioner": 4,
        "hospital": 4,
    }
    assert "4 unit(s) per day — Date of Service Edit: Policy (MAI 2)" in texts(result)
    assert all(f.citation.release == NCCI_RELEASE for f in result.facts)
    missing = await tools.mue("J1100")
    assert not missing.ok and "No MUE for J1100" in texts(missing)
    assert not (await tools.mue("1")).ok


# --- fee schedule ---------------------------------------------------------------------------


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def test_fee_national_amounts_are_the_mpfs_rows() -> None:
    result = await tools.fee("99213")
    await assert_well_formed(result)
    row = (await catalog.records(("fee",), "99213"))["fee"][0].data
    factor = Decimal(str(row["conversion_factor"]))
    assert result.data["non_facility_payment"] == 88.95 == row["non_facility_payment"]
    assert cents(Decimal("2.75") * factor) == Decimal("88.95")
    assert result.data["facility_payment"] == 63.72
    said = texts(result)
    assert f"National payment for 99213 in the {MPFS_RELEASE}: $88.95 non-facility and $63.72" in (
        said
    )
    assert "Status code A: Active code" in said and "Global period XXX" in said
    citation = result.facts[0].citation
    assert (citation.label, citation.url, citation.release) == (
        "MPFS fee for 99213",
        "/codes/cpt/99213#gated-payment",
        MPFS_RELEASE,
    )
    # The RVU file's DESCRIPTION column is never stored, so never shown.
    assert not any("description" in key.lower() for key in result.data)


async def test_fee_in_a_locality_uses_the_gpcis() -> None:
    result = await tools.fee("99213", locality="Manhattan")
    row = result.data
    gpci = row["locality"]
    assert gpci["key"] == "1320201" and gpci["state"] == "NY"

    def amount(pe: float) -> Decimal:
        total = (
            Decimal(str(row["work_rvu"])) * Decimal(str(gpci["work_gpci"]))
            + Decimal(str(pe)) * Decimal(str(gpci["pe_gpci"]))
            + Decimal(str(row["mp_rvu"])) * Decimal(str(gpci["mp_gpci"]))
        )
        return cents(total * Decimal(str(row["conversion_factor"])))

    assert Decimal(str(row["locality_non_facility_payment"])) == amount(1.35) == Decimal("101.06")
    assert Decimal(str(row["locality_facility_payment"])) == amount(0.57) == Decimal("71.64")
    assert "In MPFS locality 1320201 MANHATTAN (NY): $101.06 non-facility and $71.64" in texts(
        result
    )
    by_key = await tools.fee("99213", locality="1320201")
    assert by_key.data["locality_non_facility_payment"] == 101.06
    one_state = await tools.fee("99213", locality="AK")
    assert one_state.data["locality"]["locality_name"] == "ALASKA"


async def test_fee_lists_the_choices_of_an_ambiguous_locality() -> None:
    result = await tools.fee("99213", locality="CA")
    assert result.ok and len(result.data["locality_choices"]) == 29
    assert "“CA” matches 29 MPFS localities; name one:" in texts(result)
    nowhere = await tools.fee("99213", locality="Narnia")
    assert "No MPFS locality matches “Narnia”" in texts(nowhere)


async def test_fee_modifier_rows_and_unpaid_statuses() -> None:
    professional = await tools.fee("71046", modifier="26")
    assert (
        professional.data["modifier"] == "26" and professional.data["non_facility_payment"] == 10.03
    )
    assert "The MPFS also has rows for 71046 with modifier TC." in texts(professional)
    technical = await tools.fee("71046-TC")
    assert technical.data["modifier"] == "TC" and technical.data["facility_payment"] is None
    assert "facility not priced (NA)" in texts(technical)
    no_row = await tools.fee("99213", modifier="25")
    assert "has no separate row for 99213 with modifier 25" in texts(no_row)
    excluded = await tools.fee("J1100")
    assert excluded.data["status_code"] == "E"
    assert "J1100 has no national payment amount" in texts(excluded)
    assert excluded.facts[0].citation.url == "/codes/hcpcs/J1100#gated-fees"
    missing = await tools.fee("99999")
    assert not missing.ok and f"99999 has no row in the {MPFS_RELEASE}." == missing.facts[0].text
    assert not (await tools.fee("99213", modifier="LONG")).ok


# --- MS-DRG, POS, LCD -----------------------------------------------------------------------


async def test_drg_facts() -> None:
    mcc = await tools.drg_facts("I21.4")
    await assert_well_formed(mcc)
    assert mcc.data["level"] == "MCC" and mcc.data["pdx_exclusion"] == "0781"
    said = texts(mcc)
    assert "I21.4 is an MCC (a major complication or comorbidity) as a secondary diagnosis" in said
    assert "one of the 25 codes of PDX exclusion collection 0781" in said
    assert "MS-DRGs 280-282 (Acute Myocardial Infarction, Discharged Alive)" in said
    plain = await tools.drg_facts("E11.9")
    assert plain.ok and "E11.9 is neither a CC nor an MCC" in texts(plain)
    drg = await tools.drg_facts("291")
    assert drg.data["title"] == "HEART FAILURE AND SHOCK WITH MCC" and drg.data["mdc"] == "05"
    assert not (await tools.drg_facts("E11.99")).ok


async def test_place_of_service() -> None:
    office = await tools.place_of_service("11")
    assert office.ok and office.facts[0].text == "Place of service 11: Office."
    assert office.facts[0].citation.release == "CMS Place of Service codes"
    telehealth = await tools.place_of_service("telehealth")
    assert [r["code"] for r in telehealth.data["rows"]] == ["02", "10"]
    assert (await tools.place_of_service("2")).data["rows"][0]["code"] == "02"
    missing = await tools.place_of_service("45")
    assert not missing.ok and "45 is not a place-of-service code" in texts(missing)


async def test_lcd_search() -> None:
    result = await tools.lcd_search("vitamin D")
    await assert_well_formed(result)
    ids = [d["id"] for d in result.data["documents"]]
    assert "L36692" in ids and "L33967" not in ids  # vitamin B12 is not vitamin D
    fact = next(f for f in result.facts if f.citation.label == "LCD L36692")
    assert fact.text.startswith("LCD L36692: Vitamin D Assay Testing — Noridian Healthcare")
    assert fact.citation.url == (
        "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=36692&ver=27"
    )
    assert fact.citation.release == LCD_RELEASE
    noridian = await tools.lcd_search("urine drug", contractor="Noridian", limit=2)
    assert len(noridian.data["documents"]) == 2
    for document in noridian.data["documents"]:
        assert any("Noridian" in c["name"] for c in document["contractors"])
    by_id = await tools.lcd_search("L39297")  # current and future versions: the current one
    assert [d["version"] for d in by_id.data["documents"]] == [3]
    assert not (await tools.lcd_search("zzzzunicorn")).ok
    assert not (await tools.lcd_search("")).ok


# --- ICD-10-PCS and guidelines --------------------------------------------------------------


async def test_pcs_decode_axis_by_axis() -> None:
    result = await tools.pcs_decode("0DTJ4ZZ")
    await assert_well_formed(result)
    axes = [(a["position"], a["name"], a["char"], a["meaning"]) for a in result.data["axes"]]
    assert axes == [
        (1, "Section", "0", "Medical and Surgical"),
        (2, "Body System", "D", "Gastrointestinal System"),
        (3, "Root Operation", "T", "Resection"),
        (4, "Body Part", "J", "Appendix"),
        (5, "Approach", "4", "Percutaneous Endoscopic"),
        (6, "Device", "Z", "No Device"),
        (7, "Qualifier", "Z", "No Qualifier"),
    ]
    assert "Character 3 (Root Operation) T: Resection — Cutting out or off, without " in (
        texts(result)
    )
    assert result.facts[1].citation.url == "/codes/icd-10-pcs/0DTJ4ZZ#gated-axes"


async def test_pcs_decode_of_an_invalid_code_names_the_character() -> None:
    result = await tools.pcs_decode("0DTJ3ZZ")
    assert not result.ok and result.data["valid"] is False and result.codes == ()
    assert "0DTJ3ZZ is not a valid ICD-10-PCS code" in texts(result)
    assert result.data["problem"] == (
        "Character 5 (Approach) 3 is not an option in table 0DT with the characters before it; "
        "the options there are 0, 4, 7, 8."
    )
    assert result.data["axes"][3]["meaning"] == "Appendix"
    no_table = await tools.pcs_decode("0ZZZZZZ")
    assert not no_table.ok and "There is no ICD-10-PCS table 0ZZ" in texts(no_table)
    assert "without I or O" in texts(await tools.pcs_decode("0DTI4ZZ"))


async def test_guidelines_from_the_data_and_what_is_not_in_it() -> None:
    result = await tools.guidelines("excision vs resection")
    await assert_well_formed(result)
    labels = [f.citation.label for f in result.facts]
    assert "ICD-10-PCS guideline B3.8" in labels
    assert "ICD-10-PCS root operation Resection" in labels
    assert "not in the loaded data" in result.facts[-1].text
    notes = await tools.guidelines("neoplasms functionally active")
    assert "ICD-10-CM chapter 2" in [f.citation.label for f in notes.facts]
    missing = await tools.guidelines("sepsis sequencing")
    assert not missing.ok
    assert "ICD-10-CM Official Guidelines for Coding and Reporting" in texts(missing)
    assert "not in the loaded data" in texts(missing)
    assert not (await tools.guidelines("the")).ok


# --- the registry ---------------------------------------------------------------------------

CONTRACT = {
    "lookup_code",
    "search_codes",
    "instructional_notes",
    "hierarchy",
    "seventh_characters",
    "crosswalk",
    "hcpcs_indicators",
    "modifier",
    "ncci_check",
    "mue",
    "fee",
    "drg_facts",
    "place_of_service",
    "lcd_search",
    "pcs_decode",
    "guidelines",
}


def test_every_tool_has_a_json_schema_object() -> None:
    assert set(TOOLS) == CONTRACT
    for name, spec in TOOLS.items():
        assert spec.name == name and spec.description
        schema = spec.parameters
        assert schema["type"] == "object" and isinstance(schema["properties"], dict)
        assert set(schema["required"]) <= set(schema["properties"]) and schema["required"]
        assert schema["additionalProperties"] is False
        for prop in schema["properties"].values():
            assert prop["type"] in ("string", "integer", "array") and prop["description"]
            if prop["type"] == "array":
                assert prop["items"] == {"type": "string"}


async def test_call_runs_a_tool_from_json_arguments() -> None:
    result = await call("fee", {"code": "99213", "locality": "AL"})
    assert result.ok and result.tool == "fee" and result.data["locality"]["key"] == "1011200"
    as_number = await call("lookup_code", {"code": 99213})  # engines write codes as numbers
    assert as_number.ok and as_number.data["code"] == "99213"
    as_text = await call("ncci_check", '{"codes": "99213, 20610"}')  # type: ignore[arg-type]
    assert as_text.ok and len(as_text.data["edits"]) == 1


@pytest.mark.parametrize(
    ("name", "arguments", "words"),
    [
        ("fee", {"code": 123}, "“123” is not a CPT or HCPCS code"),
        ("fee", {"code": True}, "code must be a string"),
        ("fee", {}, "code is required"),
        ("fee", {"code": "99213", "price": 1}, "unknown argument price"),
        ("fee", ["99213"], "must be a JSON object"),
        ("search_codes", {"query": "asthma", "limit": "many"}, "limit must be a whole number"),
        ("search_codes", {"query": "asthma", "limit": 500}, "limit must be between 1 and 20"),
        ("ncci_check", {"codes": 99213}, "codes must be a list of codes"),
        ("lookup_code", '{"code": ', "the arguments are not JSON"),
        ("no_such_tool", {}, "There is no CasePilot tool “no_such_tool”"),
    ],
)
async def test_bad_arguments_give_ok_false_not_an_exception(
    name: str, arguments: Any, words: str
) -> None:
    result = await call(name, arguments)
    assert not result.ok and words in texts(result)
    assert result.data["error"] == result.facts[0].text
