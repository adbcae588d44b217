"""The search index over hand-made documents: behaviours that need a code set small enough to
reason about, and what the index learns from the imported catalog."""

from __future__ import annotations

import pytest

from features.case2code.search import service
from features.case2code.search.documents import Document
from features.case2code.search.index import SearchIndex
from features.case2code.search.text import stem
from tests.support.search_documents import document

COLUMNS = {
    "1": "accidental (unintentional)",
    "2": "intentional self-harm",
    "3": "assault",
    "4": "undetermined",
}


def poisoning_family(code: str, drug_class: str, drug: str) -> list[Document]:
    """A Table of Drugs class: its parent and one code per column, the drug indexed under the
    poisoning columns and the adverse effect code naming only the class."""
    family = [document(code, f"Poisoning by {drug_class}", billable=False)]
    for digit, column in COLUMNS.items():
        family.append(
            document(
                f"{code}X{digit}",
                f"Poisoning by {drug_class}, {column}",
                parent=code,
                entries=(f"{drug} poisoning {column}",),
            )
        )
    family.append(document(f"{code}X5", f"Adverse effect of {drug_class}", parent=code))
    return family


def test_a_drug_is_found_under_the_column_its_row_leaves_to_its_siblings() -> None:
    documents = [
        *poisoning_family("T428", "other central muscle-tone depressants", "methocarbamol"),
        # The drug under another class too, in the adverse effect column: a full match.
        document(
            "T481X5",
            "Adverse effect of skeletal muscle relaxants",
            entries=("methocarbamol skeletal muscle relaxant adverse effect",),
        ),
        *(document(f"T50{i}X5", f"Adverse effect of drug {i}") for i in range(9)),
    ]
    index = SearchIndex.build(documents)
    found = [h.code for h in index.search("methocarbamol adverse effect", limit=5).hits]
    assert found[:2] == ["T481X5", "T428X5"], found


@pytest.mark.usefixtures("search_ready")
async def test_neoplasm_table_rows_teach_what_a_site_is_called_in_titles() -> None:
    index = await service.ready()
    learnt = index.expansions[index.term_ids[stem("epicardium")]]
    assert index.term_ids[stem("heart")] in {t for t, _ in learnt}


def test_a_kind_the_codes_do_not_name_goes_to_the_other_code() -> None:
    documents = [
        document("N832", "Other and unspecified ovarian cysts", billable=False),
        document("N8320", "Unspecified ovarian cysts", parent="N832"),
        document("N8329", "Other ovarian cysts", "Simple cyst of ovary", parent="N832"),
        document("N8300", "Follicular cyst of ovary, unspecified side"),
        document("K116", "Mucocele of salivary gland", "Retention cyst of salivary gland"),
        # More than one code's phrase, as in the catalog: no code's own wording to learn.
        document("N602", "Fibroadenosis of breast", "Retention cyst of breast"),
        document("N281", "Acquired cyst of kidney", "Retention cyst of kidney"),
    ]
    index = SearchIndex.build(documents)
    assert index.search("retention cyst of ovary", limit=3).hits[0].code == "N8329"
    # Named, the kind is found; unnamed and bare, the unspecified code is the default.
    assert index.search("follicular cyst of ovary", limit=1).hits[0].code == "N8300"
    assert index.search("ovarian cyst", limit=1).hits[0].code == "N8320"


def test_a_word_no_code_has_sends_a_full_match_to_the_other_code() -> None:
    documents = [
        document("F200", "Paranoid schizophrenia"),
        document("F202", "Catatonic schizophrenia"),
        document("F2089", "Other schizophrenia", "Simple schizophrenia"),
        document("F209", "Schizophrenia, unspecified"),
    ]
    index = SearchIndex.build(documents)
    result = index.search("cenesthopathic schizophrenia", limit=2)
    assert result.hits[0].code == "F2089", result.hits
    assert result.partial  # the page says a word was not found
    assert index.search("schizophrenia", limit=1).hits[0].code == "F209"


def test_a_condition_named_comes_before_a_condition_with_it() -> None:
    documents = [
        document("G20B1", "Parkinson's disease with dyskinesia, without fluctuations"),
        document("G2401", "Drug induced subacute dyskinesia"),
        document("G20A1", "Parkinson's disease without dyskinesia, without fluctuations"),
    ]
    index = SearchIndex.build(documents)
    assert [h.code for h in index.search("dyskinesia", limit=3).hits][:2] == ["G2401", "G20B1"]
    # Said with its condition, the qualified code is the match.
    assert index.search("parkinson disease dyskinesia", limit=1).hits[0].code == "G20B1"


def test_a_heading_shadowed_by_its_unspecified_child_comes_after_the_other_codes() -> None:
    documents = [
        document("O87", "Venous complications in the puerperium", billable=False),
        document("O879", "Venous complication in the puerperium, unspecified", parent="O87"),
        document("O873", "Cerebral venous thrombosis in the puerperium", parent="O87"),
        document("O871", "Deep phlebothrombosis in the puerperium", parent="O87"),
    ]
    index = SearchIndex.build(documents)
    found = [h.code for h in index.search("venous complication puerperium", limit=4).hits]
    # The child says what the heading says, and can be reported: the heading waits.
    assert found[0] == "O879" and found[-1] == "O87", found


def test_a_headings_default_child_is_its_unspecified_value_or_its_own_title() -> None:
    documents = [
        document("H5341", "Scotoma involving central area", billable=False),
        *(
            document(f"H5341{digit}", f"Scotoma involving central area, {side}", parent="H5341")
            for digit, side in (("1", "right eye"), ("2", "left eye"), ("9", "unspecified eye"))
        ),
        document("Y074", "Other family member, perpetrator of neglect", billable=False),
        document("Y0741", "Sibling, perpetrator of neglect", parent="Y074", billable=False),
        document(
            "Y0749", "Other family member, perpetrator of neglect", parent="Y074", billable=False
        ),
        document("Y07499", "Other family member, perpetrator of neglect", parent="Y0749"),
        document("Y07491", "Cousin, perpetrator of neglect", parent="Y0749"),
    ]
    index = SearchIndex.build(documents)

    def default(code: str) -> str | None:
        child = int(index.default_child[index.codes.index(code)])
        return index.codes[child] if child >= 0 else None

    assert default("H5341") == "H53419"  # the unspecified side
    assert default("Y074") == "Y07499"  # through the heading that says the same
    assert default("Y0741") is None


def test_a_word_only_one_code_uses_teaches_its_title_words() -> None:
    documents = [
        document("A771", "Spotted fever due to Rickettsia conorii", "Boutonneuse fever"),
        document("A920", "Chikungunya virus disease", "Chikungunya fever"),
        *(document(f"R50{i}", f"Fever of kind {i}", f"Pyrexia of kind {i}") for i in range(3)),
        *(document(f"T{i}", f"Unrelated title {i}") for i in range(8)),
    ]
    index = SearchIndex.build(documents)
    learnt = {index.terms[t] for t, _ in index.expansions[index.term_ids[stem("boutonneuse")]]}
    assert learnt & {stem("rickettsia"), stem("conorii"), stem("spotted")}, learnt
    assert index.search("boutonneuse", limit=1).hits[0].code == "A771"


def test_a_phrase_a_dictionary_knows_is_not_misspelt() -> None:
    # "natal" is one letter from "nasal", a word of the lay list; "natal tooth" is the
    # Human Phenotype Ontology's name for a neonatal tooth.
    documents = [
        document("K006", "Disturbances in tooth eruption", "Neonatal teeth"),
        document("J3300", "Polyp of nasal cavity"),
        document("K08109", "Complete loss of teeth, unspecified cause"),
    ]
    index = SearchIndex.build(documents)
    result = index.search("natal tooth", limit=3)
    assert "natal" not in result.corrections
    assert result.expansions["natal tooth"] == "neonatal teeth"
    assert result.hits[0].code == "K006"


def test_holding_counts_the_codes_whose_texts_hold_every_word() -> None:
    documents = [
        document("H0451", "Dacryops of lacrimal sac"),
        document("H0452", "Stenosis of lacrimal punctum"),
        document("H0453", "Mucocele of lacrimal sac", "Tear sac mucocele"),
        document("L000", "Blister of skin"),
    ]
    index = SearchIndex.build(documents)

    def holding(*words: str) -> int:
        return index._holding(frozenset(stem(w) for w in words))

    assert holding("lacrimal") == 3
    assert holding("lacrimal", "sac") == 2
    assert holding("tear", "sac") == 1  # an inclusion term is a text of its code
    assert holding("lacrimal", "blister") == 0
    assert holding("coccyx") == 0  # a word no code has
    assert holding() == 0  # a name of stopwords only
