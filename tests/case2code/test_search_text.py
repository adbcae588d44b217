"""How search reads words and codes: normalising, stemming, code detection, abbreviations."""

from __future__ import annotations

import pytest

from features.case2code.search.synonyms import CURATED, curated, harvest
from features.case2code.search.text import (
    code_key,
    derivation_keys,
    fold,
    laterality,
    mark,
    stem,
    tokens,
)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("e11.2", "E112"),
        ("E112", "E112"),
        (" E11.9 ", "E119"),
        ("j18", "J18"),
        ("0FT4", "0FT4"),
        ("0dtj4zz", "0DTJ4ZZ"),
        ("S93.402A", "S93402A"),
        ("j1100", "J1100"),
        ("99213", "99213"),
    ],
)
def test_codes_are_read_with_or_without_the_dot_in_any_case(typed: str, key: str) -> None:
    assert code_key(typed) == key


@pytest.mark.parametrize("typed", ["flu", "copd", "type 2", "heart attack", "", "   ", "e11 9x"])
def test_words_are_not_codes(typed: str) -> None:
    assert code_key(typed) is None


def test_folding_and_stemming_meet_in_the_middle() -> None:
    assert fold("Crohn’s DISEASE, Ménière") == "crohn disease, meniere"
    assert stem("fractures") == stem("fracture") == stem("fractured") == "fracture"
    assert stem("kidneys") == "kidney"
    assert stem("injuries") == "injury"
    assert stem("infected") == "infect"
    # Latin and Greek endings stay whole: "diagnosis" is not "diagnosi" by accident only.
    assert stem("diagnosis") == "diagnosis" and stem("virus") == "virus"
    assert tokens("Sprain of the left ankle, initial encounter") == [
        "sprain",
        "left",
        "ankle",
        "initial",
        "encounter",
    ]


def test_curated_abbreviations_and_lay_words() -> None:
    table = curated()
    assert ("type", "2", "diabetes", "mellitus") in table[("dm2",)]
    assert ("myocardial", "infarction") in table[("heart", "attack")]
    for abbreviation in ("htn", "ckd", "copd", "chf", "afib", "uti", "gerd", "bph"):
        assert abbreviation in CURATED


def test_abbreviations_are_harvested_only_when_the_initials_spell_them() -> None:
    found = harvest(
        [
            "Human immunodeficiency virus [HIV] disease",
            "Chronic obstructive pulmonary disease (COPD)",
            "Group A shigellosis [Shiga-Kruse dysentery]",  # not an abbreviation
            "Pneumonia due to other specified organism (ABC)",  # initials do not match
        ]
    )
    assert found == {
        ("hiv",): [("human", "immunodeficiency", "virus")],
        ("copd",): [("chronic", "obstructive", "pulmonary", "disease")],
    }


@pytest.mark.parametrize(
    ("title", "side"),
    [
        ("Pain in left knee", "left"),
        ("Sprain of unspecified ligament of right ankle", "right"),
        ("Bilateral primary osteoarthritis of knee", "bilateral"),
        ("Pain in unspecified knee", "unspecified side"),
        ("Essential (primary) hypertension", None),
    ],
)
def test_laterality_is_read_from_the_title(title: str, side: str | None) -> None:
    assert laterality(title) == side


def test_matched_words_are_marked_and_the_rest_escaped() -> None:
    html = mark("Pneumonia <due> to Streptococcus & pneumoniae", frozenset({"pneumonia"}))
    assert str(html) == ("<mark>Pneumonia</mark> &lt;due&gt; to Streptococcus &amp; pneumoniae")
    assert str(mark("Fractures of wrist", frozenset({"fracture"}))) == (
        "<mark>Fractures</mark> of wrist"
    )


def test_notes_that_name_other_codes_are_read_as_names_for_them() -> None:
    from features.case2code.search.documents import references

    assert references("tuberculous enteritis (A18.32)") == ("tuberculous enteritis", ["A1832"])
    assert references("gestational diabetes (O24.4-)") == ("gestational diabetes", ["O244"])
    assert references("bacterial foodborne intoxications, NEC (A05.-)")[1] == ["A05"]
    assert references("influenza with involvement of gastrointestinal tract (J09.X3, J10.2)") == (
        "influenza with involvement of gastrointestinal tract",
        ["J09X3", "J102"],
    )
    assert references("Escherichia coli infection (A04.0-A04.4)")[1] == []  # a range
    assert references("code to identify control using:") == ("", [])


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("neurosis", "neurotic"),
        ("tuberculosis", "tuberculous"),
        ("depression", "depressive"),
        ("anemia", "anemic"),
        ("atrophy", "atrophic"),
        ("arthritis", "arthritic"),
        ("perforation", "perforate"),
        ("infection", "infect"),
    ],
)
def test_derivational_variants_share_a_key(one: str, other: str) -> None:
    assert set(derivation_keys(one)) & set(derivation_keys(other))


@pytest.mark.parametrize(("one", "other"), [("organ", "organic"), ("duct", "duction")])
def test_unrelated_or_short_words_do_not(one: str, other: str) -> None:
    assert not set(derivation_keys(one)) & set(derivation_keys(other))
