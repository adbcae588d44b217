"""Consult analysis: the confirmed phrases of a case that name a procedure or a supply.

case_text finds problem phrases and their status; it does not tell a diagnosis ("acute
cholecystitis") from a procedure ("laparoscopic cholecystectomy"). Here a phrase is a procedure
when it sits in a procedure section or has a procedure word (a suffix such as -ectomy or
-scopy, or a word such as biopsy or repair), a supply when it names one the case says was
handed over. Its indication ("for rectal bleeding") stays a diagnosis; a procedure the case
plans or had before ("scheduled for", "s/p") is not coded as done.

Pure text work. The case is health information even when de-identified: nothing here logs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from features.case2code.case_text import Problem, Word
from features.consultant.analysis_text import (
    PROCEDURE,
    QUESTION,
    Kind,
    PreparedCase,
    blank,
    wordset,
)

# Words that make a confirmed phrase a procedure rather than a diagnosis.
_PROCEDURE_SUFFIX = re.compile(
    r"(?:ectomy|ectomies|otomy|otomies|ostomy|plasty|plasties|scopy|scopies|pexy|rrhaphy|"
    r"centesis|desis|tripsy|graphy|gram)$"
)
_PROCEDURE_WORDS = wordset(
    """
    repair repaired reduction excision excised resection resected biopsy biopsies removal
    removed insertion inserted injection injected drainage drained debridement debrided incision
    aspiration aspirated venipuncture phlebotomy panel draw transfusion ecg ekg vaccine
    vaccination immunization catheterization suture sutured sutures closure cast casting
    splinting ablation amputation implantation implanted graft grafting stent stenting cesarean
    c-section intubation anastomosis fixation orif arthrodesis cbc urinalysis i&d
    """
)
_SUPPLY_WORDS = wordset(
    """
    brace splint cane walker crutch crutches wheelchair cpap bipap glucometer lancets strips
    orthosis orthotic orthotics prosthesis sling collar stockings nebulizer boot
    """
)
# Procedure words that are verbs of an operative narrative rather than names of procedures.
_NARRATIVE = wordset(
    """
    repaired excised resected removed inserted injected drained debrided aspirated sutured
    implanted
    """
)
# A supply is coded when the note says it was handed over, not when the patient merely has one.
_SUPPLYING = re.compile(
    r"\b(?:dispensed|provided|fitted|supplied|issued|given|delivered|prescribed|ordered)\b",
    re.IGNORECASE,
)
# Verbs of doing, dropped from procedure queries ("underwent colonoscopy" -> "colonoscopy").
ACTION_WORDS = wordset(
    """
    performed underwent undergo undergoing done completed dispensed provided fitted supplied
    issued given delivered administered placed obtained drawn prescribed ordered procedure
    procedures
    """
)
_ACTION_RE = re.compile(r"\b(?:" + "|".join(sorted(ACTION_WORDS)) + r")\b", re.IGNORECASE)
# How and where a procedure was done: a phrase of these alone qualifies the one before it
# ("inguinal hernia repair, open").
APPROACH_WORDS = wordset(
    """
    open laparoscopic laparoscopically percutaneous endoscopic endoscopically arthroscopic
    robotic external closed transurethral transvaginal thoracoscopic via
    """
)
_SIDE_WORDS = wordset("left right bilateral l r lt rt")
# Phrases made only of these are results or measurements, not problems.
_RESULTS = wordset("normal unremarkable wnl nl negative positive stable fine good ok okay well")
_MEASURE = re.compile(
    r"[0-9]+(?:[.,/][0-9]+)*(?:cm|mm|ml|l|kg|g|mg|lb|lbs|in|%)?|cm|mm|ml|kg|mg|lb|lbs|in|inch|"
    r"inches|x|by"
)
# Where or when it was done: not words of the procedure ("nebulizer treatment in office").
_PLACES = wordset("office clinic today bedside room er ed department hospital home")
# Before a procedure's words: it is not done at this encounter.
_PLANNED = re.compile(
    r"\b(?:scheduled|schedule|planned|plan|plans|will|would|recommend|recommended|consider|"
    r"considering|refer|referred|referral|needs|need|candidate)\b",
    re.IGNORECASE,
)
_STATUS_POST = re.compile(r"\b(?:s/p|status[ -]post)\b", re.IGNORECASE)
# Words of those cues that case_text keeps in a phrase ("Scheduled cholecystectomy").
_CUE_WORD = re.compile(
    r"scheduled|schedule|planned|plan|plans|will|would|recommend|recommended|consider|"
    r"considering|refer|referred|referral|needs|need|candidate|s/p|status|post",
    re.IGNORECASE,
)
# Between a procedure's words and the reason for it: "colonoscopy for rectal bleeding".
_INDICATION = re.compile(r"\b(?:for|due to|secondary to|because of|to treat)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Action:
    """A confirmed phrase that names a procedure or a supply."""

    problem: Problem
    kind: Kind
    words: tuple[Word, ...]  # the procedure's own words (no verb, no indication)
    reason: tuple[Word, ...]  # the words of its indication, coded as diagnoses
    skipped: str = ""  # why it is not coded as done now: "planned", "status post"


def narrative(action: Action) -> bool:
    """Whether the phrase names its procedure only by a verb of the narrative ("30 mL
    aspirated", "gallbladder removed"): not a procedure to report when nothing codes it."""
    return not any(
        (_is_procedure_word(w.key) or w.key in _SUPPLY_WORDS) and w.key not in _NARRATIVE
        for w in action.words
    )


def _is_procedure_word(key: str) -> bool:
    return key in _PROCEDURE_WORDS or bool(_PROCEDURE_SUFFIX.search(key))


def in_question(problem: Problem, prepared: PreparedCase) -> bool:
    return bool(problem.words) and prepared.kind_at(problem.words[0].start) == QUESTION


def kind_of(problem: Problem, prepared: PreparedCase) -> Kind:
    keys = [w.key for w in problem.words]
    sentence = prepared.note[problem.sentence[0] : problem.sentence[1]]
    treated = "treatment" in keys  # "nebulizer treatment": the service, not the device
    if any(k in _SUPPLY_WORDS for k in keys) and _SUPPLYING.search(sentence) and not treated:
        return "supply"
    if treated and any(k in _SUPPLY_WORDS for k in keys):
        return "procedure"
    in_section = prepared.kind_at(problem.words[0].start) == PROCEDURE if keys else False
    if in_section or any(_is_procedure_word(k) for k in keys):
        return "procedure"
    return "diagnosis"


def _anchor(words: Sequence[Word]) -> int:
    """The index of the phrase's first procedure or supply word (0 when none names one, as in
    a procedure section: "Procedure: laparoscopic cholecystectomy" names it by its suffix)."""
    for i, word in enumerate(words):
        if _is_procedure_word(word.key) or word.key in _SUPPLY_WORDS:
            return i
    return 0


def _split_indication(
    note: str, words: Sequence[Word], anchor: int
) -> tuple[list[Word], list[Word]]:
    """The procedure's words and its indication's ("colonoscopy | for rectal bleeding"); only
    after the procedure word: in "scheduled for colonoscopy" the "for" is not an indication."""
    for i in range(anchor + 1, len(words)):
        if _INDICATION.search(note[words[i - 1].end : words[i].start]):
            return list(words[:i]), list(words[i:])
    return list(words), []


def action_of(problem: Problem, prepared: PreparedCase) -> Action | None:
    """The procedure or supply a confirmed phrase names, or None for a diagnosis."""
    kind = kind_of(problem, prepared)
    if kind == "diagnosis":
        return None
    note = prepared.note
    anchor = _anchor(problem.words)
    own, reason = _split_indication(note, problem.words, anchor)
    before = note[problem.sentence[0] : problem.words[anchor].start]
    skipped = ""
    if _STATUS_POST.search(before):
        skipped = "status post"
    elif _PLANNED.search(before):
        skipped = "planned"
    own = [
        w
        for w in own
        if w.key not in ACTION_WORDS and w.key not in _PLACES and not _CUE_WORD.fullmatch(w.text)
    ]
    return Action(problem, kind, tuple(own), tuple(reason), skipped)


def merged(actions: Sequence[Action]) -> list[Action]:
    """The actions to code: a phrase that only says how ("open") or which side joins the
    procedure before it in its sentence."""
    kept: list[Action] = []
    for action in actions:
        keys = {w.key for w in action.words}
        before = kept[-1] if kept else None
        if (
            before is not None
            and keys
            and keys <= APPROACH_WORDS | _SIDE_WORDS
            and before.problem.sentence == action.problem.sentence
            and not before.skipped
        ):
            words = tuple(sorted({*before.words, *action.words}, key=lambda w: w.start))
            kept[-1] = replace(before, words=words)
            continue
        kept.append(action)
    return kept


def without(note: str, spans: Iterable[tuple[int, int]]) -> str:
    """The note with these spans blanked (offsets kept)."""
    chars = list(note)
    for start, end in spans:
        blank(chars, start, end)
    return "".join(chars)


def is_noise(problem: Problem) -> bool:
    """A phrase that is a result or a measurement, not a problem: "normal", "3 cm"."""
    return all(w.key in _RESULTS or _MEASURE.fullmatch(w.key) for w in problem.words)


def diagnosis_note(
    prepared: PreparedCase, actions: Sequence[Action], problems: Sequence[Problem] = ()
) -> str:
    """The note case to code reads for diagnoses: the procedures' and supplies' own words (and
    the verbs of their sentences) blanked, their indications kept; results and measurements
    ("ECG normal", "3 cm") blanked too."""
    note = prepared.note
    # A question about a claim is not documentation: its codes were read, its words are not.
    spans = [(s.start, s.end) for s in prepared.sections if s.kind == QUESTION]
    spans += [(w.start, w.end) for p in problems if is_noise(p) for w in p.words]
    for action in actions:
        reason = {(w.start, w.end) for w in action.reason}
        own = [w for w in action.problem.words if (w.start, w.end) not in reason]
        spans += [(w.start, w.end) for w in own]
        for start, end in (action.problem.sentence, *action.problem.also_at):
            spans += [(m.start(), m.end()) for m in _ACTION_RE.finditer(note, start, end)]
            spans += [(m.start(), m.end()) for m in _STATUS_POST.finditer(note, start, end)]
        # case_text lists a phrase the case repeats once: its repeats go too.
        keys = "|".join(re.escape(w.text) for w in own)
        if keys and action.problem.also_at:
            repeated = re.compile(rf"(?<![\w/])(?:{keys})(?![\w/])", re.IGNORECASE)
            for start, end in action.problem.also_at:
                spans += [(m.start(), m.end()) for m in repeated.finditer(note, start, end)]
    return without(note, spans)
