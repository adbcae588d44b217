"""Consult analysis: which candidate code fits the note best.

Case to code keeps three candidates per problem, ordered by the engine's relevance and by the
side and encounter the note states. For a draft that goes to a coder one more question
matters: does the code say something the note does not? "Crohn's disease ... with rectal
bleeding" for "rectal bleeding" names a disease the note never mentions; "Chronic fatigue" adds
an acuity, "with gangrene" a complication, "Prolapse and hernia of right ovary" an organ. The
words the engine matched are marked in each hit's title (<mark>), which is what this reads.

The engine's wider answer for the same query (the search caches it: case to code asked it a
moment ago) adds billable codes case to code left out, so that "Unilateral inguinal hernia,
without obstruction or gangrene" can win over the sided ovarian hernia.
"""

from __future__ import annotations

import re
from dataclasses import replace

from features.case2code.case_text import Problem, Word, is_body_part
from features.case2code.case_to_code import ENGINE_LIMIT, Candidate, CodedProblem, preference
from features.case2code.search import service
from features.case2code.search.hits import SearchHit, SearchQueryError
from features.consultant.analysis_text import wordset

CM = "icd-10-cm"
# Where a title's qualifying parts start: "Type 1 diabetes mellitus | with periodontal disease".
_TITLE_PARTS = re.compile(r"[,;]|(?=\bwith(?:out)?\b)", re.IGNORECASE)
_TITLE_WORD = re.compile(r"[a-z0-9]+")
_MARKED = re.compile(r"<mark>(.*?)</mark>")
_GENERIC = wordset(
    "with without and or of the in to by for on at as other unspecified disease disorder "
    "condition complication complications type s"
)
# Parts that state the default, as "without ..." does.
_DEFAULTS = re.compile(r"\s*(?:without|not specified as|not elsewhere classified|nec\b|nos\b)")
_CONNECTORS = wordset("with without w/ and or of the in to by for on at as")
_SIDES = wordset("left right bilateral unilateral")
_NONESSENTIAL = re.compile(r"\([^)]*\)")  # "(acute) exacerbation": the title's own optional word
# Acuity, course and population: a code may only say them when the note does.
_QUALIFIERS = wordset(
    "acute chronic subacute recurrent persistent intermittent intractable severe moderate mild "
    "primary secondary complicated neonatal newborn perinatal fetal maternal congenital "
    "childhood infant infantile juvenile puerperal pregnancy gestational postprocedural "
    "postoperative intraoperative"
)


def _marked(candidate: Candidate) -> set[str]:
    return {m.lower() for m in _MARKED.findall(str(candidate.hit.title_html))}


def _content(text: str) -> list[str]:
    return [w for w in _TITLE_WORD.findall(text.lower()) if w not in _GENERIC]


def _parts(title: str) -> list[str]:
    return _TITLE_PARTS.split(title)


def names_the_condition(candidate: Candidate) -> bool:
    """Whether the title's main part (before its first comma or "with") has a word the note's
    words matched: "Crohn's disease, unspecified, with rectal bleeding" for "rectal bleeding"
    does not."""
    words = _content(_parts(candidate.hit.title)[0])
    return not words or bool(set(words) & _marked(candidate))


def unsaid(candidate: Candidate) -> list[str]:
    """What the title says that the note's words do not: qualifying parts ("with gangrene",
    ", presymptomatic") and acuity words ("chronic"). Parts that state the default ("without
    ...", "not specified as ...") and nonessential words in parentheses never count."""
    marked = _marked(candidate)
    head, *parts = _parts(_NONESSENTIAL.sub(" ", candidate.hit.title))
    found: list[str] = []
    kept = [head]
    for part in parts:
        if _DEFAULTS.match(part.lower()):
            continue
        kept.append(part)
        # The site is the side and encounter's business (case to code prefers the stated one):
        # a part is judged on what else it says ("with foreign body of left forearm").
        words = [w for w in _content(part) if not _is_site(w)]
        if words and sum(w in marked for w in words) * 2 < len(words):
            found.append(_without_site(" ".join(part.split()).strip(" ,;")))
    said = " ".join(found).lower()
    qualifiers = set(_TITLE_WORD.findall(" ".join(kept).lower())) & _QUALIFIERS
    found += [w for w in sorted(qualifiers - marked) if w not in said]
    return found


def _without_site(part: str) -> str:
    """The part as shown, its site left out: "with foreign body (of left forearm)"."""
    match = re.search(r"\s(?:of|at|in)\s(.*)$", part)
    if match and all(_is_site(w) for w in _content(match.group(1))):
        return part[: match.start()]
    return part


def _head_extra(candidate: Candidate) -> int:
    """Whether the title's main part names structures the note does not: "Laceration of
    unspecified blood vessel at forearm level" for a laceration of the forearm, "Prolapse and
    hernia of right ovary" for an inguinal hernia. One word is let pass: the search's own
    expansions ("wrist" -> carpal) leave "bone" unmarked. It weighs as two unsaid parts: a
    wrong structure is worse than an unstated complication."""
    head = _parts(candidate.hit.title)[0]
    return 2 if len(set(_content(head)) - _marked(candidate)) >= 2 else 0


def _is_site(word: str) -> bool:
    return word in _SIDES or is_body_part(Word(word, 0, len(word)))


def supporting(
    candidate: Candidate, problem: Problem, expansions: dict[str, str] | None = None
) -> list[str]:
    """The problem's words the code's title has: the ones case to code found, those written
    a little differently ("calculous" for the title's "Calculus") and abbreviations the search
    spelt out ("COPD" -> chronic obstructive pulmonary disease)."""
    marked = _marked(candidate)
    spelt = {k.lower(): set(_TITLE_WORD.findall(v.lower())) for k, v in (expansions or {}).items()}
    found: list[str] = []
    for word in problem.words:
        key = word.key
        if key in _CONNECTORS:
            continue
        near = len(key) >= 5 and any(m[:5] == key[:5] for m in marked)
        expanded = bool(spelt.get(key, set()) & marked)
        if word.text in candidate.why or key in marked or near or expanded:
            found.append(word.text)
    return found


def _reportable(candidate: Candidate) -> bool:
    hit = candidate.hit
    return hit.billable or candidate.seventh is not None or hit.needs_seventh


def ranked(candidates: tuple[Candidate, ...], problem: Problem) -> list[Candidate]:
    """The candidates that name the note's condition, best first: a reportable code, then the
    one that adds least the note does not say, then the one with most of the note's words;
    ties keep the order given (case to code's, which prefers the side and encounter the note
    states)."""
    kept = [(i, c) for i, c in enumerate(candidates) if names_the_condition(c)]
    kept.sort(
        key=lambda pair: (
            not _reportable(pair[1]),
            len(unsaid(pair[1])) + _head_extra(pair[1]),
            -len(supporting(pair[1], problem)),
            pair[0],
        )
    )
    return [c for _, c in kept]


async def widened(coded: CodedProblem) -> tuple[Candidate, ...]:
    """Case to code's candidates, then the engine's other billable codes for the same query
    (none for a side the note does not state, none that needs a 7th character: case to code
    already picked those)."""
    try:
        result = await service.search(coded.query, system=CM, limit=ENGINE_LIMIT, complete=False)
    except SearchQueryError:
        return coded.candidates
    if result.partial:
        return coded.candidates
    have = {c.hit.code for c in (*coded.candidates, *coded.also)}
    extra = [
        _found(hit, rank, coded.problem, result.expansions)
        for rank, hit in enumerate(result.hits, start=1)
        if hit.code not in have
        and hit.billable
        and not hit.needs_seventh
        and preference(hit, coded.problem) >= 0
    ]
    return (*coded.candidates, *extra)


def _found(hit: SearchHit, rank: int, problem: Problem, expansions: dict[str, str]) -> Candidate:
    bare = Candidate(hit, (), engine_rank=rank)
    return replace(bare, why=tuple(supporting(bare, problem, expansions)))
