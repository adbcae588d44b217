"""CaseConsultant's analysis against the real catalog and search engine: the coded draft for a
visit note, an operative note, lab services with an NCCI pair, a question about a claim, and
the edge cases (no side, no text, a case too long)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator

import pytest

from features.case2code import catalog
from features.case2code.case_text import MAX_NOTE_CHARS
from features.case2code.case_to_code import Candidate
from features.case2code.search.hits import SearchHit
from features.case2code.search.text import stem
from features.casepilot.code_check import find_codes
from features.casepilot.engine import Answer, Context, Piece
from features.casepilot.facts import Citation
from features.consultant import analysis_edits, analysis_fit
from features.consultant.analysis import Draft, ProposedCode, analyse

# The root conftest's search_ready: every code set imported, the engine's index built from them.
pytestmark = pytest.mark.usefixtures("search_ready")

VISIT = (
    "58 y/o with HTN and DM2 with CKD stage 3. Denies chest pain. "
    "Fell on L wrist, initial visit, x-ray shows fracture."
)
OP_NOTE = """Preoperative diagnosis: Acute calculous cholecystitis.
Postoperative diagnosis: Acute calculous cholecystitis.
Procedure: Laparoscopic cholecystectomy.
Surgeon: Dr. Example
EBL: 20 mL
Complications: None."""
LABS = "Type 2 diabetes. Comprehensive metabolic panel and routine blood draw performed today."


def proposed(draft: Draft, system: str = "icd-10-cm") -> dict[str, ProposedCode]:
    return {c.display: c for c in draft.codes if c.system == system}


def every_code(draft: Draft) -> list[ProposedCode]:
    return [
        *draft.codes,
        *(c for finding in draft.problems for c in (*finding.codes, *finding.alternatives)),
    ]


async def known(system: str, code: str) -> bool:
    if await catalog.get_code(system, code) is not None:
        return True
    return system == "cpt" and await catalog.cpt_without_licence(code) is not None


# --- a visit note --------------------------------------------------------------------------


async def test_a_visit_note_gives_codes_with_the_words_that_support_them() -> None:
    draft = await analyse(VISIT)
    codes = proposed(draft)

    # Diabetes with CKD: the combination code, and the stage as its additional code.
    assert "E11.22" in codes
    assert {"DM2", "CKD"} <= set(codes["E11.22"].support)
    stage = [c for c in codes if c.startswith("N18.3")]
    assert stage == ["N18.30"], codes
    assert {"stage", "3"} <= set(codes["N18.30"].support)

    # The left wrist fracture at its initial encounter, with its 7th character.
    (wrist,) = [c for c in codes.values() if c.code.startswith(("S62.1", "S52.5", "S621", "S525"))]
    assert wrist.display.endswith("A") and wrist.billable
    assert "left" in wrist.title and "initial encounter" in wrist.title
    assert {"L", "wrist", "fracture", "initial visit"} <= set(wrist.support)

    # Hypertension with CKD: I12.9 in place of I10 (the N18 "code first" note points to it);
    # I10, case to code's candidate, is kept for the reviewer.
    assert "I12.9" in codes and "I10" not in codes
    assert "HTN" in codes["I12.9"].support
    htn = next(f for f in draft.problems if f.text == "HTN")
    assert htn.codes[0].display == "I12.9"
    assert "I10" in [c.display for c in htn.alternatives]
    assert any(line.startswith("Combination code") and "I12.9" in line for line in draft.sequencing)

    # The denied chest pain is left out, with the words that say so.
    assert not any(c.startswith("R07") for c in codes)
    assert any("chest pain" in line and "negated" in line for line in draft.not_coded)


async def test_sequencing_follows_the_tabular_and_names_the_first_listed_diagnosis() -> None:
    draft = await analyse(VISIT)
    order = [c.display for c in draft.codes]
    assert order.index("E11.22") < order.index("N18.30")
    assert order.index("I12.9") < order.index("N18.30")
    # The injury at its initial encounter is the likely reason for the visit.
    assert order[0].startswith("S") and draft.sequencing[0].startswith("First-listed")
    assert any("E11.22 before N18.30" in line and "Code first" in line for line in draft.sequencing)
    # Sample-free: no procedure codes, so no NCCI lines but the one that says so.
    assert draft.conflicts == ()
    assert "No CPT or HCPCS codes proposed" in draft.markdown


async def test_unspecified_codes_say_what_the_note_could_document() -> None:
    draft = await analyse(VISIT)
    (stage,) = [g for g in draft.gaps if g.startswith("N18.30")]
    assert "N18.31" in stage and "N18.32" in stage
    # I12.9's title takes unspecified CKD in, it is not an unspecified code itself.
    assert not any(g.startswith("I12.9") for g in draft.gaps)


async def test_a_fracture_without_a_side_is_a_laterality_gap() -> None:
    draft = await analyse("Fell on wrist, x-ray shows fracture. Initial visit.")
    (code,) = draft.codes
    assert code.display.startswith(("S62.1", "S52.5")) and "unspecified" in code.title
    assert code.note == "laterality not documented"
    assert any(g.startswith("Laterality not documented") for g in draft.gaps)
    assert draft.confidence < 0.5


async def test_a_fracture_without_an_encounter_needs_a_seventh_character() -> None:
    draft = await analyse("Fell on L wrist, x-ray shows fracture.")
    (code,) = draft.codes
    assert not code.billable and "7th character" in code.note
    assert any(g.startswith("7th character missing") for g in draft.gaps)


# --- an operative note -------------------------------------------------------------------


async def test_an_operative_note_gives_a_pcs_code_and_the_postoperative_diagnosis() -> None:
    draft = await analyse(OP_NOTE)
    pcs = proposed(draft, "icd-10-pcs")
    assert list(pcs) == ["0FT44ZZ"]
    assert pcs["0FT44ZZ"].title == "Resection of Gallbladder, Percutaneous Endoscopic Approach"
    assert pcs["0FT44ZZ"].kind == "procedure"
    assert {"Laparoscopic", "cholecystectomy"} <= set(pcs["0FT44ZZ"].support)

    diagnoses = proposed(draft)
    assert list(diagnoses) == ["K80.00"], diagnoses  # calculus with acute cholecystitis
    assert draft.codes[0].display == "K80.00"
    # Headings and the administrative lines are not problems; the procedure is not a diagnosis.
    texts = [f.text.lower() for f in draft.problems]
    assert not any(word in t for t in texts for word in ("procedure", "surgeon", "ebl"))
    assert not any(c.startswith("K91") for c in diagnoses)
    assert any("postoperative diagnosis" in line for line in draft.sequencing)


async def test_an_approach_the_note_does_not_state_is_a_gap() -> None:
    draft = await analyse("Cholecystectomy performed for chronic cholecystitis.")
    assert [c.display for c in draft.codes if c.system == "icd-10-pcs"]
    assert "K81.1" in proposed(draft)  # the indication is coded as a diagnosis
    assert any(g.startswith("Approach not documented") for g in draft.gaps)


async def test_planned_and_past_procedures_are_not_coded() -> None:
    draft = await analyse(
        "Colonoscopy with biopsy for rectal bleeding. S/p appendectomy. "
        "Scheduled for cholecystectomy next month."
    )
    pcs = [c.display for c in draft.codes if c.system == "icd-10-pcs"]
    assert pcs and all(not c.startswith(("0DTJ", "0FT4")) for c in pcs)
    assert any("appendectomy" in line and "status post" in line for line in draft.not_coded)
    assert any("cholecystectomy" in line and "planned" in line for line in draft.not_coded)


async def test_a_procedure_section_of_several_lines_and_its_qualifiers() -> None:
    draft = await analyse(
        "Preoperative diagnosis: right inguinal hernia.\n"
        "Procedures:\n"
        "1. Inguinal hernia repair, open.\n"
        "\n"
        "Postoperative diagnosis: right inguinal hernia."
    )
    pcs = proposed(draft, "icd-10-pcs")
    (repair,) = pcs.values()
    # "open", written apart, qualifies the repair: the open approach, and no approach gap.
    assert repair.title.startswith("Repair") and "Inguinal Region, Open Approach" in repair.title
    assert "open" in repair.support
    assert not any(g.startswith("Approach not documented") for g in draft.gaps)
    assert not any("94640" in c.display for c in draft.codes)
    # An inguinal hernia, not the sided ovarian hernia the engine ranks first for "right".
    assert list(proposed(draft)) == ["K40.90"]


# --- choosing among the candidates -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "not_expected"),
    [
        ("Fatigue.", "R53.83", "R53.82"),  # "Chronic fatigue" adds an acuity
        ("COPD exacerbation.", "J44.1", "J44.9"),  # "(acute)" is a nonessential word
        ("Rectal bleeding.", "K62.5", "P54.2"),  # not the neonatal code
        ("Right inguinal hernia.", "K40.90", "N83.41"),  # not the ovary's
    ],
)
async def test_the_code_that_says_no_more_than_the_note_is_preferred(
    text: str, expected: str, not_expected: str
) -> None:
    codes = proposed(await analyse(text))
    assert expected in codes and not_expected not in codes, codes


def candidate(title: str, *matched: str, code: str = "X") -> Candidate:
    """A candidate whose title has `matched` words marked, as the engine marks them."""
    hit = SearchHit(
        system="icd-10-cm",
        code=code,
        display=code,
        title=title,
        billable=True,
        kind="code",
        needs_seventh=False,
        excludes1=(),
        release="r",
        score=1.0,
        matched=tuple(stem(w) for w in matched),
    )
    return Candidate(hit, ())


def test_what_a_title_says_beyond_the_note_is_found() -> None:
    assert analysis_fit.unsaid(
        candidate(
            "Unilateral inguinal hernia, with gangrene, not specified as recurrent",
            "inguinal",
            "hernia",
        )
    ) == ["with gangrene"]
    # "without ..." and "not specified as ..." state the default; "(acute)" is nonessential.
    assert (
        analysis_fit.unsaid(
            candidate(
                "Unilateral inguinal hernia, without obstruction or gangrene, not specified as "
                "recurrent",
                "inguinal",
                "hernia",
            )
        )
        == []
    )
    assert (
        analysis_fit.unsaid(
            candidate(
                "Chronic obstructive pulmonary disease with (acute) exacerbation",
                "chronic",
                "obstructive",
                "pulmonary",
                "exacerbation",
            )
        )
        == []
    )
    assert analysis_fit.unsaid(candidate("Chronic fatigue, unspecified", "fatigue")) == ["chronic"]
    # The site is not held against a part: "of left forearm" is the note's.
    assert analysis_fit.unsaid(
        candidate("Laceration with foreign body of left forearm", "laceration", "left", "forearm")
    ) == ["with foreign body"]
    # A title whose main part names nothing the note says is no candidate at all.
    crohn = candidate("Crohn's disease, unspecified, with rectal bleeding", "rectal", "bleeding")
    assert not analysis_fit.names_the_condition(crohn)


async def test_a_code_that_says_more_than_the_note_is_flagged_and_an_exact_one_is_not() -> None:
    draft = await analyse("Type 1 diabetes with periodontal disease.")
    (code,) = draft.codes
    assert code.display == "E10.630" and "says more" not in code.note
    assert not any("says" in g for g in draft.gaps)


async def test_results_and_measurements_are_not_problems() -> None:
    draft = await analyse("Chest pain, ECG performed, normal. Laceration of left forearm, 3 cm.")
    codes = proposed(draft)
    assert "R07.9" in codes
    assert not any(c.startswith(("R62", "S36")) for c in codes), codes
    assert "93000" in proposed(draft, "cpt")


# --- NCCI and MUE ------------------------------------------------------------------------


async def test_two_services_with_an_ncci_pair_give_a_sample_labelled_conflict() -> None:
    draft = await analyse(LABS)
    cpt = proposed(draft, "cpt")
    assert set(cpt) == {"80053", "36415"}
    # The CPT sample is loaded: its descriptors are labelled as the project's own.
    assert all("not AMA text" in c.note for c in cpt.values())
    (pair,) = [line for line in draft.conflicts if line.startswith("NCCI PTP edit")]
    assert "column 1 80053, column 2 36415" in pair
    assert "SAMPLE" in pair and "modifier indicator 0" in pair
    assert any(line.startswith("MUE for 80053") and "SAMPLE" in line for line in draft.conflicts)
    assert "### Edits (NCCI/MUE, sample data)" in draft.markdown


async def test_the_edit_step_reads_the_modifier_indicator() -> None:
    allowed = await analysis_edits.check(["20610", "99213"])
    assert allowed.pairs == 1
    (line,) = [line for line in allowed.lines if line.startswith("NCCI PTP edit")]
    assert "column 1 20610, column 2 99213" in line and "modifier" in line
    assert "only with a modifier" in line

    clean = await analysis_edits.check(["85025", "93000"])
    assert clean.pairs == 0
    assert any(line.startswith("No NCCI PTP edit among 85025, 93000") for line in clean.lines)
    assert (await analysis_edits.check([])).lines == ()


async def test_a_question_about_a_claim_checks_the_codes_it_names() -> None:
    draft = await analyse("Question: can we bill 80053 with 36415 for the same visit?")
    assert {c.display for c in draft.codes} == {"80053", "36415"}
    assert all("named in the case" in c.note for c in draft.codes)
    assert any(line.startswith("NCCI PTP edit") for line in draft.conflicts)
    # The question's words are not coded as findings.
    assert draft.not_coded == ()


# --- the tabular's Excludes1 -------------------------------------------------------------


async def test_excludes1_between_two_proposed_codes_is_a_gap() -> None:
    draft = await analyse("Type 2 diabetes. Type 1 diabetes.")
    codes = proposed(draft)
    assert "E11.9" in codes and "E10.9" in codes
    (gap,) = [g for g in draft.gaps if g.startswith("Excludes1 conflict")]
    assert "E11.9" in gap and "E10.9" in gap and "(E10.-)" in gap
    assert draft.confidence < 0.95


# --- edge cases --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t  "])
async def test_no_text_gives_a_draft_that_says_nothing_could_be_coded(text: str) -> None:
    draft = await analyse(text)
    assert draft.codes == () and draft.problems == () and draft.confidence == 0.0
    assert draft.not_coded and "nothing could be coded" in draft.not_coded[0]
    assert "Nothing in the case could be coded" in draft.markdown


async def test_a_case_longer_than_the_limit_is_analysed_up_to_it() -> None:
    filler = "Follow-up visit, patient doing well, no new complaints.\n" * 100
    draft = await analyse(VISIT + "\n" + filler)
    assert "E11.22" in proposed(draft)
    assert any(str(f"{MAX_NOTE_CHARS:,}") in g and "longer" in g for g in draft.gaps)


async def test_the_draft_is_deterministic_and_json_ready() -> None:
    first, second = await analyse(VISIT), await analyse(VISIT)
    assert first == second
    data = dataclasses.asdict(first)
    assert json.loads(json.dumps(data))["codes"][0]["display"] == first.codes[0].display


async def test_a_confident_draft_is_one_without_gaps() -> None:
    clean = await analyse("Essential hypertension.")
    assert [c.display for c in clean.codes] == ["I10"]
    assert clean.gaps == () and clean.confidence >= 0.9
    assert 0.0 < (await analyse(VISIT)).confidence < clean.confidence


# --- every code is real ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        VISIT,
        OP_NOTE,
        LABS,
        "Type 2 diabetes. Type 1 diabetes.",
        "Sprained left ankle. Dispensed crutches.",
    ],
)
async def test_every_code_in_the_draft_and_its_markdown_is_in_the_catalog(text: str) -> None:
    draft = await analyse(text)
    for code in every_code(draft):
        view = await catalog.get_code(code.system, code.code)
        assert view is not None, code
        assert (view.title, view.billable, view.display) == (
            code.title,
            code.billable,
            code.display,
        )
        assert code.url == view.url
    mentions = find_codes(draft.markdown)
    assert mentions
    for mention in mentions:
        found = [s for s in mention.systems if await known(s, mention.code)]
        assert found or not mention.certain, mention
    # The markdown's sections, in order, and the release of every code.
    headings = [line for line in draft.markdown.splitlines() if line.startswith("###")]
    assert headings[:5] == [
        "### Codes",
        "### Sequencing",
        "### Edits (NCCI/MUE, sample data)",
        "### Documentation gaps",
        "### Not coded",
    ]
    assert headings[-1] == "### Sources"
    for release in draft.releases:
        assert release in draft.markdown
    labels = {c.label for c in draft.citations}
    for code in draft.codes:
        assert any(code.display in label for label in labels), code


async def test_a_supply_is_coded_in_hcpcs() -> None:
    draft = await analyse("Sprained left ankle, initial visit. Dispensed crutches.")
    (supply,) = [c for c in draft.codes if c.kind == "supply"]
    assert supply.system == "hcpcs" and supply.display.startswith("E01")
    assert "crutch" in supply.title.lower()


# --- privacy and the optional LLM review -------------------------------------------------


async def test_the_case_text_is_never_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    await analyse("Zorblaxian syndrome of the left knee. " + VISIT)
    out = capsys.readouterr()
    for text in (caplog.text, out.out, out.err):
        assert "Zorblaxian" not in text and "Denies chest pain" not in text


class FakeReviewer:
    name = "fake"

    def __init__(self, text: str, refused: bool = False) -> None:
        self.text, self.refused = text, refused
        self.questions: list[str] = []

    async def answer(self, question: str, context: Context) -> AsyncIterator[Piece]:
        self.questions.append(question)
        yield self.text
        cite = Citation("ICD-10-CM E11.22", "/codes/icd-10-cm/E11.22", "ICD-10-CM FY2026")
        yield Answer(self.text, (cite,), "fake", refused=self.refused)


async def test_an_llm_review_is_added_as_its_own_paragraph() -> None:
    reviewer = FakeReviewer("- E11.22 with N18.30 is right; confirm the CKD stage.")
    draft = await analyse(VISIT, reviewer=reviewer)
    assert "### LLM review" in draft.markdown and "confirm the CKD stage" in draft.markdown
    assert draft.markdown.index("### LLM review") < draft.markdown.index("### Sources")
    # The engine sees the draft's codes and supporting words, not the case.
    (question,) = reviewer.questions
    assert "E11.22" in question and "Denies chest pain" not in question
    # The deterministic part is the draft without the review.
    plain = await analyse(VISIT)
    assert plain.codes == draft.codes and "### LLM review" not in plain.markdown


async def test_a_refused_llm_review_adds_nothing() -> None:
    draft = await analyse(VISIT, reviewer=FakeReviewer("No.", refused=True))
    assert "### LLM review" not in draft.markdown
