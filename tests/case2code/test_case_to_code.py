"""Case to code against the real ICD-10-CM release and the search engine: the service, and the
page at /case2code/case (form, CSRF, htmx fragment, validation)."""

from __future__ import annotations

import logging

import pytest

from features.case2code import catalog
from features.case2code.case_text import MAX_NOTE_CHARS, Mark, Problem, Status, Word
from features.case2code.case_to_code import (
    Candidate,
    CaseResult,
    case_to_code,
    choose_seventh,
    preference,
)
from features.case2code.search.hits import SearchHit
from tests.support.client import PortalClient, text_of

# The root conftest's search_ready: every code set imported, the engine's index built from them.
pytestmark = pytest.mark.usefixtures("search_ready")

NOTE = (
    "58 y/o with HTN and DM2 with CKD stage 3. Denies chest pain. "
    "Fell on L wrist, initial visit, x-ray shows fracture."
)
HX = {"HX-Request": "true", "HX-Target": "case-results"}


def shown(result: CaseResult) -> list[Candidate]:
    """Every candidate the page shows, additional codes included."""
    return [c for item in result.coded for c in (*item.candidates, *item.also)]


def shown_codes(result: CaseResult) -> set[str]:
    codes = {c.hit.code for c in shown(result)}
    return codes | {c.seventh.code for c in shown(result) if c.seventh}


# --- the service -------------------------------------------------------------------------------


async def test_the_codes_the_expectations_name_are_real() -> None:
    """So that finding (or not finding) them below means something."""
    for code, title in {
        "I10": "Essential (primary) hypertension",
        "E1122": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
        "R079": "Chest pain, unspecified",
        "N1830": "Chronic kidney disease, stage 3 unspecified",
    }.items():
        view = await catalog.get_code("icd-10-cm", code)
        assert view is not None and view.billable and view.title == title


async def test_a_note_gives_codes_per_problem_and_nothing_for_a_denied_finding() -> None:
    result = await case_to_code(NOTE)
    problems = [item.problem.text for item in result.coded]
    assert problems == ["HTN", "DM2 with CKD stage 3", "L wrist fracture"]
    htn, diabetes, wrist = result.coded

    i10 = next(c for c in htn.candidates if c.hit.display == "I10")
    assert i10.why == ("HTN",)

    assert "E11.22" in [c.hit.display for c in diabetes.candidates]
    e1122 = next(c for c in diabetes.candidates if c.hit.display == "E11.22")
    assert set(e1122.why) >= {"DM2", "CKD"}
    # The stage the combination code leaves out comes as an additional code.
    assert [c.hit.display for c in diabetes.also][:1] == ["N18.30"]

    top = wrist.candidates[0]
    assert wrist.problem.laterality is not None and wrist.problem.laterality.value == "left"
    assert top.hit.laterality == "left" and "wrist" in top.hit.title.lower()
    assert top.hit.needs_seventh and top.seventh is not None
    assert top.seventh.display.startswith(top.hit.display) and top.seventh.display.endswith("A")
    assert "left" in top.seventh.title and "initial encounter" in top.seventh.title
    assert top.fits == ("left", "initial encounter")
    assert {"L", "wrist", "fracture", "initial visit"} <= set(top.why)

    # The denied chest pain adds no code, and is listed with its words.
    assert "R079" not in shown_codes(result)
    assert not any(c.hit.code.startswith("R07") for c in shown(result))
    (denied,) = result.not_coded
    assert (denied.reason, denied.problem.text) == ("negated", "chest pain")
    assert [p.text for p in denied.excerpt if p.marked] == ["Denies chest pain"]


async def test_every_code_shown_is_in_the_catalog_with_the_title_shown() -> None:
    note = (
        NOTE + "\nFollow-up for R ankle sprain. Sequela of burn of left hand.\n"
        "Open fracture of right tibia, initial encounter. Asthma, mild intermittent."
    )
    result = await case_to_code(note)
    assert len(shown(result)) >= 12
    for candidate in shown(result):
        view = await catalog.get_code("icd-10-cm", candidate.hit.code)
        assert view is not None and view.title == candidate.hit.title, candidate.hit.code
        if candidate.seventh:
            seventh = await catalog.get_code("icd-10-cm", candidate.seventh.code)
            assert seventh is not None and seventh.billable
            assert seventh.title == candidate.seventh.title
            assert seventh.parent == candidate.hit.code or seventh.code[:6].rstrip("X") in (
                candidate.hit.code
            )


async def test_the_encounter_picks_the_seventh_character() -> None:
    result = await case_to_code(
        "Follow-up for L wrist fracture, healing well.\n"
        "Sequela of burn of left hand.\n"
        "Open fracture of right tibia, initial encounter."
    )
    wrist, burn, tibia = (item.candidates[0] for item in result.coded)
    assert wrist.seventh is not None and wrist.seventh.display.endswith("D")
    assert (
        "subsequent encounter" in wrist.seventh.title and "routine healing" in wrist.seventh.title
    )
    assert burn.seventh is not None and burn.seventh.title.endswith("sequela")
    assert (
        tibia.seventh is not None and "initial encounter for open fracture" in tibia.seventh.title
    )


async def test_without_an_encounter_the_seventh_character_is_left_to_the_coder() -> None:
    result = await case_to_code("Fell on L wrist, x-ray shows fracture.")
    top = result.coded[0].candidates[0]
    assert top.hit.needs_seventh and top.seventh is None
    assert top.seventh_hint is not None and "does not say" in top.seventh_hint


async def test_the_side_the_note_states_comes_first_and_no_side_is_not_made_up() -> None:
    sided, plain = (await case_to_code("Right knee osteoarthritis. Knee osteoarthritis.")).coded
    assert sided.candidates[0].hit.laterality == "right"
    assert sided.candidates[0].fits == ("right",)
    assert all(c.hit.laterality not in ("left", "right") for c in plain.candidates[:2])


async def test_uncertain_and_history_problems_are_not_looked_up() -> None:
    result = await case_to_code("r/o pneumonia. History of MI. Cough.")
    assert [item.problem.text for item in result.coded] == ["Cough"]
    assert [(n.reason, n.problem.text) for n in result.not_coded] == [("uncertain", "pneumonia")]
    assert [(n.reason, n.problem.text) for n in result.history] == [("history", "MI")]
    assert not any(c.hit.code.startswith(("J18", "I21", "I25")) for c in shown(result))


async def test_the_code_set_select_searches_that_set() -> None:
    result = await case_to_code("Uses a cane.", system="hcpcs")
    assert result.coded, "a problem was found"
    assert all(c.hit.system == "hcpcs" for c in shown(result))


async def test_seventh_character_choice_follows_the_catalogs_meanings() -> None:
    """choose_seventh on the meanings the catalog holds for a fracture and for a sprain."""

    async def meanings(code: str) -> dict[str, str]:
        kids = await catalog.children("icd-10-cm", code)
        found = {
            k.details["seventh_char"]["char"]: k.details["seventh_char"]["meaning"]
            for k in kids
            if k.details.get("seventh_char")
        }
        assert found, code
        return found

    def problem(encounter: str | None, **marks: str) -> Problem:
        def mark(value: str | None) -> Mark | None:
            return Mark(value, (Word(value, 0, 1),)) if value else None

        return Problem(
            (Word("x", 0, 1),),
            Status.CONFIRMED,
            (0, 1),
            encounter=mark(encounter),
            fracture=mark(marks.get("fracture")),
            healing=mark(marks.get("healing")),
        )

    radius = await meanings("S52502")  # fracture of the lower end of the left radius
    assert choose_seventh(radius, problem("initial")) == "A"  # closed unless stated open
    assert choose_seventh(radius, problem("initial", fracture="open")) == "B"
    assert choose_seventh(radius, problem("subsequent")) == "D"
    assert choose_seventh(radius, problem("subsequent", healing="delayed")) == "G"
    assert choose_seventh(radius, problem("subsequent", healing="nonunion")) == "K"
    assert choose_seventh(radius, problem("subsequent", healing="malunion")) == "P"
    assert choose_seventh(radius, problem("sequela")) == "S"
    assert choose_seventh(radius, problem(None)) is None
    sprain = await meanings("S93402")
    assert [choose_seventh(sprain, problem(e)) for e in ("initial", "subsequent", "sequela")] == [
        "A",
        "D",
        "S",
    ]
    # 7th characters that are not about encounters (glaucoma stages) are not guessed.
    glaucoma = await meanings("H40111")
    assert choose_seventh(glaucoma, problem("initial")) is None


def test_preference_follows_the_side_and_encounter_the_note_states() -> None:
    def hit(title: str, side: str | None) -> SearchHit:
        made = SearchHit(
            system="icd-10-cm",
            code="X",
            display="X",
            title=title,
            billable=True,
            kind="code",
            needs_seventh=False,
            excludes1=(),
            release="r",
            score=1.0,
        )
        assert made.laterality == side  # read from the title
        return made

    word = Word("x", 0, 1)
    left_initial = Problem(
        (word,),
        Status.CONFIRMED,
        (0, 1),
        laterality=Mark("left", (word,)),
        encounter=Mark("initial", (word,)),
    )
    unstated = Problem((word,), Status.CONFIRMED, (0, 1))
    order = [
        preference(hit("Sprain of left ankle, initial encounter", "left"), left_initial),
        preference(hit("Sprain of left ankle", "left"), left_initial),
        preference(hit("Sprain of ankle", None), left_initial),
        # The right side with another encounter: its 7th character is re-picked anyway.
        preference(hit("Sprain of left ankle, subsequent encounter", "left"), left_initial),
        preference(hit("Sprain of unspecified ankle", "unspecified side"), left_initial),
        preference(hit("Sprain of right ankle", "right"), left_initial),
    ]
    assert order == sorted(order, reverse=True), order
    assert order[0] > order[1] > order[2] and order[3] > order[4] > order[5], order
    # Nothing stated: a code for a side the note does not name comes last.
    assert preference(hit("Sprain of unspecified ankle", "unspecified side"), unstated) == 0
    assert preference(hit("Sprain of right ankle", "right"), unstated) < 0


async def test_fallback_queries_keep_the_finding() -> None:
    result = await case_to_code("Lobar acquired pneumonia. Pain and swelling of the R ankle.")
    pneumonia, pain, swelling = result.coded
    # No code has all three words: the search falls back, and a shortened query must be what
    # the code is about ("acquired pneumonia" alone finds congenital pneumonia).
    assert pneumonia.query in ("lobar pneumonia", "pneumonia")
    assert pneumonia.candidates[0].hit.display.startswith("J18")
    assert not any(c.hit.display.startswith("P23") for c in pneumonia.candidates)
    assert pain.candidates[0].hit.display == "M25.571"  # Pain in right ankle and joints of...
    # Never shortened to the body part alone.
    assert "swelling" in swelling.query.split() and "ankle" in swelling.query.split()


# --- the page ----------------------------------------------------------------------------------


async def test_the_form_page_and_the_link_from_case2code(app) -> None:
    async with PortalClient(app) as c:
        page = await c.get("/case2code/case")
        home = await c.get("/case2code")
        example = await c.get("/case2code/case", params={"example": "1"})
    assert page.status_code == 200
    assert '<textarea id="case-note" name="note"' in page.text
    assert 'name="_csrf_token"' in page.text and 'hx-post="/case2code/case"' in page.text
    assert "0 / 5,000 characters" in page.text
    assert 'href="/case2code/case?example=1"' in page.text
    assert 'href="/case2code/case"' in home.text
    assert "58 y/o M with HTN" in example.text.split("<textarea", 1)[1].split("</textarea>")[0]


async def test_posting_a_note_shows_candidates_and_not_coded(app) -> None:
    async with PortalClient(app) as c:
        page = await c.submit(
            "/case2code/case",
            {"note": NOTE + "\nNo fever but cough x 3 days.", "system": "icd-10-cm"},
        )
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<html" in page.text  # without JavaScript: the whole page
    text = text_of(page.text)
    assert "Candidate codes" in text
    assert "I10 Essential (primary) hypertension" in text
    assert "E11.22 Type 2 diabetes mellitus with diabetic chronic kidney disease" in text
    assert "initial encounter for closed fracture" in text
    assert "not coded: negated chest pain" in text
    assert "R07.9" not in text
    summary = text_of(page.text.split('class="case-summary"', 1)[1].split("</p>", 1)[0])
    assert "ICD-10-CM FY2026, April 1 2026 update" in summary and "HCPCS" not in summary
    # The sentence as written, without the spaces around it.
    assert '<q class="case-excerpt">No fever but <mark>cough</mark> x 3 days</q>' in page.text
    assert "<mark>HTN</mark>" in page.text and "<mark>Denies chest pain</mark>" in page.text
    # The note stays in the textarea for another try.
    assert "Fell on L wrist, initial visit" in page.text.split("<textarea", 1)[1]


async def test_htmx_gets_the_results_fragment(app) -> None:
    async with PortalClient(app) as c:
        fragment = await c.submit("/case2code/case", {"note": NOTE}, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<textarea" not in fragment.text
    assert "I10" in fragment.text and 'id="meter-badge"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    assert fragment.headers["cache-control"] == "no-store"


async def test_posting_without_the_csrf_token_is_refused(app) -> None:
    async with PortalClient(app) as c:
        await c.csrf()
        refused = await c.post("/case2code/case", data={"note": NOTE})
    assert refused.status_code == 403
    assert "I10" not in refused.text


@pytest.mark.parametrize("headers", [{}, HX])
async def test_an_empty_note_is_a_400_with_a_message(app, headers: dict[str, str]) -> None:
    async with PortalClient(app) as c:
        page = await c.submit("/case2code/case", {"note": "  \r\n  "}, headers=headers)
    assert page.status_code == 400
    assert text_of(page.text).count("Paste a clinical note first: the note is empty.") == 1
    assert 'role="alert"' in page.text


async def test_a_note_over_the_limit_is_a_400_and_stays_in_the_textarea(app) -> None:
    note = "HTN. " + "x" * MAX_NOTE_CHARS + " END-OF-NOTE"
    async with PortalClient(app) as c:
        page = await c.submit("/case2code/case", {"note": note})
    assert page.status_code == 400
    assert f"{len(note):,} characters; the limit is 5,000" in page.text
    assert 'aria-invalid="true"' in page.text
    kept = page.text.split("<textarea", 1)[1].split("</textarea>")[0]
    assert kept.endswith("x END-OF-NOTE")
    assert "I10" not in page.text


async def test_while_the_search_is_prepared_the_note_waits_with_a_503(app, monkeypatch) -> None:
    from features.case2code import case_to_code as module
    from features.case2code.search.hits import SearchUnavailable

    async def unavailable(*args: object, **kwargs: object) -> None:
        raise SearchUnavailable()

    monkeypatch.setattr(module.service, "search", unavailable)
    async with PortalClient(app) as c:
        page = await c.submit("/case2code/case", {"note": NOTE}, headers=HX)
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert "try again in a few seconds" in page.text and 'role="alert"' in page.text


async def test_an_unknown_code_set_falls_back_to_icd10cm(app) -> None:
    async with PortalClient(app) as c:
        page = await c.submit("/case2code/case", {"note": "HTN", "system": "icd-11"})
    assert page.status_code == 200 and "I10" in page.text


async def test_the_note_is_not_logged(app, caplog, capfd) -> None:
    marker = "Zyxwvut"  # a word that appears nowhere else
    with caplog.at_level(logging.DEBUG):
        async with PortalClient(app) as c:
            await c.submit("/case2code/case", {"note": f"HTN. {marker} syndrome."})
            await c.submit("/case2code/case", {"note": f"{marker} " * 2000})
    out, err = capfd.readouterr()
    assert marker not in caplog.text and marker not in out and marker not in err
