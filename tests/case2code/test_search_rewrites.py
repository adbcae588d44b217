"""Phrases the catalog says two ways (search.rewrites): learnt from codes whose other name is
their title with one phrase swapped, applied to a query naming a code nobody wrote that way."""

from __future__ import annotations

import pytest

from features.case2code.search import rewrites, service
from features.case2code.search.index import SearchIndex
from features.case2code.search.text import STOPWORDS, stem, words
from tests.support.search_documents import document


def terms(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def pair(code: str, name: str, title: str) -> rewrites.Pair:
    return code, terms(name), [(stem(w), w) for w in words(title) if w not in STOPWORDS]


VESSELS = ("carotid artery", "vertebral artery", "femoral vein", "celiac artery")


MOOD_EXAMPLES = "with mood disturbance such as depression, apathy, or anhedonia"


def common(terms: frozenset[str]) -> int:
    """Codes holding every term: many (no phrase of these tests is one code's own)."""
    return 50


def dementias() -> list[tuple[str, str, str]]:
    """(code, title, inclusion term) of three dementias whose term adds examples to the title."""
    return [
        (
            f"F0{i}C3",
            f"{kind} dementia, severe, with mood disturbance",
            f"{kind} dementia, severe, {MOOD_EXAMPLES}",
        )
        for i, kind in enumerate(("Vascular", "Frontal", "Lewy"))
    ]


def all_rules(rules: dict[str, list[rewrites.Rewrite]]) -> list[rewrites.Rewrite]:
    return [rule for found in rules.values() for rule in found]


def test_a_swap_under_enough_codes_is_learnt_with_the_titles_words() -> None:
    pairs = [
        pair(f"S{i}", f"Traumatic rupture of {v}", f"Major laceration of {v}")
        for i, v in enumerate(VESSELS)
    ]
    rules = rewrites.learn(pairs, common)
    (rule,) = all_rules(rules)
    assert rule.source == frozenset(terms("traumatic rupture"))
    assert rule.target == ("major", "laceration")
    assert rule.codes == 4


def test_one_codes_wording_or_one_word_is_not_a_rule() -> None:
    one = [pair("S1", f"Traumatic rupture of {v}", f"Major laceration of {v}") for v in VESSELS]
    assert rewrites.learn(one, common) == {}  # four names, but under one code
    one_word = [
        pair(f"Q{i}", f"Atresia of {v}", f"Malformation of {v}") for i, v in enumerate(VESSELS)
    ]
    assert rewrites.learn(one_word, common) == {}  # a word alone is the learnt expansions' job


def test_a_phrase_only_one_code_says_is_learnt_from_that_code() -> None:
    one = [
        pair(
            "O225",
            "Cerebrovenous sinus thrombosis in pregnancy",
            "Cerebral venous thrombosis in pregnancy",
        )
    ]
    held = {frozenset(terms("cerebrovenous sinus")): 1}
    (rule,) = all_rules(rewrites.learn(one, lambda t: held.get(t, 50)))
    assert rule.source == frozenset(terms("cerebrovenous sinus"))
    assert rule.target == ("cerebral", "venous")
    # Said by many codes, the same swap under one code is that code's wording.
    assert rewrites.learn(one, common) == {}


def test_a_phrase_codes_add_to_their_title_is_learnt_as_an_elaboration() -> None:
    pairs = [pair(code, name, title) for code, title, name in dementias()]
    (rule,) = all_rules(rewrites.learn(pairs, common))
    assert rule.source == frozenset(terms("such as depression, apathy, or anhedonia"))
    assert rule.target == ()
    # Two words added ("common iliac vein") are a kind, not an elaboration.
    short = [
        pair(
            f"I8{i}", f"Thrombosis of common iliac vein {side}", f"Thrombosis of iliac vein {side}"
        )
        for i, side in enumerate(("left", "right", "bilateral"))
    ]
    assert rewrites.learn(short, common) == {}


def test_the_index_leaves_an_elaboration_out_of_a_query_that_says_more() -> None:
    documents = [document(code, title, name) for code, title, name in dementias()]
    documents.append(document("F03C3", "Unspecified dementia, severe, with mood disturbance"))
    documents.append(
        document("F329", "Major depressive disorder, single episode", "Depression NOS")
    )
    index = SearchIndex.build(documents)
    result = index.search(f"Unspecified dementia, severe, {MOOD_EXAMPLES}", limit=3)
    assert result.hits[0].code == "F03C3", result.hits
    # Said alone, the words are the query.
    assert index.search("depression apathy anhedonia such as", limit=1).hits[0].code != "F03C3"


def test_an_inconsistent_swap_is_not_a_rule() -> None:
    pairs = [
        pair("A1", "Traumatic rupture of carotid artery", "Major laceration of carotid artery"),
        pair("A2", "Traumatic rupture of celiac artery", "Major laceration of celiac artery"),
        pair("A3", "Traumatic rupture of renal artery", "Major laceration of renal artery"),
        *(
            pair(f"B{i}", f"Traumatic rupture of {j} ligament", f"Sprain of {j} ligament")
            for i, j in enumerate(("knee", "ankle", "hip", "wrist", "elbow"))
        ),
    ]
    found = [r.target for r in all_rules(rewrites.learn(pairs, common))]
    assert found == [("sprain",)]  # 5 of 8 names say "sprain"; "major laceration" 3 of 8


def test_find_applies_the_longest_rules_without_overlap() -> None:
    rules = rewrites.learn(
        [
            pair(f"S{i}", f"Traumatic rupture of {v}", f"Major laceration of {v}")
            for i, v in enumerate(VESSELS)
        ],
        common,
    )
    query = terms("traumatic rupture of carotid artery")
    ((rule, at),) = rewrites.find(rules, query)
    assert rule.target == ("major", "laceration")
    assert at == [0, 1]
    assert rewrites.find(rules, terms("rupture of carotid artery")) == []
    assert rewrites.find(rules, [None, *terms("rupture carotid")]) == []


def test_the_index_finds_a_code_by_the_phrase_its_siblings_teach() -> None:
    documents = [
        document(f"S{i}", f"Major laceration of {v}", f"Traumatic rupture of {v}")
        for i, v in enumerate(VESSELS)
    ]
    documents += [
        document("S9", "Major laceration of popliteal artery"),  # no inclusion term
        document("S8", "Aneurysm of popliteal artery"),
        document("S7", "Minor laceration of popliteal artery"),
    ]
    index = SearchIndex.build(documents)
    result = index.search("traumatic rupture of popliteal artery", limit=3)
    assert result.hits[0].code == "S9"
    assert result.expansions["traumatic rupture"] == "major laceration"


@pytest.mark.usefixtures("search_ready")
async def test_the_catalog_teaches_its_own_swaps() -> None:
    index = await service.ready()
    learnt = {(" ".join(sorted(r.source)), " ".join(r.target)) for r in all_rules(index.rewrites)}
    stage4 = " ".join(
        sorted(terms("necrosis of soft tissues through to underlying muscle, tendon, or bone"))
    )
    assert (stage4, "stage 4") in learnt
    assert (" ".join(sorted(terms("complete transection"))), "major laceration") in learnt
    # The stage definitions run to nine words.
    stage3 = terms("full thickness skin loss involving damage or necrosis of subcutaneous tissue")
    assert (" ".join(sorted(set(stage3))), "stage 3") in learnt
