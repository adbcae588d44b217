"""Medical words read from their parts when the catalog does not use them."""

from __future__ import annotations

import pytest

from features.case2code.search import service
from features.case2code.search.wordparts import decompose

KNOWN = frozenset(
    {"kidney", "resection", "excision", "larynx", "paralysis", "hypoplasia", "penis", "stenosis"}
    | {"intestine", "obstruction", "cerebral", "venous", "spleen", "pyothorax"}
    | {"encephalocele"}
)


def known(word: str) -> bool:
    return word in KNOWN


@pytest.mark.parametrize(
    ("word", "names"),
    [
        ("nephrectomy", [("kidney", "resection"), ("kidney", "excision")]),
        ("laryngoplegia", [("larynx", "paralysis")]),
        ("micropenis", [("hypoplasia", "penis")]),  # a combining form and a known word
        ("cerebrovenous", [("cerebral", "venous")]),
        ("enterostenosis", [("intestine", "stenosis"), ("intestine", "obstruction")]),
        # one combining form left out: the kind of thing the word is
        ("pyopneumothorax", [("pyothorax",)]),
        ("encephalomyelocele", [("encephalocele",)]),
    ],
)
def test_words_come_apart_into_known_names(word: str, names: list[tuple[str, ...]]) -> None:
    assert decompose(word, known) == names


@pytest.mark.parametrize("word", ["pneumonia", "colic", "hepatectomy", "xyzectomy"])
def test_other_words_do_not(word: str) -> None:
    # "hepatectomy" comes apart, but "liver" is not a known word here.
    assert decompose(word, known) == []


@pytest.mark.usefixtures("search_ready")
async def test_search_reads_a_procedure_word_from_its_parts() -> None:
    result = await service.search("laparoscopic splenectomy", limit=3)
    assert result.hits[0].display == "07TP4ZZ", result.hits  # Resection of Spleen, Perc Endo
    assert result.expansions["splenectomy"].startswith("spleen resection")
    assert not result.corrections  # not "splenectomy" read as a misspelling
