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


def test_a_swap_under_enough_codes_is_learnt_with_the_titles_words() -> None:
    pairs = [
        pair(f"S{i}", f"Traumatic rupture of {v}", f"Major laceration of {v}")
        for i, v in enumerate(VESSELS)
    ]
    rules = rewrites.learn(pairs)
    (rule,) = [r for found in rules.values() for r in found]
    assert rule.source == frozenset(terms("traumatic rupture"))
    assert rule.target == ("major", "laceration")
    assert rule.codes == 4


def test_one_codes_wording_or_one_word_is_not_a_rule() -> None:
    one = [pair("S1", f"Traumatic rupture of {v}", f"Major laceration of {v}") for v in VESSELS]
    assert rewrites.learn(one) == {}  # four names, but under one code
    one_word = [
        pair(f"Q{i}", f"Atresia of {v}", f"Malformation of {v}") for i, v in enumerate(VESSELS)
    ]
    assert rewrites.learn(one_word) == {}  # a word alone is the learnt expansions' job


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
    found = [r.target for rs in rewrites.learn(pairs).values() for r in rs]
    assert found == [("sprain",)]  # 5 of 8 names say "sprain"; "major laceration" 3 of 8


def test_find_applies_the_longest_rules_without_overlap() -> None:
    rules = rewrites.learn(
        [
            pair(f"S{i}", f"Traumatic rupture of {v}", f"Major laceration of {v}")
            for i, v in enumerate(VESSELS)
        ]
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
    learnt = {
        (" ".join(sorted(r.source)), " ".join(r.target))
        for found in index.rewrites.values()
        for r in found
    }
    stage4 = " ".join(
        sorted(terms("necrosis of soft tissues through to underlying muscle, tendon, or bone"))
    )
    assert (stage4, "stage 4") in learnt
    assert (" ".join(sorted(terms("complete transection"))), "major laceration") in learnt
