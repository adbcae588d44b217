"""Search over the real catalog (every code set imported into this run's PostgreSQL): ranking
the way a coder expects, abbreviations, typos, filters and the 7th character."""

from __future__ import annotations

import pytest

from features.case2code.search import service
from features.case2code.search.hits import SearchQueryError

pytestmark = pytest.mark.usefixtures("search_ready")


async def codes(query: str, n: int = 5, **filters: object) -> list[str]:
    result = await service.search(query, limit=n, **filters)  # type: ignore[arg-type]
    return [h.display for h in result.hits]


@pytest.mark.parametrize("typed", ["E11.9", "e119", "E119", "e11.9"])
async def test_an_exact_code_comes_first_however_typed(typed: str) -> None:
    result = await service.search(typed)
    assert result.mode == "code"
    assert result.hits[0].display == "E11.9"


async def test_a_code_prefix_lists_the_code_then_its_children_in_order() -> None:
    assert await codes("e11.2") == ["E11.2", "E11.21", "E11.22", "E11.29"]
    assert (await codes("j18"))[:2] == ["J18", "J18.0"]
    pcs = await codes("0FT4", n=10)
    assert pcs and all(c.startswith("0FT4") for c in pcs)
    assert (await codes("S93.402A"))[0] == "S93.402A"
    assert (await codes("j1100"))[0] == "J1100"


async def test_words_in_any_order_find_the_same_code() -> None:
    assert (await codes("type 2 diabetes"))[0] == (await codes("diabetes type 2"))[0] == "E11.9"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("htn", "I10"),
        ("high blood pressure", "I10"),
        ("dm2", "E11.9"),
        ("ckd", "N18.9"),
        ("copd", "J44.9"),
        ("chf", "I50.9"),
        ("afib", "I48.91"),
        ("uti", "N39.0"),
        ("gerd", "K21.9"),
        ("pneumonia", "J18.9"),
        ("chest pain", "R07.9"),
    ],
)
async def test_abbreviations_lay_words_and_bare_conditions_land_on_the_default_code(
    typed: str, expected: str
) -> None:
    found = await codes(typed, n=3)
    assert expected in found, found


async def test_lay_phrases_reach_the_clinical_titles() -> None:
    assert any(c.startswith("I21") for c in await codes("heart attack", n=3))
    assert any(c.startswith("E78") for c in await codes("high cholesterol", n=3))
    assert any(c.startswith(("S62", "S52.5")) for c in await codes("broken wrist", n=5))
    result = await service.search("bph", limit=3)
    assert result.expansions["bph"] == "benign prostatic hyperplasia"
    assert all(h.display.startswith("N40") for h in result.hits)


async def test_a_typo_is_corrected_and_said() -> None:
    result = await service.search("pnuemonia", limit=3)
    assert result.corrections == {"pnuemonia": "pneumonia"}
    assert result.hits[0].display == "J18.9"
    assert (await codes("hypertention", n=3))[0] == "I10"


async def test_billable_codes_come_before_headings_with_the_same_title() -> None:
    found = await codes("pneumonia unspecified organism", n=10)
    assert found[0] == "J18.9"
    assert "J18" not in found or found.index("J18") > found.index("J18.9")


@pytest.mark.parametrize(
    ("typed", "default", "heading"),
    [("right heart failure", "I50.810", "I50.81"), ("type 2 diabetes mellitus", "E11.9", "E11")],
)
async def test_a_headings_unspecified_child_takes_its_place(
    typed: str, default: str, heading: str
) -> None:
    found = await codes(typed, n=10)
    assert default in found, found
    assert heading not in found or found.index(default) < found.index(heading)


async def test_a_query_missing_in_every_code_still_finds_the_codes_with_its_rarest_words() -> None:
    # No code says all of "alpha thalassemia triple mutation": the alpha thalassemia code,
    # which says the rarest words, comes first, marked as a partial match.
    result = await service.search("alpha thalassemia triple mutation", limit=5)
    assert result.partial
    assert result.hits and result.hits[0].display == "D56.0", result.hits


async def test_history_and_screening_codes_only_when_the_query_says_so() -> None:
    bare = await service.search("osteoporosis", limit=5)
    assert not any(h.code.startswith("Z") for h in bare.hits), bare.hits
    asked = await codes("osteoporosis family history", n=1)
    assert asked == ["Z82.62"]


async def test_a_secondary_neoplasm_only_when_the_query_says_so() -> None:
    primary = await codes("lung cancer", n=8)
    assert primary[0].startswith("C34") and not any(c.startswith("C78") for c in primary)
    assert (await codes("metastatic lung cancer", n=1))[0].startswith("C78.0")


async def test_seventh_character_codes_fold_into_their_parent_unless_asked_for() -> None:
    plain = await service.search("sprain left ankle", limit=10)
    assert plain.hits[0].display == "S93.402"
    assert plain.hits[0].needs_seventh and not plain.hits[0].billable
    assert not any(len(h.code) == 7 and h.code.startswith("S93") for h in plain.hits)
    asked = await service.search("sprain left ankle initial encounter", limit=3)
    assert asked.hits[0].display == "S93.402A" and asked.hits[0].billable
    assert asked.hits[0].laterality == "left"


async def test_index_table_terms_find_their_codes() -> None:
    assert (await codes("acetaminophen poisoning accidental", n=3))[0] == "T39.1X1"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # The row "Methocarbamol" (T42.8X), not its subterm "..., skeletal muscle relaxant".
        ("methocarbamol adverse effect", "T42.8X5"),
        # "Cort-Dome topical" (T49.0X) over rows that share its words across entries.
        ("cort-dome topical adverse effect", "T49.0X5"),
        ("adhesive poisoning intentional self-harm", "T65.892"),
    ],
)
async def test_the_index_entry_said_whole_comes_first(typed: str, expected: str) -> None:
    assert (await codes(typed, n=3))[0] == expected


@pytest.mark.parametrize("typed", ["acetaminophen poisoning", "carbon monoxide poisoning"])
async def test_a_poisoning_of_no_stated_intent_is_accidental(typed: str) -> None:
    """Guideline I.C.19.e.5(b): with the intent unknown, the accidental code."""
    found = await service.search(typed, limit=3)
    assert "accidental (unintentional)" in found.hits[0].title.lower(), found.hits


async def test_filters_system_billable_and_chapter() -> None:
    hcpcs = await service.search("wheelchair", system="hcpcs", limit=20)
    assert hcpcs.hits and {h.system for h in hcpcs.hits} == {"hcpcs"}
    billable = await service.search("diabetes", billable_only=True, limit=30)
    assert billable.hits and all(h.billable for h in billable.hits)
    respiratory = await service.search("infection", chapter="10", limit=30)
    assert respiratory.hits and {h.chapter for h in respiratory.hits} == {"10"}
    assert all(h.display.startswith("J") for h in respiratory.hits)


async def test_results_mark_the_matched_words_and_carry_what_saves_a_click() -> None:
    hit = (await service.search("pneumonia", limit=1)).hits[0]
    assert "<mark>Pneumonia</mark>" in hit.title_html
    assert hit.release == "ICD-10-CM FY2026, April 1 2026 update"
    e11 = (await service.search("E11.9", limit=1)).hits[0]
    assert any("E11.A" in note for note in e11.excludes1)  # its own Excludes1 note
    assert any("type 1 diabetes" in note for note in e11.excludes1)  # inherited from E11


async def test_no_result_and_partial_matches_are_said() -> None:
    nothing = await service.search("qwzxv", limit=5)
    assert nothing.hits == [] and nothing.total == 0
    partial = await service.search("pneumonia qwzxvbn", limit=5)
    assert partial.partial and partial.hits


@pytest.mark.parametrize(
    ("query", "kwargs", "message"),
    [
        ("", {}, "Type a code or some words"),
        ("   ", {}, "Type a code or some words"),
        ("x" * 201, {}, "the limit is 200"),
        ("asthma", {"system": "icd-11"}, "Unknown code system"),
        ("asthma", {"limit": 0}, "between 1 and 100"),
        ("asthma", {"limit": 101}, "between 1 and 100"),
    ],
)
async def test_bad_queries_are_refused_with_a_message(
    query: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(SearchQueryError, match=message):
        await service.search(query, **kwargs)  # type: ignore[arg-type]


async def test_a_repeated_query_is_answered_from_the_result_cache() -> None:
    first = await service.search("heart attack", limit=7)
    again = await service.search("heart attack", limit=7)
    other = await service.search("heart attack", limit=8)
    assert again is first  # the same answer object: nothing searched again
    assert other is not first and [h.code for h in other.hits[:7]] == [h.code for h in first.hits]
    whole = await service.search("pneumo", limit=5, complete=False)
    typed = await service.search("pneumo", limit=5)
    assert whole is not typed


async def test_a_code_among_words_is_searched_as_its_title() -> None:
    result = await service.search("family history of C50.9", limit=3)
    assert result.hits[0].display == "Z80.3"
    assert result.expansions["C50.9"] == "Malignant neoplasm of breast of unspecified site"


@pytest.mark.parametrize(
    ("typed", "token"), [("p53 mutation", "p53"), ("history of K00-K93", "K00"), ("a1c 7.5", "a1c")]
)
async def test_words_that_only_look_like_codes_stay_words(typed: str, token: str) -> None:
    result = await service.search(typed, limit=3)
    assert result.mode == "words"
    assert not any(key.startswith(token) for key in result.expansions), result.expansions


async def test_sequelae_and_manifestations_wait_until_the_query_names_their_cause() -> None:
    # I69.-: "following" a stroke; R47.82: in a disease coded first. A bare condition is
    # neither.
    assert set(await codes("fluency disorder", n=2)) == {"F98.5", "F80.81"}
    assert (await codes("dysphagia following stroke", n=1)) == ["I69.391"]
    assert (await codes("fluency disorder following cerebral infarction", n=1)) == ["I69.323"]


async def test_a_word_is_never_corrected_into_its_opposite() -> None:
    # "hypohidrosis" is two edits from "hyperhidrosis", the opposite condition.
    result = await service.search("hypohidrosis")
    assert "hyperhidrosis" not in result.corrections.values()
    assert not any("hyperhidrosis" in hit.title.lower() for hit in result.hits)
    assert (await service.search("hypertention")).corrections == {"hypertention": "hypertension"}
