"""Phrases the catalog says two ways, learnt from its own names for codes.

ICD-10-CM often lists, under a code, another name that is the title with one phrase said
differently: "Traumatic rupture of carotid artery" under "Major laceration of carotid artery",
"Pressure ulcer with necrosis of soft tissues through to underlying muscle, tendon, or bone,
right elbow" under "Pressure ulcer of right elbow, stage 4". When several codes swap the same
phrase the same way, the swap is a rule of the classification, and it holds for the code whose
own inclusion term nobody wrote (or that a coder's wording does not match): a query with the one
phrase is searched with the other as well.

A phrase only one code says is learnt from that code alone ("Cerebrovenous sinus thrombosis in
pregnancy" under "Cerebral venous thrombosis in pregnancy": the puerperium's code is found by it
too). A phrase several codes add to their title, and nothing else (or one code, when no other
says it), is an elaboration the titles leave out (a rule with no target).

Only the texts the index holds teach it (held-out texts never do); the learning is on search
terms (text.stem), the rewritten query is written with the titles' words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MIN_CODES = 2  # a swap seen under one code only is that code's wording, not a rule...
# ...unless that code is about all the catalog says of the phrase ("cerebrovenous sinus" is
# in one name: what its code's title says instead is what it means).
RARE_PHRASE = 2  # codes whose texts hold every word of the phrase, at most
# The codes teaching a swap, at least this share of the names swapping its phrase away for
# anything: "traumatic rupture" is "major laceration" under vessels but "sprain" under ligaments.
MIN_SHARE = 0.5
# A phrase codes add to their title ("Vascular dementia, severe, with mood disturbance such as
# depression, apathy, or anhedonia"), of this many words at least: the titles leave it out, so a
# query saying it is searched without it. Fewer words name a kind ("common iliac vein").
MIN_ELABORATION = 3
MIN_SOURCE = 2  # one word said another way is the learnt expansions' (index._learn_expansions)
MAX_SOURCE = 12  # words of the phrase swapped away ("with necrosis of soft tissues ... bone")
MAX_TARGET = 3  # words of what the title says instead ("stage 4")
# Words of "not elsewhere classified", which says nothing about the phrase ("specified",
# "unspecified" and "other" do: "specified finger with unspecified laterality" is "other finger").
_NEUTRAL = frozenset({"classified", "elsewhere"})


@dataclass(frozen=True, slots=True)
class Rewrite:
    source: frozenset[str]  # the name's terms the title does not have
    target: tuple[str, ...]  # the title's words the name does not have, in title order
    codes: int  # how many codes taught it


# (code, a name's terms, its title's (term, word) pairs)
Pair = tuple[str, Sequence[str], Sequence[tuple[str, str]]]


def learn(
    pairs: Iterable[Pair], holding: Callable[[frozenset[str]], int]
) -> dict[str, list[Rewrite]]:
    """The rules the pairs teach, keyed by the smallest term of their source (a query that
    holds the source holds that term); `holding` counts the codes whose texts hold every term
    of a set."""
    taught: dict[tuple[frozenset[str], tuple[str, ...]], set[str]] = defaultdict(set)
    swapped_away: Counter[frozenset[str]] = Counter()
    for code, name, title in pairs:
        name_set = set(name)
        title_set = {t for t, _ in title}
        source = frozenset(name_set - title_set - _NEUTRAL)
        target_words = tuple(
            dict.fromkeys(w for t, w in title if t not in name_set and t not in _NEUTRAL)
        )
        if len(source) < MIN_SOURCE or name_set.isdisjoint(title_set):
            continue
        if not target_words and (
            len(source) < MIN_ELABORATION or not title_set <= name_set | _NEUTRAL
        ):
            continue
        if len(source) > MAX_SOURCE or len(target_words) > MAX_TARGET:
            continue
        swapped_away[source] += 1
        taught[source, target_words].add(code)
    rules: dict[str, list[Rewrite]] = {}
    for (source, target), codes in taught.items():
        if len(codes) < MIN_SHARE * swapped_away[source]:
            continue
        if len(codes) >= MIN_CODES or holding(source) <= RARE_PHRASE:
            rules.setdefault(min(source), []).append(Rewrite(source, target, len(codes)))
    for found in rules.values():
        found.sort(key=lambda r: (-len(r.source), -r.codes))
    return rules


def find(
    rules: dict[str, list[Rewrite]], terms: Sequence[str | None]
) -> list[tuple[Rewrite, list[int]]]:
    """The rules whose source the query's terms (None: not a single word) hold, the longest
    first and no term swapped twice, each with the positions of its source's terms."""
    held = {t for t in terms if t}
    candidates = [r for t in held for r in rules.get(t, ()) if r.source <= held]
    if not candidates:
        return []
    candidates.sort(key=lambda r: (-len(r.source), -r.codes))
    used: set[str] = set()
    applied: list[tuple[Rewrite, list[int]]] = []
    for rule in candidates:
        if used.isdisjoint(rule.source):
            used |= rule.source
            at: dict[str, int] = {}
            for i, term in enumerate(terms):
                if term in rule.source:
                    at.setdefault(term, i)
            applied.append((rule, sorted(at.values())))
    return applied
