"""The offline engine against the real imported catalog: what its answers say, where each fact
comes from, and that it streams its summary first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from features.casepilot import offline_answer
from features.casepilot.code_check import check, find_codes
from features.casepilot.engine import Answer, Context, Turn
from features.casepilot.facts import ToolResult
from features.casepilot.offline_engine import OfflineEngine

pytestmark = pytest.mark.usefixtures("search_ready")

Asked = tuple[list[str], Answer]


async def ask(question: str, context: Context | None = None) -> Asked:
    pieces: list[str] = []
    answers: list[Answer] = []
    async for piece in OfflineEngine().answer(question, context or Context()):
        if isinstance(piece, Answer):
            answers.append(piece)
        else:
            assert not answers, "text after the Answer"
            pieces.append(piece)
    assert len(answers) == 1
    return pieces, answers[0]


@pytest.fixture
def tool_results(monkeypatch: pytest.MonkeyPatch) -> list[ToolResult]:
    """Every ToolResult the engine receives, in order."""
    seen: list[ToolResult] = []
    real: Callable[[str, dict[str, Any]], Awaitable[ToolResult]] = offline_answer.tools.call

    async def spy(name: str, arguments: dict[str, Any]) -> ToolResult:
        result = await real(name, arguments)
        seen.append(result)
        return result

    monkeypatch.setattr(offline_answer.tools, "call", spy)
    return seen


async def test_cpt_99213_says_what_public_data_holds_and_that_the_descriptor_needs_a_licence() -> (
    None
):
    _, answer = await ask("What is CPT code 99213?")
    text = answer.text
    assert answer.engine == "offline" and answer.intent == "describe"
    assert "AMA" in text and "licence" in text
    assert "$88.95" in text and "MPFS CY2025 A" in text  # national non-facility payment
    assert "Global period XXX" in text and "work 1.3" in text
    assert "Evaluation and Management" in text
    assert "**Sources**" in text
    assert "](/codes/cpt/99213" in text  # a citation link to the code page
    assert any(c.url.startswith("/codes/cpt/99213") for c in answer.citations)
    assert answer.flags == ()
    assert answer.tools[0] == "lookup_code" and "fee" in answer.tools


async def test_e11_9_names_its_title_release_and_cites_its_page() -> None:
    _, answer = await ask("What is ICD-10-CM code E11.9?")
    text = answer.text
    assert "Type 2 diabetes mellitus without complications" in text
    assert "ICD-10-CM FY2026, April 1 2026 update" in text
    assert "billable" in text
    assert "insulin (Z79.4)" in text  # the use-additional-code note inherited from E11
    assert "[ICD-10-CM E11.9](/codes/icd-10-cm/E11.9)" in text
    assert all(c.release for c in answer.citations)


async def test_the_first_piece_is_the_summary() -> None:
    pieces, answer = await ask("What is ICD-10-CM code E11.9?")
    first = pieces[0]
    assert answer.text.startswith(first.rstrip())
    assert first.endswith("\n\n") and not first.lstrip().startswith(("-", "**Sources"))
    assert "E11.9" in first and "Type 2 diabetes mellitus without complications" in first
    assert len(pieces) > 2  # details and sources follow as pieces of their own
    for question in (
        "Can 99213 be billed with 20610?",
        "What is the Medicare fee for 99213?",
        "LCDs for urine drug testing",
        "Guidelines for E/M services",
    ):
        pieces, answer = await ask(question)
        assert not pieces[0].startswith(("-", "**")), question
        assert pieces[0].count("\n- ") == 0, question
        assert answer.text.startswith(pieces[0].rstrip()), question


async def test_an_ncci_question_finds_the_sample_pair_and_says_sample() -> None:
    _, answer = await ask("Can 99213 be billed with 20610?")
    text = answer.text
    assert answer.intent == "ncci"
    assert "column 1 **20610** with column 2 **99213**" in text
    assert "modifier indicator 1" in text and "modifier 25" in text
    assert "SAMPLE" in text and "not the CMS" in text
    assert any("NCCI sample" in c.release for c in answer.citations)


async def test_a_pair_without_an_edit_says_the_sample_may_miss_it() -> None:
    _, answer = await ask("Can 99213 be billed with 71046?")
    assert "No edit pairs 99213 and 71046" in answer.text
    assert "sample" in answer.text.lower()


async def test_an_unknown_question_says_so_and_links_a_search_and_a_consult() -> None:
    pieces, answer = await ask("What's the weather tomorrow?")
    assert answer.intent == "unknown"
    assert pieces[0].startswith("I don't know")
    assert "](/case2code?q=" in answer.text
    assert "](/consultant)" in answer.text
    assert answer.citations == () and answer.tools == ()


async def test_guidelines_for_em_say_what_is_not_loaded_and_what_the_data_holds() -> None:
    _, answer = await ask("Guidelines for E/M services")
    text = answer.text
    assert "not loaded" in text
    assert "99202-99499" in text and "Evaluation and Management" in text
    assert "$88.95" in text  # the office visits' MPFS rows
    assert "significant, separately identifiable" in text  # the NCCI sample's modifier 25 rule


async def test_pcs_guidelines_are_quoted_with_their_ids() -> None:
    _, answer = await ask("PCS guidelines for biopsy")
    assert "B3.4a" in answer.text and "qualifier Diagnostic" in answer.text
    assert any(c.label == "ICD-10-PCS guideline B3.4a" for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "What is CPT code 99213?",
        "What is ICD-10-CM code E11.9?",
        "Is E11 billable?",
        "What 7th character does S52.501 need?",
        "What are the Excludes1 notes for E11?",
        "ICD-9 250.00 to ICD-10",
        "Can 99213 be billed with 20610?",
        "Guidelines for E/M services",
        "What is the code first rule?",
        "code for type 2 diabetes with CKD",
        "What is the weight of DRG 291?",
        "Can I report E11.99 on a claim?",
        "What is modifier 25?",
    ],
)
async def test_every_code_in_an_answer_comes_from_its_tool_results(
    question: str, tool_results: list[ToolResult]
) -> None:
    _, answer = await ask(question)
    named = {code for r in tool_results for _, code in r.codes}
    named |= {m.code for r in tool_results for f in r.facts for m in find_codes(f.text)}
    named |= {m.code for m in find_codes(question)}
    written = {m.code for m in find_codes(answer.text) if m.certain}
    assert written <= named, written - named
    # And the catalog backs every one (a code typed in the question may be flagged "unknown").
    typed = {m.code for m in find_codes(question)}
    flags = await check(answer.text)
    assert [
        f for f in flags if f.problem != "not billable" and f.code.replace(".", "") not in typed
    ] == []


async def test_a_code_that_does_not_exist_is_said_so_with_a_search_link() -> None:
    _, answer = await ask("Can I report E11.99 on a claim?")
    assert "E11.99 is not an ICD-10-CM code" in answer.text
    assert "E11.9 Type 2 diabetes mellitus without complications" in answer.text  # nearest
    assert "](/case2code?q=E11.99)" in answer.text


async def test_the_page_code_and_a_follow_up_are_answered() -> None:
    _, on_page = await ask("What does this code mean?", Context(code=("icd-10-cm", "E1122")))
    assert "Type 2 diabetes mellitus with diabetic chronic kidney disease" in on_page.text
    _, pair = await ask("Can this be billed with 99213?", Context(code=("cpt", "20610")))
    assert pair.intent == "ncci" and "column 1 **20610**" in pair.text
    history = Context(history=(Turn("user", "What is the Medicare fee for 99213?"),))
    _, follow = await ask("What about 99214?", history)
    assert follow.intent == "fee" and "$125.18" in follow.text


async def test_answers_are_deterministic() -> None:
    for question in ("What is CPT code 99213?", "LCDs for vitamin D", "pnuemonia"):
        _, first = await ask(question)
        _, second = await ask(question)
        assert first == second


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What is 0DTJ4ZZ?", "describe"),
        ("What is J1100?", "describe"),
        ("Describe ICD-9 250.00", "crosswalk"),
        ("Is S72.001A billable?", "billable"),
        ("Is 99213 billable?", "billable"),
        ("What 7th character does E11.9 take?", "seventh"),
        ("Hierarchy of 0DTJ4ZZ", "hierarchy"),
        ("Code also notes for I10", "notes"),
        ("What notes apply to J45.909?", "notes"),
        ("What is the use additional rule?", "guidelines"),
        ("What does seventh character mean?", "guidelines"),
        ("When do I use modifier 59 with 29881?", "modifier"),
        ("What is a modifier?", "modifier"),
        ("What does the GEM say?", "crosswalk"),
        ("Is there an NCCI edit for 20610?", "ncci"),
        ("What is the MUE?", "mue"),
        ("Is it OK to code a suspected E11.9 diagnosis?", "compliance"),
        ("What does Medicare pay?", "fee"),
        ("What is the fee for 99213 in California?", "fee"),
        ("Is 27447 covered by Medicare?", "coverage"),
        ("Is E11.9 covered by Medicare?", "coverage"),
        ("LCDs from Palmetto", "lcd"),
        ("What POS for hospice?", "pos"),
        ("Is E11.22 a CC?", "drg"),
        ("What is MS-DRG 999?", "drg"),
        ("xqzv plorf", "search"),
    ],
)
async def test_every_plan_answers_with_backed_codes_only(question: str, intent: str) -> None:
    pieces, answer = await ask(question)
    assert answer.intent == intent
    assert pieces and answer.text.strip()
    assert answer.text.startswith(pieces[0].rstrip())
    typed = {m.code for m in find_codes(question)}
    unbacked = [f for f in answer.flags if f.code.replace(".", "") not in typed]
    assert unbacked == [] or all(f.problem == "not billable" for f in unbacked), unbacked
