"""The code check: finding code-like tokens in answers, looking them up in the real catalog, and
marking what fails."""

from __future__ import annotations

import pytest

from features.casepilot.code_check import check, find_codes, mark
from features.casepilot.engine import CodeFlag


def _found(text: str) -> list[tuple[str, bool]]:
    return [(m.text, m.certain) for m in find_codes(text)]


def _certain(text: str) -> list[str]:
    return [m.text for m in find_codes(text) if m.certain]


# --- find_codes: no database --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "catalog_code", "systems"),
    [
        ("Report E11.9 here.", "E11.9", "E119", ("icd-10-cm",)),
        ("Report E119 here.", "E119", "E119", ("icd-10-cm",)),
        ("Report S93.402A here.", "S93.402A", "S93402A", ("icd-10-cm",)),
        ("Report S93402A here.", "S93402A", "S93402A", ("icd-10-cm",)),
        ("Report C7A.010 here.", "C7A.010", "C7A010", ("icd-10-cm",)),
        ("The PCS code 0FT44ZZ is", "0FT44ZZ", "0FT44ZZ", ("icd-10-pcs",)),
        ("Bill J1100 per 1 mg", "J1100", "J1100", ("hcpcs", "icd-10-cm")),
        ("G0439 is the annual wellness visit", "G0439", "G0439", ("hcpcs", "icd-10-cm")),
        ("Report 0001F with it", "0001F", "0001F", ("cpt",)),
        ("Report 0042T with it", "0042T", "0042T", ("cpt",)),
        ("CPT 99213 is", "99213", "99213", ("cpt",)),
    ],
)
def test_each_code_shape_is_found_with_its_catalog_key(
    text: str, code: str, catalog_code: str, systems: tuple[str, ...]
) -> None:
    [mention] = find_codes(text)
    assert (mention.text, mention.code, mention.systems, mention.certain) == (
        code,
        catalog_code,
        systems,
        True,
    )
    assert text[mention.start : mention.end] == code


@pytest.mark.parametrize(
    "text",
    [
        "In 2025 the work RVU is 1.92 and the total 3.56.",
        "The fee is $12345 or $1,234.56 this year.",
        "Mail it to Boston, MA 02115 or 02115-1234.",
        "Send to ZIP code 90210.",
        "See LCD L33831 and article A52458.",
        "The visit took 45 minutes; FY2026 and CY2025 releases.",
        "Use ICD-10-CM and MS-DRG 637 with POS 11.",
        "GENERAL SURGERY, PATIENT, DIABETES, HbA1c and A1C and H2O.",
        "See https://www.cms.gov/E11.9/page and [the page](/codes/icd-10-cm/E11.9).",
        "e11.9 written in lower case is not how an answer writes a code.",
    ],
)
def test_no_certain_code_in_numbers_words_and_urls(text: str) -> None:
    assert _certain(text) == []


def test_a_bare_five_digit_number_is_only_a_candidate() -> None:
    assert _found("The claim had 12345 lines.") == [("12345", False)]


@pytest.mark.parametrize(
    "text",
    [
        "CPT 99213 applies.",
        "CPT® code 99213 applies.",
        "Use code 99213.",
        "codes: 99213",
        "Report 99213-25 with the procedure.",
        "- 99213: office visit",
        "1. 99213 office visit",
        "| 99213 | 1.92 |",
        "Report E11.9 and 99213.",
    ],
)
def test_a_five_digit_number_is_a_code_in_context(text: str) -> None:
    assert _certain(text) == ["E11.9", "99213"] if "E11.9" in text else ["99213"]


def test_a_list_after_a_system_name_is_all_of_that_system() -> None:
    mentions = find_codes("CPT codes 99213, 99214 and 99215; ICD-10-CM E11.9, E11.65 or I10.")
    assert [(m.text, m.declared, m.certain) for m in mentions] == [
        ("99213", "cpt", True),
        ("99214", "cpt", True),
        ("99215", "cpt", True),
        ("E11.9", "icd-10-cm", True),
        ("E11.65", "icd-10-cm", True),
        ("I10", "icd-10-cm", True),
    ]


def test_the_declared_system_may_follow_in_parentheses() -> None:
    [mention] = find_codes("J1100 (CPT) is wrong")
    assert mention.declared == "cpt"


def test_bare_categories_and_vertebrae_are_candidates_only() -> None:
    assert _found("Vitamin B12, a T12 fracture and E11.") == [
        ("B12", False),
        ("T12", False),
        ("E11", False),
    ]
    assert _certain("category E11 has no billable code of its own") == ["E11"]


def test_seven_digits_are_a_candidate_pcs_code() -> None:
    assert _found("Call 5551234 or report 0016070.") == [("5551234", False), ("0016070", False)]
    assert _certain("ICD-10-PCS 0016070") == ["0016070"]


def test_a_code_inside_markdown_is_found_once() -> None:
    text = "Use **E11.9** or `E11.65` or [E11.8](/codes/icd-10-cm/E11.8)."
    assert _certain(text) == ["E11.9", "E11.65", "E11.8"]


def test_a_sentence_end_dot_is_not_part_of_the_code() -> None:
    [mention] = find_codes("The code is E11.9.")
    assert mention.text == "E11.9"


# --- mark: no database --------------------------------------------------------------------

UNKNOWN = CodeFlag("E11.99", "icd-10-cm", "unknown", "E11.99 is not a code")
HEADER = CodeFlag("E11", "icd-10-cm", "not billable", "E11 is a heading")
WRONG = CodeFlag("J1100", "cpt", "wrong system", "J1100 is not a CPT code")


def test_mark_puts_a_marker_after_each_flagged_code() -> None:
    text = "Use E11.99 (not E11.9); E11 is a category. E11.99 again."
    assert mark(text, [UNKNOWN, HEADER]) == (
        "Use E11.99 **[not a valid code]** (not E11.9); E11 **[not billable]** is a category. "
        "E11.99 **[not a valid code]** again."
    )


def test_mark_keeps_markdown_whole() -> None:
    text = "**E11.99**, `E11.99`, [E11.99](/codes/icd-10-cm/E11.99) and | E11.99 | row |"
    assert mark(text, [UNKNOWN]) == (
        "**E11.99** **[not a valid code]**, `E11.99` **[not a valid code]**, "
        "[E11.99](/codes/icd-10-cm/E11.99) **[not a valid code]** and "
        "| E11.99 **[not a valid code]** | row |"
    )


def test_mark_in_a_fenced_block_is_plain_text() -> None:
    assert mark("```\nE11.99\n```", [UNKNOWN]) == "```\nE11.99 [not a valid code]\n```"


def test_a_wrong_system_marks_only_where_that_system_is_named() -> None:
    text = "CPT J1100 is wrong, HCPCS J1100 is right."
    assert mark(text, [WRONG]) == ("CPT J1100 **[not a CPT code]** is wrong, HCPCS J1100 is right.")


def test_marking_twice_changes_nothing_and_no_flags_change_nothing() -> None:
    once = mark("E11.99 and E11.99x", [UNKNOWN])
    assert mark(once, [UNKNOWN]) == once
    assert mark("E11.99", []) == "E11.99"


# --- check: against the real catalog ------------------------------------------------------


@pytest.mark.usefixtures("catalog_loaded")
class TestAgainstTheCatalog:
    async def test_unknown_billable_and_header_codes(self) -> None:
        flags = await check("Use E11.9, not E11.99; E11 alone is a category.")
        assert {(f.code, f.problem, f.system) for f in flags} == {
            ("E11.99", "unknown", "icd-10-cm"),
            ("E11", "not billable", "icd-10-cm"),
        }
        assert all(f.note for f in flags)

    async def test_a_valid_code_passes(self) -> None:
        assert await check("E11.9 is billable; so is E119 and S93.402A.") == ()

    async def test_a_code_needing_its_seventh_character(self) -> None:
        [flag] = await check("Report S93.402 for the sprain.")
        assert (flag.code, flag.problem) == ("S93.402", "not billable")
        assert "7th character" in flag.note

    async def test_trusted_codes_pass_without_a_lookup(self) -> None:
        assert (
            await check("E11 and E11.99", trusted={("icd-10-cm", "E11"), ("icd-10-cm", "E1199")})
            == ()
        )

    async def test_hcpcs_pcs_and_cpt_codes(self) -> None:
        assert await check("HCPCS J1100, G0439 and ICD-10-PCS 0FT44ZZ.") == ()
        [flag] = await check("HCPCS Z9999 is made up.")
        assert (flag.code, flag.problem, flag.system) == ("Z9999", "unknown", "hcpcs")
        # CPT without the AMA file: known from the fee schedule.
        assert await check("CPT 99213 for the visit.") == ()

    async def test_a_code_of_another_system_than_named(self) -> None:
        [flag] = await check("Report CPT J1100 for the injection.")
        assert (flag.code, flag.problem, flag.system) == ("J1100", "wrong system", "cpt")
        assert "HCPCS" in flag.note

    async def test_an_uncertain_number_is_never_unknown(self) -> None:
        assert await check("The claim had 12345 lines and vitamin B12 was low.") == ()


def test_icd9_codes_are_left_out() -> None:
    text = "ICD-9 code V58.67 and ICD-9-CM 250.00 map to ICD-10-CM Z79.4."
    assert [m.text for m in find_codes(text)] == ["Z79.4"]


async def test_a_code_a_tool_named_in_another_system_passes() -> None:
    # The crosswalk names ICD-9-CM V58.67; written without its system it looks like ICD-10-CM.
    assert (
        await check("| V58.67 | Z79.4 |", trusted={("icd-9-cm", "V5867"), ("icd-10-cm", "Z794")})
        == ()
    )


def test_an_ncci_pair_is_two_codes_and_a_site_path_none() -> None:
    assert _certain("The NCCI edit CPT 99213/36415 applies.") == ["99213", "36415"]
    assert _certain("Open /codes/icd-10-cm/E11.99 or /codes/cpt/99213.") == []
