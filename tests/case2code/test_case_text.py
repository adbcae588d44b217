"""Case text: clauses, problem phrases, NegEx-style status, side and encounter (no database)."""

from __future__ import annotations

import pytest

from features.case2code.case_text import (
    MAX_NOTE_CHARS,
    CaseText,
    NoteError,
    Problem,
    Status,
    analyse,
    check_note,
)


def problems(note: str) -> list[tuple[str, str]]:
    """(status, query) of each problem, in note order."""
    return [(p.status.value, p.query) for p in analyse(note).problems]


def only(note: str) -> Problem:
    found = analyse(note).problems
    assert len(found) == 1, [(p.status.value, p.query) for p in found]
    return found[0]


# --- splitting ---------------------------------------------------------------------------------


def test_the_brief_note_splits_into_its_problems() -> None:
    note = (
        "58 y/o with HTN and DM2 with CKD stage 3. Denies chest pain. "
        "Fell on L wrist, initial visit, x-ray shows fracture."
    )
    assert problems(note) == [
        ("confirmed", "HTN"),
        ("confirmed", "DM2 with CKD stage 3"),  # "with" keeps a combination together
        ("negated", "chest pain"),
        ("confirmed", "left wrist fracture"),  # the finding joins its body part
    ]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("HTN; asthma", ["HTN", "asthma"]),
        ("HTN\nasthma\n\nGERD", ["HTN", "asthma", "GERD"]),
        (
            "- HTN\n* asthma\n• GERD\n1. gout\n2) obesity",
            ["HTN", "asthma", "GERD", "gout", "obesity"],
        ),
        ("HTN, asthma and GERD.", ["HTN", "asthma", "GERD"]),
        ("Asthma. Obesity! Gout? ", ["Asthma", "Obesity", "Gout"]),
        ("dm2 w/ ckd, htn", ["dm2 with ckd", "htn"]),
        ("Type 2 diabetes with diabetic neuropathy", ["Type 2 diabetes with diabetic neuropathy"]),
        ("Nausea and vomiting x 3 days", ["Nausea vomiting"]),  # one problem, not two
        ("Pt is a 72-year-old female presents with osteoarthritis", ["osteoarthritis"]),
        ("E11.9 noted. Temp 38.5 today.", ["E11.9", "Temp 38.5"]),  # a decimal is no sentence end
    ],
)
def test_clauses_and_problem_phrases(note: str, expected: list[str]) -> None:
    assert [q for _, q in problems(note)] == expected


def test_a_heading_is_not_a_problem_and_list_sections_are_skipped() -> None:
    note = (
        "Assessment:\n1. HTN, stable\n2. Type 2 diabetes with CKD\n"
        "Plan:\n- start lisinopril 10 mg daily\n- f/u in 2 weeks\n"
        "Meds: metformin 500 mg bid\n"
        "Dx: asthma"
    )
    text = analyse(note)
    assert [p.query for p in text.problems] == ["HTN", "Type 2 diabetes with CKD", "asthma"]
    assert text.skipped_sections == ("Plan", "Meds")


def test_a_blank_line_ends_a_skipped_section() -> None:
    assert [q for _, q in problems("Medications:\nmetformin\nlisinopril\n\nGout")] == ["Gout"]


def test_offsets_point_into_the_note() -> None:
    note = "Pt with HTN.\r\nFell on L wrist, x-ray shows fracture."
    text = analyse(note)
    for p in text.problems:
        for s, e in p.spans:
            assert text.note[s:e] in p.text.split() + [m.text for m in p.marks]
    wrist = text.problems[1]
    assert [text.note[s:e] for s, e in wrist.spans] == ["L", "wrist", "fracture"]
    assert text.note[slice(*wrist.sentence)].startswith("Fell on L wrist")


# --- negation, uncertainty, history ------------------------------------------------------------


def test_denied_findings_add_nothing_but_are_listed_with_their_words() -> None:
    p = only("Denies chest pain.")
    assert p.status is Status.NEGATED
    assert p.text == "chest pain" and p.cue is not None and p.cue.text == "Denies"
    assert analyse("Denies chest pain.").with_status(Status.CONFIRMED) == []


def test_negation_ends_at_but() -> None:
    assert problems("No fever but cough.") == [("negated", "fever"), ("confirmed", "cough")]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("no fever", [("negated", "fever")]),
        ("Negative for PE", [("negated", "PE")]),
        ("without edema", [("negated", "edema")]),
        ("PE ruled out", [("negated", "PE")]),
        ("Troponin negative", [("negated", "Troponin")]),
        ("no evidence of fracture", [("negated", "fracture")]),
        # A negation reaches over a list...
        (
            "Pt denies fever, chills or cough.",
            [("negated", w) for w in ("fever", "chills", "cough")],
        ),
        # ...up to a word that reports a positive finding, or to the clause's end.
        (
            "Denies fever, reports sore throat.",
            [("negated", "fever"), ("confirmed", "sore throat")],
        ),
        ("No fever; cough.", [("negated", "fever"), ("confirmed", "cough")]),
        ("No fever.\nCough.", [("negated", "fever"), ("confirmed", "Cough")]),
        ("HTN, no CKD", [("confirmed", "HTN"), ("negated", "CKD")]),
        ("No acute distress; has DM2.", [("negated", "acute distress"), ("confirmed", "DM2")]),
        # Pseudo-negations are part of the finding.
        ("Gram negative sepsis", [("confirmed", "Gram negative sepsis")]),
        (
            "Type 2 diabetes without complications",
            [("confirmed", "Type 2 diabetes without complications")],
        ),
    ],
)
def test_negation(note: str, expected: list[tuple[str, str]]) -> None:
    assert problems(note) == expected


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("r/o pneumonia", [("uncertain", "pneumonia")]),
        ("rule out DVT", [("uncertain", "DVT")]),
        ("Possible UTI", [("uncertain", "UTI")]),
        ("probable viral URI", [("uncertain", "viral URI")]),
        ("suspected appendicitis", [("uncertain", "appendicitis")]),
        ("Pneumonia?", [("uncertain", "Pneumonia")]),
        ("pneumonia, likely", [("uncertain", "pneumonia")]),
        ("PE not ruled out", [("uncertain", "PE")]),
        ("Bronchitis vs pneumonia", [("uncertain", "Bronchitis"), ("uncertain", "pneumonia")]),
        ("Asthma vs. bronchitis", [("uncertain", "Asthma"), ("uncertain", "bronchitis")]),
        ("PE, ruled out", [("negated", "PE")]),
        ("Cough, r/o pneumonia", [("confirmed", "Cough"), ("uncertain", "pneumonia")]),
    ],
)
def test_uncertain_findings_are_not_confirmed(note: str, expected: list[tuple[str, str]]) -> None:
    assert problems(note) == expected


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("History of MI", [("history", "MI")]),
        ("h/o DVT", [("history", "DVT")]),
        ("History of MI, now with chest pain", [("history", "MI"), ("confirmed", "chest pain")]),
        ("Family history of breast cancer", [("family history", "breast cancer")]),
        ("No history of asthma", [("negated", "asthma")]),
        ("PMH: asthma, GERD", [("history", "asthma"), ("history", "GERD")]),
        ("Pneumonia, resolved", [("history", "Pneumonia")]),
        ("Former smoker", [("history", "smoker")]),
        ("Depression, in remission", [("confirmed", "Depression remission")]),  # F33.4x
    ],
)
def test_history(note: str, expected: list[tuple[str, str]]) -> None:
    assert problems(note) == expected


# --- side and encounter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "side"),
    [
        ("left knee pain", "left"),
        ("Right ankle sprain", "right"),
        ("bilateral knee osteoarthritis", "bilateral"),
        ("b/l knee osteoarthritis", "bilateral"),
        ("L knee pain", "left"),
        ("R wrist fracture", "right"),
        ("rt shoulder pain", "right"),
        ("Left-sided chest pain", "left"),
        ("Knee pain, left", "left"),  # written apart from its problem
        ("OA of both knees", "bilateral"),
    ],
)
def test_laterality(note: str, side: str) -> None:
    p = only(note)
    assert p.laterality is not None and p.laterality.value == side


@pytest.mark.parametrize(
    "note",
    [
        "Hep B positive",
        "Vitamin D deficiency",
        "Type 2 DM",
        "L4-L5 disc herniation",
        "Both parents with HTN",
        "Lab R 2 L 3 anemia",
    ],
)
def test_single_letters_are_a_side_only_before_a_body_part(note: str) -> None:
    assert all(p.laterality is None for p in analyse(note).problems)


def test_the_side_belongs_to_its_own_problem() -> None:
    first, second = analyse("Right knee pain, HTN").problems
    assert first.laterality is not None and first.laterality.value == "right"
    assert second.laterality is None


def test_abbreviated_sides_are_spelled_out_for_the_engine_but_shown_as_written() -> None:
    p = only("Fell on L wrist, x-ray shows fracture")
    assert p.query == "left wrist fracture"
    assert p.text == "L wrist fracture"


@pytest.mark.parametrize(
    ("note", "encounter"),
    [
        ("Fell on L wrist, initial visit, x-ray shows fracture.", "initial"),
        ("Initial encounter for R ankle sprain", "initial"),
        ("Follow-up visit for R ankle fracture", "subsequent"),
        ("L wrist fracture, healing well", "subsequent"),
        ("f/u left radius fracture", "subsequent"),
        ("Sequela of burn of left hand", "sequela"),
        ("late effect of right ankle fracture", "sequela"),
    ],
)
def test_encounter(note: str, encounter: str) -> None:
    p = only(note)
    assert p.encounter is not None and p.encounter.value == encounter


def test_an_encounter_stated_alone_applies_to_the_note() -> None:
    text = analyse("Initial visit.\nFell on R ankle, x-ray shows fracture.")
    (p,) = text.problems
    assert p.encounter is not None and p.encounter.value == "initial"


def test_a_planned_follow_up_is_not_this_encounter() -> None:
    p = only("L wrist fracture. f/u in 2 weeks")
    assert p.encounter is None


def test_fracture_kind_and_healing() -> None:
    p = only("Open fracture of right tibia, initial encounter")
    assert p.fracture is not None and p.fracture.value == "open"
    assert p.query == "fracture right tibia"
    q = only("Left radius fracture with delayed healing")
    assert q.encounter is not None and q.encounter.value == "subsequent"
    assert q.healing is not None and q.healing.value == "delayed"


def test_a_finding_without_its_body_part_takes_the_sentences() -> None:
    assert problems("L knee pain and swelling") == [
        ("confirmed", "left knee pain"),
        ("confirmed", "left knee swelling"),
    ]


def test_the_same_problem_twice_is_listed_once() -> None:
    text: CaseText = analyse("HTN. Assessment: HTN, asthma.")
    assert [p.query for p in text.problems] == ["HTN", "asthma"]
    assert len(text.problems[0].also_at) == 1


# --- the note's limits ------------------------------------------------------------------------


def test_empty_and_too_long_notes_are_refused_with_a_message() -> None:
    with pytest.raises(NoteError, match="empty"):
        check_note("   \n ")
    with pytest.raises(NoteError, match="5,001 characters; the limit is 5,000"):
        check_note("x" * (MAX_NOTE_CHARS + 1))
    assert check_note("x" * MAX_NOTE_CHARS)


def test_crlf_counts_as_one_character_as_the_page_counter_does() -> None:
    note = ("a" * 9 + "\r\n") * (MAX_NOTE_CHARS // 10)
    assert len(note) > MAX_NOTE_CHARS
    assert len(check_note(note)) == MAX_NOTE_CHARS
