"""The dictionaries behind the search's fallback for words the catalog does not use: WordNet 3.0
and the Human Phenotype Ontology, read from their installed packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.case2code.search import lexicon, service
from features.case2code.search.text import STOPWORDS

KNOWN = frozenset(
    {"measles", "rubeola", "anemia", "cleft", "palate", "pericardial", "effusion"}
    | {"polyhydramnios"}
)


def known(word: str) -> int:
    """How many codes use the word: many for KNOWN, one for "hydramnios", none otherwise."""
    return 50 if word in KNOWN else 1 if word == "hydramnios" else 0


def test_both_dictionaries_are_installed() -> None:
    assert [label for label, _, _ in lexicon.sources()] == [
        "WordNet 3.0",
        "Human Phenotype Ontology",
    ]


def test_unknown_names_are_rewritten_into_known_ones() -> None:
    found = lexicon.synonyms(known)
    assert found[("morbilli",)] == [("measles",), ("rubeola",)]
    assert found[("anaemia",)] == [("anemia",)]  # British spelling
    assert found[("palatoschisis",)] == [("cleft", "palate")]
    # No synonym known: the parent term's name ("Chylopericardium" is a "Pericardial effusion").
    assert found[("chylopericardium",)] == [("pericardial", "effusion")]


def test_a_rare_name_keeps_itself_first() -> None:
    assert lexicon.synonyms(known)[("hydramnios",)] == [("hydramnios",), ("polyhydramnios",)]


def test_known_words_are_never_rewritten() -> None:
    found = lexicon.synonyms(known)
    assert ("measles",) not in found
    assert ("anemia",) not in found
    # A rewrite needs every word of the new name known.
    assert all(
        all(known(w) or w in STOPWORDS for w in name) for names in found.values() for name in names
    )


def test_common_words_never_said_together_are_rewritten_into_a_name_the_catalog_says() -> None:
    words_known = {"river", "blindness", "onchocerciasis", "reactive", "arthritis", "reiter"}
    said = {("onchocerciasis",)}

    def frequency(word: str) -> int:
        return 50 if word in words_known else 0

    def holding(name: tuple[str, ...]) -> int:
        return 1 if tuple(w for w in name if w not in STOPWORDS) in said else 0

    found = lexicon.synonyms(frequency, holding)
    # WordNet: "onchocerciasis, river blindness"; the catalog says the one, never the other.
    assert found[("river", "blindness")] == [("river", "blindness"), ("onchocerciasis",)]
    assert ("onchocerciasis",) not in found  # the catalog's own name
    # A name the catalog says is never rewritten, nor into one it does not say.
    said.add(("river", "blindness"))
    assert ("river", "blindness") not in lexicon.synonyms(frequency, holding)
    said.clear()
    assert ("river", "blindness") not in lexicon.synonyms(frequency, holding)


def test_a_name_with_no_synonym_searches_for_what_it_is_a_kind_of() -> None:
    """WordNet: "grandson" has no synonym; it is a kind of "grandchild"."""

    def frequency(word: str) -> int:
        return 50 if word in KNOWN | {"grandchild", "contagious", "disease"} else 0

    found = lexicon.synonyms(frequency)
    assert found[("grandson",)] == [("grandchild",)]
    # A name with a synonym keeps to it: measles is also a "contagious disease".
    assert found[("morbilli",)] == [("measles",), ("rubeola",)]


def test_names_are_rewritten_only_into_names_a_code_says() -> None:
    """HPO: "Micropenis" is also "short penis" and "small penis", which no code says; it is a
    kind of "Hypoplasia of penis", which one does."""
    words_known = {"short", "small", "penis", "hypoplasia"}

    def frequency(word: str) -> int:
        return 50 if word in words_known else 0

    def holding(name: tuple[str, ...]) -> int:
        return 1 if tuple(w for w in name if w not in STOPWORDS) == ("hypoplasia", "penis") else 0

    assert lexicon.synonyms(frequency, holding)[("micropenis",)] == [("hypoplasia", "of", "penis")]
    # Said by a code, the synonyms come first again.
    assert lexicon.synonyms(frequency)[("micropenis",)][0] in {
        ("short", "penis"),
        ("small", "penis"),
    }


def test_the_wordnet_reader_gives_each_set_its_hypernyms_names(tmp_path: Path) -> None:
    noun = tmp_path / "data.noun"
    noun.write_text(
        "  1 This software and database is being provided\n"
        "00000001 03 n 01 entity 0 000 | that which exists\n"
        "00000002 18 n 02 grandchild 0 grandkid 0 001 @ 00000001 n 0000 | a child of a child\n"
        "00000003 18 n 01 grandson 0 002 @ 00000002 n 0000 ~ 00000001 n 0000 | a male one\n"
        "00000004 31 n 01 idea 0 001 @ 00000001 n 0000 | a thought\n",
        encoding="latin-1",
    )
    # The person sets are read, with the names of the sets they point to as hypernyms ("@",
    # not the "~" hyponym pointer), even a set of a file not read (03, the top nouns).
    assert list(lexicon.wordnet_sets(noun)) == [
        (["grandchild", "grandkid"], ["entity"]),
        (["grandson"], ["grandchild", "grandkid"]),
    ]


def test_the_obo_reader_skips_obsolete_terms_and_keeps_exact_synonyms(tmp_path: Path) -> None:
    obo = tmp_path / "t.obo"
    obo.write_text(
        "format-version: 1.2\n\n"
        "[Term]\nid: HP:1\nname: Parent thing\n\n"
        '[Term]\nid: HP:2\nname: Child thing\nsynonym: "Kid thing" EXACT []\n'
        'synonym: "Near thing" RELATED []\nis_a: HP:1 ! Parent thing\n\n'
        "[Term]\nid: HP:3\nname: Old thing\nis_obsolete: true\n\n"
        "[Typedef]\nid: part_of\nname: part of\n",
        encoding="utf-8",
    )
    assert list(lexicon.hpo_sets(obo)) == [
        (["Parent thing"], []),
        (["Child thing", "Kid thing"], ["Parent thing"]),
    ]


@pytest.mark.usefixtures("search_ready")
@pytest.mark.parametrize(
    ("typed", "expected"),
    # Words no code text uses (the catalog has "measles, rubeola, morbilli" already).
    [
        ("anaemia", "D64.9"),
        ("oesophagitis", "K20.9"),
        ("stammering", "F80.81"),
        # Common words the catalog never says together.
        ("tail bone", "S32.2"),
        ("tear sac", "H04.5"),
        # No synonym: what WordNet says it is a kind of ("grandchild").
        ("grandson perpetrator of neglect", "Y07.45"),
    ],
)
async def test_search_finds_codes_through_the_dictionaries(typed: str, expected: str) -> None:
    result = await service.search(typed, limit=5)
    found = [h.display for h in result.hits]
    assert any(code.startswith(expected) for code in found), found
    assert result.expansions  # the page says what the word was read as


@pytest.mark.usefixtures("search_ready")
async def test_long_measure_descriptors_do_not_bury_the_diagnosis() -> None:
    """HCPCS quality-measure codes run to hundreds of words and name many conditions; a coder
    typing a condition wants its ICD-10-CM code first."""
    result = await service.search("lung cancer", limit=3)
    assert [h.system for h in result.hits] == ["icd-10-cm"] * 3, result.hits
    assert result.hits[0].display.startswith("C34")


@pytest.mark.usefixtures("search_ready")
async def test_a_code_is_also_found_by_the_names_icd9_gave_it() -> None:
    """The GEMs pair H05.221 with ICD-9-CM 376.33 "Orbital edema or congestion": a coder who
    learnt that name finds the code though no ICD-10-CM text says "congestion"."""
    from features.case2code.search.documents import ICD9, load_documents

    docs = {d.code: d for d in await load_documents() if d.system == "icd-10-cm"}
    assert (ICD9, "Orbital edema or congestion") in docs["H05221"].texts
    # Too broad an ICD-9-CM code names none of its many targets: 428.0 "Congestive heart
    # failure, unspecified" pairs with 13 codes of I50.
    assert all(t != "Congestive heart failure, unspecified" for _, t in docs["I509"].texts)
    result = await service.search("orbital congestion", limit=5)
    assert any(h.display.startswith("H05.22") for h in result.hits), result.hits
