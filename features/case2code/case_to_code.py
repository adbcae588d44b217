"""Case to code: a note's confirmed problems, each with its best candidate codes.

Combines the note's analysis (case_text) with the search engine: one query per confirmed
problem, the engine's candidates re-ordered to prefer the side and the encounter the note
states, and for a code that needs a 7th character the one the encounter implies. Every code
shown comes from the engine or the catalog; none is made up here.

The note is personal health information even when de-identified: nothing here logs or stores
it, nor the queries made from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from features.case2code import catalog
from features.case2code.case_text import (
    CaseText,
    Problem,
    Status,
    Word,
    analyse,
    check_note,
    is_body_part,
    spelt,
)
from features.case2code.search import service
from features.case2code.search.hits import (
    MAX_QUERY_CHARS,
    SearchHit,
    SearchQueryError,
    SearchResult,
)

SYSTEMS = {
    "icd-10-cm": "ICD-10-CM (diagnoses)",
    "icd-10-pcs": "ICD-10-PCS (inpatient procedures)",
    "hcpcs": "HCPCS Level II",
    "cpt": "CPT",
}
DEFAULT_SYSTEM = "icd-10-cm"
CANDIDATES = 3  # per problem
ENGINE_LIMIT = 20  # read from the engine before the side and encounter re-order them
MAX_PROBLEMS = 20  # confirmed problems looked up per note
MAX_ATTEMPTS = 8  # queries per problem, fallbacks included

_SIDED = ("left", "right", "bilateral")
_ENCOUNTER_IN_TITLE = (
    ("initial", re.compile(r"\binitial encounter\b", re.I)),
    ("subsequent", re.compile(r"\bsubsequent encounter\b", re.I)),
    ("sequela", re.compile(r"\bsequela\b", re.I)),
)
_ENCOUNTER_LABEL = {
    "initial": "initial encounter",
    "subsequent": "subsequent encounter",
    "sequela": "sequela",
}
_HEALING_WORDS = {
    "routine": "routine healing",
    "delayed": "delayed healing",
    "nonunion": "nonunion",
    "malunion": "malunion",
}
_MARKED = re.compile(r"<mark>(.*?)</mark>")
_NOT_EVIDENCE = frozenset({"with", "w/", "and", "or", "of"})


class UnknownSystem(ValueError):
    pass


@dataclass(frozen=True)
class Piece:
    """Part of a sentence of the note; `marked` parts support the problem."""

    text: str
    marked: bool


@dataclass(frozen=True)
class Seventh:
    """The 7-character code the note's encounter implies (it exists in the catalog)."""

    code: str
    display: str
    title: str
    meaning: str

    @property
    def url(self) -> str:
        return f"/codes/icd-10-cm/{self.display}"


@dataclass(frozen=True)
class Candidate:
    hit: SearchHit
    why: tuple[str, ...]  # the note's words behind it
    fits: tuple[str, ...] = ()  # what its title says as the note does: "left", "initial ..."
    seventh: Seventh | None = None
    seventh_hint: str | None = None  # a 7th character is needed but the note does not say which
    engine_rank: int = 0  # 1-based rank in the engine's answer before re-ordering


@dataclass(frozen=True)
class CodedProblem:
    problem: Problem
    excerpt: tuple[Piece, ...]
    query: str  # the words the candidates were found with
    candidates: tuple[Candidate, ...]
    also: tuple[Candidate, ...] = ()  # for words the main codes leave out ("stage 3")
    notice: str | None = None


@dataclass(frozen=True)
class NotCoded:
    problem: Problem
    excerpt: tuple[Piece, ...]
    reason: str  # shown: "negated", "uncertain", "history", "family history"


@dataclass(frozen=True)
class CaseResult:
    system: str
    coded: list[CodedProblem]
    not_coded: list[NotCoded]  # negated and uncertain
    history: list[NotCoded]
    skipped_sections: tuple[str, ...] = ()
    left_out: int = 0  # confirmed problems past MAX_PROBLEMS, not looked up
    releases: tuple[str, ...] = field(default=())

    @property
    def system_label(self) -> str:
        return SYSTEMS.get(self.system, self.system)

    @property
    def empty(self) -> bool:
        return not (self.coded or self.not_coded or self.history)


async def case_to_code(raw_note: str, system: str = DEFAULT_SYSTEM) -> CaseResult:
    """Candidate codes for a note's problems. Raises NoteError (empty, too long) and
    UnknownSystem; the messages are for the user."""
    if system not in SYSTEMS:
        raise UnknownSystem(f"Choose one of: {', '.join(SYSTEMS.values())}.")
    note = check_note(raw_note)
    text = analyse(note)
    confirmed = text.with_status(Status.CONFIRMED)
    searcher = _Searcher(system)
    coded = [await _code(text, p, searcher) for p in confirmed[:MAX_PROBLEMS]]
    not_coded = [
        NotCoded(p, excerpt(text.note, p, with_cue=True), p.status.value)
        for p in text.with_status(Status.NEGATED, Status.UNCERTAIN)
    ]
    history = [
        NotCoded(p, excerpt(text.note, p, with_cue=True), p.status.value)
        for p in text.with_status(Status.HISTORY, Status.FAMILY)
    ]
    # The releases the codes shown come from (the index holds every code set's).
    shown = [c.hit for item in coded for c in (*item.candidates, *item.also)]
    return CaseResult(
        system=system,
        coded=coded,
        not_coded=not_coded,
        history=history,
        skipped_sections=text.skipped_sections,
        left_out=max(0, len(confirmed) - MAX_PROBLEMS),
        releases=tuple(dict.fromkeys(h.release for h in shown if h.release)),
    )


def excerpt(note: str, problem: Problem, with_cue: bool = False) -> tuple[Piece, ...]:
    """The problem's sentence in pieces, its supporting words (and, for a problem not coded,
    the words that say why: "denies") marked."""
    start, end = problem.sentence
    spans = set(problem.spans)
    if with_cue and problem.cue:
        spans.update((w.start, w.end) for w in problem.cue.words)
    pieces: list[Piece] = []
    pos = start
    for s, e in sorted(spans):
        if s < start or e > end:
            continue
        if s > pos:
            pieces.append(Piece(note[pos:s], False))
        pieces.append(Piece(note[s:e], True))
        pos = e
    if pos < end:
        pieces.append(Piece(note[pos:end], False))
    # Words side by side ("chest" "pain") read better as one highlight.
    merged: list[Piece] = []
    for piece in pieces:
        if merged and merged[-1].marked and piece.marked:
            merged[-1] = Piece(merged[-1].text + piece.text, True)
        elif (
            merged
            and len(merged) >= 2
            and merged[-1].text.isspace()
            and merged[-2].marked
            and piece.marked
        ):
            gap = merged.pop()
            merged[-1] = Piece(merged[-1].text + gap.text + piece.text, True)
        else:
            merged.append(piece)
    return tuple(p for p in merged if p.text)


# ---------------------------------------------------------------------------------------------
# Looking a problem up


class _Searcher:
    """The engine, for one note: the same query is asked once."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.seen: dict[str, SearchResult | None] = {}

    async def __call__(self, words: Sequence[str]) -> SearchResult | None:
        query = " ".join(words)[:MAX_QUERY_CHARS].strip()
        if query not in self.seen:
            try:
                # Whole words: the last one is not completed as if still being typed.
                result = await service.search(
                    query, system=self.system, limit=ENGINE_LIMIT, complete=False
                )
            except SearchQueryError:
                result = None
            self.seen[query] = result
        return self.seen[query]


def _attempts(problem: Problem) -> list[tuple[list[Word], list[Word]]]:
    """Queries to try in order, each with the words it leaves for an additional code.

    The engine wants every word in a code; a note's phrase often has one word no title has.
    Fallbacks: without the side word (most conditions have no sided codes); the last "with"
    part trimmed from its end ("DM2 with CKD stage 3" -> "DM2 with CKD", leaving "CKD stage
    3" for an additional code); then without leading words ("community acquired pneumonia" ->
    "pneumonia": the head noun comes last in English), but never the body part, and never
    down to a body part alone ("swelling right ankle" must not become "ankle")."""
    words = list(problem.words)
    side = set(problem.laterality.words) if problem.laterality else set()
    tries: list[tuple[list[Word], list[Word]]] = [(words, [])]
    unsided = [w for w in words if w not in side]
    if side and unsided:
        tries.append((unsided, []))
    cut = [i for i, w in enumerate(unsided) if w.key in ("with", "w/")]
    if cut:
        last = cut[-1]
        for end in range(len(unsided) - 1, last + 1, -1):
            tries.append((unsided[:end], unsided[last + 1 :]))
        for start in reversed(cut):
            tries.append((unsided[:start], unsided[start + 1 :]))
    else:
        for start in range(1, len(unsided)):
            if is_body_part(unsided[start - 1]):
                break
            tries.append((unsided[start:], []))
    return [
        (q, rest)
        for q, rest in tries
        if any(w.key not in _NOT_EVIDENCE and not is_body_part(w) for w in q)
    ][:MAX_ATTEMPTS]


def _spelt(words: Sequence[Word]) -> list[str]:
    return spelt(words).split()


async def _code(text: CaseText, problem: Problem, search: _Searcher) -> CodedProblem:
    shown = excerpt(text.note, problem)
    first: tuple[list[Word], SearchResult] | None = None
    chosen: tuple[list[Word], list[Word], SearchResult] | None = None
    for attempt, (words, rest) in enumerate(_attempts(problem)):
        result = await search(_spelt(words))
        if result is None or not result.hits:
            continue
        first = first or (words, result)
        if result.partial:
            continue
        # A shortened query must still be what the best code is about: its title shows each
        # remaining word ("acquired pneumonia" finding "Congenital pneumonia" is not).
        wanted = [w.text for w in words if w.key not in _NOT_EVIDENCE]
        if attempt and set(wanted) - set(_why(words, result.hits[0], result)):
            continue
        chosen = (words, rest, result)
        break
    if chosen is None and first is None:
        return CodedProblem(
            problem, shown, problem.query, (), notice="No code matched these words."
        )
    notice = None
    if chosen is None:
        assert first is not None
        chosen = (first[0], [], first[1])
        notice = "No code has all of these words: these are the closest."
    words, rest, result = chosen
    candidates = await _candidates(problem, words, result, CANDIDATES)
    also: list[Candidate] = []
    if rest:
        extra = await search(_spelt(rest))
        if extra is not None and extra.hits and not extra.partial:
            also = await _candidates(problem, rest, extra, 1)
            also = [c for c in also if c.hit.code not in {x.hit.code for x in candidates}]
    return CodedProblem(
        problem, shown, " ".join(_spelt(words)), tuple(candidates), tuple(also), notice
    )


# ---------------------------------------------------------------------------------------------
# Candidates


def encounter_in_title(title: str) -> str | None:
    for value, pattern in _ENCOUNTER_IN_TITLE:
        if pattern.search(title):
            return value
    return None


def preference(hit: SearchHit, problem: Problem) -> int:
    """How well a code's title agrees with the side and encounter the note states (higher is
    better). With nothing stated, a code for a side the note does not name comes after the
    unspecified one: coders code what is documented."""
    score = 0
    side = problem.laterality.value if problem.laterality else None
    if side:
        if hit.laterality == side:
            score += 2
        elif hit.laterality in _SIDED:
            score -= 3
        elif hit.laterality == "unspecified side":
            score -= 1
    elif hit.laterality in _SIDED:
        score -= 1
    said = encounter_in_title(hit.title)
    if problem.encounter and said:
        score += 1 if said == problem.encounter.value else -2
    return score


def choose_seventh(meanings: dict[str, str], problem: Problem) -> str | None:
    """The 7th character the note's encounter implies, from the characters a code takes
    ({"A": "initial encounter for closed fracture", ...}); None when the note does not say or
    the characters are not about encounters (glaucoma stages, coma scales)."""
    if problem.encounter is None:
        return None
    wanted = problem.encounter.value
    options = [(c, m.lower()) for c, m in meanings.items()]
    if wanted == "sequela":
        return next((c for c, m in options if m.startswith("sequela")), None)
    pool = [(c, m) for c, m in options if m.startswith(f"{wanted} encounter")]
    if not pool:
        return None
    if not any("fracture" in m for _, m in pool):
        return pool[0][0]
    open_fracture = problem.fracture is not None and problem.fracture.value == "open"
    pool = [(c, m) for c, m in pool if ("open fracture" in m) == open_fracture] or pool
    if wanted == "subsequent":
        healing = _HEALING_WORDS[problem.healing.value if problem.healing else "routine"]
        pool = [(c, m) for c, m in pool if healing in m] or pool
    return pool[0][0]


async def _seventh_options(hit: SearchHit) -> list[catalog.CodeView]:
    """The codes that differ from the hit only by their 7th character, from the catalog."""
    if hit.system != "icd-10-cm":
        return []
    if hit.needs_seventh:
        kids = await catalog.children(hit.system, hit.code)
        return [k for k in kids if k.details.get("seventh_char")]
    if len(hit.code) == 7:
        view = await catalog.get_code(hit.system, hit.code)
        if view is not None and view.details.get("seventh_char") and view.parent:
            kids = await catalog.children(hit.system, view.parent)
            return [k for k in kids if k.details.get("seventh_char")]
    return []


async def _seventh(hit: SearchHit, problem: Problem) -> tuple[Seventh | None, str | None]:
    options = await _seventh_options(hit)
    if not options:
        return None, None
    meanings = {
        k.details["seventh_char"]["char"]: k.details["seventh_char"]["meaning"] for k in options
    }
    char = choose_seventh(meanings, problem)
    if char is None:
        if hit.needs_seventh:
            return None, (
                "Needs a 7th character; the note does not say which "
                f"({', '.join(sorted(meanings))}): choose it on the code page."
            )
        return None, None
    picked = next(k for k in options if k.details["seventh_char"]["char"] == char)
    # Checked once more by its own code: only a code the catalog holds is ever shown.
    view = await catalog.get_code(hit.system, picked.code)
    if view is None:
        return None, None
    return Seventh(view.code, view.display, view.title, meanings[char]), None


def _why(words: Sequence[Word], hit: SearchHit, result: SearchResult) -> list[str]:
    """The note's words that the code's title answers: the word itself, its spelling out
    ("L" -> left) or what the engine expanded it to ("HTN" -> hypertension)."""
    marked = {m.lower() for m in _MARKED.findall(str(hit.title_html))}
    if not marked:
        return []
    found: list[str] = []
    for word in words:
        if word.key in _NOT_EVIDENCE:
            continue
        spelt = _spelt([word])[0].lower()
        forms = {word.key, spelt}
        for typed, expanded in (*result.expansions.items(), *result.corrections.items()):
            if spelt in typed.split() or word.key in typed.split():
                forms.update(re.split(r"[\s/]+", expanded.lower()))
        if any(_same_word(f, m) for f in forms for m in marked) and word.text not in found:
            found.append(word.text)
    return found


def _same_word(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    # "fracture" / "fractures" / "fractured": the same word for a reader.
    return len(short) >= 4 and long_.startswith(short.rstrip("es")) and len(long_) - len(short) <= 3


async def _candidates(
    problem: Problem, words: Sequence[Word], result: SearchResult, keep: int
) -> list[Candidate]:
    # A code that can be reported (billable, or with its 7th character) before a heading.
    ranked = sorted(
        enumerate(result.hits),
        key=lambda pair: (
            -preference(pair[1], problem),
            not (pair[1].billable or pair[1].needs_seventh),
            pair[0],
        ),
    )
    chosen: list[Candidate] = []
    for rank, hit in ranked[:keep]:
        seventh, hint = await _seventh(hit, problem)
        title = seventh.title if seventh else hit.title
        why = _why(words, hit, result)
        fits: list[str] = []
        if problem.laterality and hit.laterality == problem.laterality.value:
            fits.append(problem.laterality.value)
            why += [w.text for w in problem.laterality.words if w.text not in why]
        said = encounter_in_title(title)
        if problem.encounter and said == problem.encounter.value:
            fits.append(_ENCOUNTER_LABEL[said])
            why.append(problem.encounter.text)
        chosen.append(Candidate(hit, tuple(why), tuple(fits), seventh, hint, rank + 1))
    return chosen
