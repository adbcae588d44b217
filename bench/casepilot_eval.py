"""CasePilot answer quality: the default (offline) engine over an evaluation set of coders'
questions, scored on the facts a correct answer must contain and on codes it must not invent.

What is measured: each question of QUESTIONS (seven topics, plus plain searches and questions
the data cannot answer) is asked of `OfflineEngine().answer(question, Context(...))`, in process,
against a catalog imported into a SQLite state dir (as the other benches do). For each answer:

  facts     the required facts found in the answer's text (case-insensitive; a plain string is
            looked for as written, "re:..." is a regular expression), over all required facts;
  invented  codes the answer names that the catalog does not hold: the code check
            (features/casepilot/code_check.py, no trusted codes) flags them "unknown" or "wrong
            system"; a code the question itself typed is the user's and not counted. A listed
            must-not code (a plausible wrong code, e.g. E11.99) found in the answer counts too.

Every expected fact comes from the data the portal imports (ICD-10-CM FY2026 tabular, ICD-10-PCS
FY2025 with its guidelines, HCPCS January 2026, MPFS CY2025 A, the NCCI sample, the 2018 GEMs,
MS-DRG v43, CMS POS codes and the CMS LCD list); the set check run first confirms that every code
a required fact names exists in the catalog and that every must-not code does not.

Targets: facts >= 90% overall, 0 invented codes.

    cd /work/main && uv run python bench/casepilot_eval.py [--state-dir DIR] [--misses]
        [--topic codes] [--show N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchError, loaded_code_sets, portal_cli, state_directory

TARGET_FACTS = 0.9
TOPICS = (
    "codes",
    "guidelines",
    "modifiers",
    "crosswalks",
    "ncci",
    "compliance",
    "coverage",
    "search",
    "unknown",
)
DONT_KNOW = r"re:\bdon['’]t know\b|\bdo not know\b"
NOT_LOADED = r"re:not loaded|not in the loaded data|not in the portal"


@dataclass(frozen=True)
class Question:
    topic: str
    text: str
    facts: tuple[str, ...]  # what a correct answer must say ("re:" = a regular expression)
    must_not: tuple[str, ...] = ()  # plausible wrong codes the answer must not name
    page: tuple[str, str] | None = None  # asked from this code's page
    before: str | None = None  # the question asked just before (a follow-up)


def q(
    topic: str,
    text: str,
    facts: Sequence[str],
    must_not: Sequence[str] = (),
    page: tuple[str, str] | None = None,
    before: str | None = None,
) -> Question:
    return Question(topic, text, tuple(facts), tuple(must_not), page, before)


QUESTIONS: tuple[Question, ...] = (
    # -- codes: what a code is, billable, 7th character, hierarchy, notes ----------------------
    q("codes", "What is ICD-10-CM code E11.9?",
      ["Type 2 diabetes mellitus without complications", r"re:\bbillable",
       "ICD-10-CM FY2026, April 1 2026 update", "insulin (Z79.4)"],
      ["E11.99", "E11.90"]),
    q("codes", "Describe J45.909",
      ["Unspecified asthma, uncomplicated", "Asthma NOS",
       "lung diseases due to external agents (J60-J70)"],
      ["J45.910", "J45.9090"]),
    q("codes", "What 7th character does S52.501 need?",
      ["S52.501A", "initial encounter for closed fracture",
       "subsequent encounter for closed fracture with routine healing", r"re:\bsequela"],
      ["S52.501Z", "S52.501X"]),
    q("codes", "What is the parent of E11.65?",
      ["E11.6", "Type 2 diabetes mellitus with other specified complications",
       "Type 2 diabetes mellitus with hyperglycemia", "E08-E13"],
      ["E11.650"]),
    q("codes", "What are the Excludes1 notes for E11?",
      ["type 1 diabetes mellitus (E10.-)", "gestational diabetes (O24.4-)",
       "diabetes mellitus due to underlying condition (E08.-)"],
      ["E11.0A"]),
    q("codes", "What does 0DTJ4ZZ mean?",
      ["Resection of Appendix, Percutaneous Endoscopic Approach", "Gastrointestinal System",
       "Cutting out or off, without replacement, all of a body part"],
      ["0DTJ4ZX"]),
    q("codes", "What is HCPCS J1100?",
      ["Injection, dexamethasone sodium phosphate, 1 mg", "HCPCS January 2026",
       "Special coverage instructions apply"],
      ["J1101"]),
    q("codes", "What is CPT code 99213?",
      [r"re:\bAMA\b", r"re:licen[cs]e", "$88.95", r"re:work (?:RVU )?1\.3\b", "XXX",
       "Evaluation and Management"],
      ["99216"]),
    q("codes", "Is S72.001 billable?",
      [r"re:not billable", "7th character", "S72.001A", "initial encounter for closed fracture"],
      ["S72.001Z"]),
    q("codes", "What are the use additional code notes for E11.22?",
      ["stage of chronic kidney disease (N18.1-N18.6)",
       "Type 2 diabetes mellitus with diabetic chronic kidney disease"],
      ["N18.7"]),
    # -- guidelines --------------------------------------------------------------------------
    q("guidelines", "Guidelines for E/M services",
      [NOT_LOADED, "99202-99499", "Evaluation and Management",
       "significant, separately identifiable", "$88.95"],
      ["99216", "99210"]),
    q("guidelines", "PCS guidelines for biopsy",
      ["B3.4a", "Excision, Extraction, or Drainage and the qualifier Diagnostic", "B3.4b"]),
    q("guidelines", "What is the code first rule?",
      [NOT_LOADED, "Code first", "the underlying condition"]),
    q("guidelines", "ICD-10-PCS guideline for bilateral body parts",
      ["B4.3", "bilateral body part value"]),
    q("guidelines", "PCS guideline for discontinued procedures",
      ["B3.3", "root operation performed", "Inspection"]),
    q("guidelines", "What is the PCS guideline on overlapping body layers?",
      ["B3.5", "deepest layer"]),
    q("guidelines", "PCS guideline for laparoscopic-assisted procedures",
      ["B5.2a", "approach Open"]),
    q("guidelines", "PCS guideline for excision vs resection",
      ["B3.8", r"re:all of the body part is cut out or off"]),
    q("guidelines", "What are the coding guidelines for sepsis?",
      [NOT_LOADED, r"re:/case2code\?q=sepsis"]),
    q("guidelines", "PCS guideline for fracture reduction",
      ["B3.15", "Reposition"]),
    q("guidelines", "What does Excludes1 mean?",
      [NOT_LOADED, r"re:never (?:coded )?together"]),
    q("guidelines", "What does the PCS root operation Excision mean?",
      ["Cutting out or off, without replacement, a portion of a body part", r"re:biops"]),
    # -- modifiers ---------------------------------------------------------------------------
    q("modifiers", "What is modifier 25?",
      ["CPT modifier", r"re:\bAMA\b", "significant, separately identifiable"]),
    q("modifiers", "What is modifier RT?",
      ["Right side", "HCPCS"]),
    q("modifiers", "What does modifier XS mean?",
      ["Separate structure", "separate organ/structure"]),
    q("modifiers", "What is modifier 59?",
      ["CPT modifier", r"re:\bAMA\b", r"re:modifier 59 for different lesions|59/XS"]),
    q("modifiers", "What is modifier GA?",
      ["Waiver of liability statement issued as required by payer policy"]),
    q("modifiers", "What is modifier 26?",
      [r"re:\bAMA\b", r"re:1,117\b"]),
    q("modifiers", "What is modifier TC?",
      ["Technical component", r"re:1,098\b"]),
    q("modifiers", "What is modifier LT?",
      ["Left side"]),
    q("modifiers", "What is modifier GZ?",
      ["Item or service expected to be denied as not reasonable and necessary"]),
    q("modifiers", "What is modifier XU?",
      ["Unusual non-overlapping service"]),
    # -- crosswalks --------------------------------------------------------------------------
    q("crosswalks", "ICD-9 250.00 to ICD-10",
      ["E11.9", "approximate",
       "Diabetes mellitus without mention of complication, type II or unspecified type"],
      ["E11.90"]),
    q("crosswalks", "GEM for E11.9",
      ["250.00", "approximate"]),
    q("crosswalks", "What is the ICD-10 code for ICD-9 401.9?",
      ["I10", "Essential (primary) hypertension", "Unspecified essential hypertension"],
      ["I10.9"]),
    q("crosswalks", "Convert ICD-9 428.0 to ICD-10",
      ["I50.9", "Heart failure, unspecified"],
      ["I50.90"]),
    q("crosswalks", "Map I10 to ICD-9",
      ["401.0", "401.1", "401.9"]),
    q("crosswalks", "ICD-9 procedure 47.01 to ICD-10-PCS",
      ["0DTJ4ZZ", "Laparoscopic appendectomy", "Resection of Appendix"]),
    q("crosswalks", "Crosswalk ICD-9 486",
      ["J18.9", "Pneumonia, unspecified organism"],
      ["J18.90"]),
    q("crosswalks", "ICD-9 V58.67 to ICD-10",
      ["Z79.4", "Long term (current) use of insulin", r"re:\bexact\b"],
      ["Z79.40"]),
    q("crosswalks", "what does the GEM say for 250.40?",
      ["E11.29", "Diabetes with renal manifestations"]),
    q("crosswalks", "PCS 0DTJ4ZZ ICD-9 equivalent",
      ["47.01", "Laparoscopic appendectomy"]),
    q("crosswalks", "GEM for J18.9",
      ["486", "Pneumonia, organism unspecified"]),
    q("crosswalks", "ICD-9 724.5 to ICD-10",
      ["M54.9", "M54.89", "Backache, unspecified"],
      ["M54.90"]),
    # -- NCCI edits and MUEs -----------------------------------------------------------------
    q("ncci", "Can 99213 be billed with 20610?",
      [r"re:\bsample\b", "modifier indicator 1", "modifier 25", "column 1 20610"]),
    q("ncci", "Can 20611 and 20610 be billed together?",
      ["Arthrocentesis with ultrasound includes arthrocentesis without ultrasound",
       "modifier indicator 0", r"re:\bsample\b"]),
    q("ncci", "What is the MUE for 20610?",
      [r"re:\b4 unit", "Date of Service Edit", r"re:\bsample\b"]),
    q("ncci", "Are 29881 and 29877 bundled?",
      ["59/XS", "column 1 29881", r"re:\bsample\b"]),
    q("ncci", "What is the MUE for 36415?",
      [r"re:\b3 unit", "venipunctures", r"re:\bsample\b"]),
    q("ncci", "Can 99202 and 99203 be billed on the same day?",
      ["Cannot bill two new patient E&M visits same provider, same day", "modifier indicator 0"]),
    q("ncci", "Can 99213 be billed with 71046?",
      [r"re:no (?:NCCI )?(?:PTP )?edit", r"re:\bsample\b"]),
    q("ncci", "NCCI edit for 11104 and 11102",
      ["Punch biopsy and tangential biopsy may be separate with modifier 59 for different lesions",
       "column 1 11104"]),
    q("ncci", "MUE for 97110",
      [r"re:\b4 unit", "60 min"]),
    q("ncci", "is 99214 separately payable with 96372 same day",
      ["column 1 96372", "modifier indicator 1", "modifier 25"]),
    q("ncci", "Can this be billed with 99213?",
      ["column 1 20610", "modifier indicator 1", r"re:\bsample\b"],
      page=("cpt", "20610")),
    q("ncci", "What is the MUE for J1100?",
      [r"re:no MUE"]),
    q("ncci", "Can 96372 be billed with 99213?",
      ["column 1 96372", "modifier indicator 1", "modifier 25"]),
    # -- compliance --------------------------------------------------------------------------
    q("compliance", "Can I code from a problem list?",
      [DONT_KNOW, NOT_LOADED, "/consultant"]),
    q("compliance", "Can I code a probable diagnosis in the outpatient setting?",
      [DONT_KNOW, NOT_LOADED, "/consultant"]),
    q("compliance", "Is E11 billable?",
      ["not billable", "more specific code", "E11.9"],
      ["E11.99"]),
    q("compliance", "Can I report E11.99 on a claim?",
      [r"re:E11\.99 is not an? ICD-10-CM code", r"re:/case2code\?q="]),
    q("compliance", "Should the physician be queried when PCS documentation is incomplete?",
      ["A8", "the physician should be queried"]),
    q("compliance", "Is E11.9 valid in FY2026?",
      [r"re:\bbillable", "FY2026"]),
    q("compliance", "Can I use S72.001 without a 7th character?",
      [r"re:needs a 7th character|takes a 7th character", "S72.001A"]),
    q("compliance", "Is it OK to code a rule out diagnosis?",
      [DONT_KNOW, "/consultant"]),
    q("compliance", "Can I assign a code based on a radiology report?",
      [DONT_KNOW, "/consultant"]),
    q("compliance", "Is it OK to code a suspected E11.9 diagnosis?",
      [DONT_KNOW, "Type 2 diabetes mellitus without complications", "/consultant"]),
    q("compliance", "Is Z00.00 billable?",
      [r"re:\bbillable", "Encounter for general adult medical examination without abnormal "
       "findings"]),
    # -- Medicare coverage: fees, LCDs, POS, DRG ---------------------------------------------
    q("coverage", "What is the Medicare fee for 99213?",
      ["$88.95", "$63.72", "MPFS CY2025 A"]),
    q("coverage", "RVUs for 20610",
      ["0.79", r"re:\b1\.96\b", "$63.40"]),
    q("coverage", "What is the global period for 27447?",
      ["090", "90 days"]),
    q("coverage", "What is the fee for 99213 in Alabama?",
      ["$81.86", "$59.93", "ALABAMA"]),
    q("coverage", "LCDs for urine drug testing",
      ["L36668", "L35724", "Urine Drug Testing"]),
    q("coverage", "Noridian LCDs for vitamin D",
      ["L36692", "Vitamin D Assay Testing", "Noridian"]),
    q("coverage", "What is place of service 11?",
      ["Office"]),
    q("coverage", "Which POS code is telehealth in the patient's home?",
      [r"re:\b10\b", "Telehealth (provided in patient's home)"]),
    q("coverage", "Is J18.9 an MCC?",
      [r"re:is an MCC", "MS-DRG v43"]),
    q("coverage", "Is I50.9 a CC or MCC?",
      ["neither a CC nor an MCC"]),
    q("coverage", "What is the weight of DRG 291?",
      ["1.2838", "HEART FAILURE AND SHOCK WITH MCC", "3.8"]),
    q("coverage", "what's the RVU of 71046-26",
      ["0.22", "$10.03"]),
    q("coverage", "how much does Medicare pay for 93000?",
      ["$13.91"]),
    q("coverage", "what's the place of service for urgent care?",
      [r"re:\b20\b", "Urgent Care Facility"]),
    q("coverage", "Is acupuncture covered by Medicare?",
      ["A55240", r"re:NCDs?\)? (?:are )?not loaded"]),
    q("coverage", "What about 99214?",
      ["$125.18", "$93.80"],
      before="What is the Medicare fee for 99213?"),
    q("coverage", "Is J1100 covered by Medicare?",
      ["Special coverage instructions apply", r"re:coverage code:? D\b"]),
    # -- plain searches ----------------------------------------------------------------------
    q("search", "code for type 2 diabetes with CKD",
      ["E11.22", "stage of chronic kidney disease"],
      ["E11.220"]),
    q("search", "ICD-10 code for essential hypertension",
      ["I10"],
      ["I10.0"]),
    q("search", "laparoscopic appendectomy PCS code",
      ["0DTJ4ZZ"]),
    q("search", "What is the code for pneumonia, unspecified organism?",
      ["J18.9"]),
    q("search", "HCPCS code for dexamethasone injection",
      ["J1100"]),
    q("search", "dx code for hyperlipidemia",
      ["E78.5", "Hyperlipidemia, unspecified"]),
    q("search", "copd with acute exacerbation",
      ["J44.1"]),
    q("search", "pnuemonia",
      ["J18.9"]),
    q("codes", "describe e119",
      ["Type 2 diabetes mellitus without complications"],
      ["E11.99"]),
    q("codes", "what's the 7th char for S72.001?",
      ["S72.001A", "initial encounter for closed fracture", r"re:\bsequela"],
      ["S72.001Z"]),
    q("codes", "E11.9 vs E11.65",
      ["Type 2 diabetes mellitus without complications",
       "Type 2 diabetes mellitus with hyperglycemia"]),
    q("codes", "What chapter is I10 in?",
      ["Chapter 9", "Diseases of the circulatory system", "I10-I1A"]),
    q("codes", "Excludes2 for I10",
      ["essential (primary) hypertension involving vessels of brain (I60-I69)", "H35.0-"]),
    q("codes", "Is G0439 billable?",
      ["Annual wellness visit", r"re:\bbillable"]),
    q("codes", "What is CPT 99999?",
      [r"re:99999 is not a CPT code"]),
    q("codes", "What does this code mean?",
      ["Type 2 diabetes mellitus with diabetic chronic kidney disease"],
      page=("icd-10-cm", "E1122")),
    # -- what the data cannot answer ---------------------------------------------------------
    q("unknown", "What's the weather tomorrow?",
      [DONT_KNOW, "/case2code?q=", "/consultant"]),
    q("unknown", "Who won the football game last night?",
      [DONT_KNOW, "/case2code?q=", "/consultant"]),
    q("unknown", "Tell me a joke",
      [DONT_KNOW, "/case2code?q=", "/consultant"]),
)  # fmt: skip


# -- matching -----------------------------------------------------------------------------------

_EMPHASIS = re.compile(r"(?<!\\)\*+")
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>|])")


def plain(markdown: str) -> str:
    """The answer's text as a reader sees it: emphasis and escapes removed."""
    return _ESCAPED.sub(r"\1", _EMPHASIS.sub("", markdown))


def has_fact(text: str, fact: str) -> bool:
    if fact.startswith("re:"):
        return re.search(fact[3:], text, re.I) is not None
    return fact.lower() in text.lower()


def names_code(text: str, code: str) -> bool:
    pattern = rf"(?<![\w.]){re.escape(code)}(?![\w]|\.\w)"
    return re.search(pattern, text, re.I) is not None


# -- running ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    question: Question
    text: str = ""
    intent: str = ""
    found: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Score:
    questions: int = 0
    facts: int = 0
    found: int = 0
    invented: int = 0

    def add(self, o: Outcome) -> None:
        self.questions += 1
        self.facts += len(o.found) + len(o.missed)
        self.found += len(o.found)
        self.invented += len(o.invented)

    @property
    def share(self) -> float:
        return self.found / self.facts if self.facts else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "facts": self.facts,
            "found": self.found,
            "share": round(self.share, 4),
            "invented": self.invented,
        }


def catalog_loaded(state_dir: Path) -> bool:
    """Whether every code set `portal data import` knows has a current release in the dir."""
    from features.case2code.importing.registry import IMPORTERS

    return {i.code_set for i in IMPORTERS} <= loaded_code_sets(state_dir)


def ensure_catalog(state_dir: Path) -> float | None:
    """Import every code set into the state dir unless it is there; seconds taken."""
    if catalog_loaded(state_dir):
        print(f"catalog already imported in {state_dir}: skipping the import", file=sys.stderr)
        return None
    print(f"importing every code set into {state_dir} ...", file=sys.stderr)
    started = time.perf_counter()
    output = portal_cli(state_dir, "data", "import", "--missing")
    if not catalog_loaded(state_dir):
        raise BenchError(f"`portal data import` did not load every code set:\n{output}")
    return time.perf_counter() - started


async def _exists(code: str) -> bool:
    """Whether the catalog holds the code in a system its shape allows."""
    from features.case2code import catalog
    from features.casepilot.code_check import find_codes

    mentions = find_codes(code)
    bare = code.replace(".", "").upper()
    systems = list(mentions[0].systems) if mentions else []
    if re.fullmatch(r"[0-9]{3}(?:\.[0-9]{1,2})?|V[0-9]{2}\.[0-9]{1,2}", code):
        systems = ["icd-9-cm"]
    for system in systems:
        if await catalog.get_code(system, bare) is not None:
            return True
        if system == "cpt" and await catalog.cpt_without_licence(bare) is not None:
            return True
    return False


async def check_set(questions: Sequence[Question]) -> list[str]:
    """Problems with the set itself: a required code the catalog lacks, a must-not code it has."""
    from features.casepilot.code_check import find_codes

    problems = []
    for item in questions:
        for fact in item.facts:
            if fact.startswith("re:"):
                continue
            for mention in find_codes(fact):
                if mention.certain and not await _exists(mention.text):
                    problems.append(f"{item.text!r}: required {mention.text} is not in the catalog")
        for code in item.must_not:
            if await _exists(code):
                problems.append(f"{item.text!r}: must-not {code} IS in the catalog")
    return problems


async def ask(item: Question) -> Outcome:
    from features.casepilot.code_check import check
    from features.casepilot.engine import Answer, Context, Turn
    from features.casepilot.intents import route
    from features.casepilot.offline_engine import OfflineEngine

    history = (Turn("user", item.before),) if item.before else ()
    context = Context(code=item.page, history=history)
    started = time.perf_counter()
    answer: Answer | None = None
    async for piece in OfflineEngine().answer(item.text, context):
        if isinstance(piece, Answer):
            answer = piece
    outcome = Outcome(item, seconds=time.perf_counter() - started)
    if answer is None:
        outcome.missed = list(item.facts)
        return outcome
    outcome.text, outcome.intent = answer.text, answer.intent
    shown = plain(answer.text)
    for fact in item.facts:
        (outcome.found if has_fact(shown, fact) else outcome.missed).append(fact)
    typed = {c.code for c in route(item.text, context).codes}
    for flag in await check(answer.text):
        if flag.problem in ("unknown", "wrong system") and flag.code.replace(".", "") not in typed:
            outcome.invented.append(f"{flag.code} ({flag.problem})")
    for code in item.must_not:
        if names_code(shown, code) and not any(i.startswith(code + " ") for i in outcome.invented):
            outcome.invented.append(f"{code} (must not)")
    return outcome


async def run_eval(
    state_dir: Path, questions: Sequence[Question]
) -> tuple[list[Outcome], list[str]]:
    from bench.search_eval import portal_runtime
    from features.case2code.search import service

    with contextlib.redirect_stdout(sys.stderr):  # piccolo prints its migrations
        runtime = portal_runtime(state_dir)
        await runtime.__aenter__()
    try:
        await service.ready()  # a web process warms its index at start; so does the bench
        problems = await check_set(questions)
        outcomes = [await ask(item) for item in questions]
    finally:
        await runtime.__aexit__(None, None, None)
    return outcomes, problems


# -- report -------------------------------------------------------------------------------------


def scores(outcomes: Sequence[Outcome]) -> tuple[dict[str, Score], Score]:
    by_topic: dict[str, Score] = {}
    overall = Score()
    for o in outcomes:
        by_topic.setdefault(o.question.topic, Score()).add(o)
        overall.add(o)
    return by_topic, overall


def print_report(outcomes: Sequence[Outcome], problems: Sequence[str]) -> None:
    by_topic, overall = scores(outcomes)
    if problems:
        print("SET CHECK: the evaluation set disagrees with the catalog:")
        for p in problems:
            print(f"  {p}")
    print(f"  {'topic':<12}{'questions':>10}{'facts':>8}{'found':>8}{'share':>8}{'invented':>10}")
    for topic in TOPICS:
        s = by_topic.get(topic)
        if s:
            print(
                f"  {topic:<12}{s.questions:>10}{s.facts:>8}{s.found:>8}{s.share:>8.1%}"
                f"{s.invented:>10}"
            )
    print(
        f"  {'overall':<12}{overall.questions:>10}{overall.facts:>8}{overall.found:>8}"
        f"{overall.share:>8.1%}{overall.invented:>10}"
    )
    met = overall.share >= TARGET_FACTS and overall.invented == 0
    print(f"targets (facts >= {TARGET_FACTS:.0%}, 0 invented codes): {'met' if met else 'NOT met'}")


def print_misses(outcomes: Sequence[Outcome], show: int) -> None:
    for o in outcomes:
        if not o.missed and not o.invented:
            continue
        print(f"\n[{o.question.topic}] {o.question.text!r} -> intent {o.intent}")
        for fact in o.missed:
            print(f"    missed:   {fact}")
        for code in o.invented:
            print(f"    invented: {code}")
        if show:
            for line in o.text.splitlines()[:show]:
                print(f"      | {line}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Facts found and codes invented by CasePilot's offline engine on the "
        "CasePilot evaluation set."
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="bench state dir (SQLite with every code set, imported when missing; default: a "
        "fresh temporary dir)",
    )
    parser.add_argument("--topic", choices=TOPICS, help="only this topic's questions")
    parser.add_argument("--misses", action="store_true", help="list missed facts and inventions")
    parser.add_argument(
        "--show", type=int, default=0, help="with --misses: print the first N lines of answers"
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    questions = [item for item in QUESTIONS if not args.topic or item.topic == args.topic]
    try:
        with state_directory(args.state_dir, "portal-bench-casepilot-") as state_dir:
            import_s = ensure_catalog(state_dir)
            started = time.perf_counter()
            outcomes, problems = asyncio.run(run_eval(state_dir, questions))
            seconds = time.perf_counter() - started
    except BenchError as exc:
        print(f"casepilot_eval: {exc}", file=sys.stderr)
        return 2
    print(f"CasePilot offline engine: {len(questions)} questions in {seconds:.1f} s")
    print_report(outcomes, problems)
    if args.misses:
        print_misses(outcomes, args.show)
    by_topic, overall = scores(outcomes)
    if args.json:
        summary = {
            "import_s": import_s,
            "set_problems": list(problems),
            "topics": {t: s.summary() for t, s in by_topic.items()},
            "overall": overall.summary(),
            "misses": [
                {
                    "question": o.question.text,
                    "topic": o.question.topic,
                    "intent": o.intent,
                    "missed": o.missed,
                    "invented": o.invented,
                }
                for o in outcomes
                if o.missed or o.invented
            ],
        }
        print(json.dumps(summary, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
