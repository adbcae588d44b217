"""The search index: an inverted index over the catalog held in numpy arrays, one per process.

Why our own: it behaves the same whichever database the portal runs on (SQLite or PostgreSQL),
every app process loads it from a file in well under a second, and its ranking is ours to shape
the way a coder thinks (README "Search" compares it with SQLite FTS5, measured).

How a query runs: the words become groups (a word, or an abbreviation / lay phrase with its
expansions); each word resolves to index terms (itself, the completion of a half-typed last word,
or the nearest spelling for a typo, and, weighed lower, the title words the catalog's other names
for codes translate it to: "tumor" -> neoplasm, learnt from the data; a phrase the catalog says
two ways is searched both ways: rewrites.py; a code named among the words is searched as its
title); a code must match every group, or all but one at a penalty, or (when few do) match a
group through its siblings, as a Table of Drugs row names a drug in some columns only. Scores
add the matched words' weight (field weight x idf), how much of the title the query covers, and
the coder's tie-breakers: billable over headings, the unspecified / "without complications" code
for a bare condition (the "other" code for a kind no code names), a title that starts with the
query's word, contexts the query does not name ranked down (pregnancy, history, a secondary
neoplasm, a sequela or manifestation). Codes built from a 7th character fold into their
6-character parent unless the query asked for the encounter.
"""

from __future__ import annotations

import itertools
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from features.case2code.search import lexicon, rewrites, wordparts
from features.case2code.search import synonyms as synonym_lists
from features.case2code.search.documents import (
    ICD9,
    INCLUDES,
    INCLUSION,
    INDEX,
    SEARCHED_SYSTEMS,
    SHORT,
    TITLE,
    XREF,
    Document,
)
from features.case2code.search.hits import SearchHit, SearchResult
from features.case2code.search.text import (
    STOPWORDS,
    code_key,
    derivation_keys,
    stem,
    tokens,
    words,
)

FIELD_WEIGHTS = {
    TITLE: 1.0,
    SHORT: 0.7,
    INCLUSION: 0.85,
    INCLUDES: 0.6,
    INDEX: 0.75,
    XREF: 0.7,
    ICD9: 0.8,
}
COVERAGE_WEIGHT = 1.2  # the share of the title's words the query matched
# Titles longer than this many words (HCPCS quality-measure codes run to hundreds) weigh their
# matched words by sqrt(LONG_TITLE / words): two words in a paragraph say less than in a name.
LONG_TITLE = 20
BILLABLE_BONUS = 0.5
GENERIC_BONUS = 0.4  # "unspecified", "without complications": a bare condition's default code
DEFAULT_CHILD_EDGE = 0.01  # a heading's "unspecified" child above where the heading was
NOS_FACTOR = 2.5  # GENERIC_BONUS times this when the query says "NOS" or "unspecified"
LEAD_TERM_BONUS = 0.3  # the title starts with a query word, as an index main term does
PREFIX_FACTOR = 0.9  # a half-typed last word counts a little less than a whole one
# ...and much less when the word typed so far is a word itself ("pneumonia" -> "pneumoniae").
COMPLETION_FACTOR = 0.4
QUALIFIER_PENALTY = 0.3  # the query's word only in what qualifies a title's condition
PHRASE_BONUS = 0.4  # the query's words side by side in the title, in its order
ENTRY_BONUS = 1.5  # a name or index entry the query says whole (_entry_bonus)
ENTRY_MAX_TERMS = 8
# Codes ranked past the limit before the last bonuses (phrases, entries, headings' children),
# which can lift one of them into the results.
CANDIDATES_BEYOND_LIMIT = 20
LATE_BONUS_MAX = PHRASE_BONUS + ENTRY_BONUS + DEFAULT_CHILD_EDGE  # the most they add
# Pregnancy and perinatal codes apply only in that context: with equal matches, others first.
# Z codes of a condition's history, screening or encounter, likewise: "immune disease" is the
# disease, not "Family history of ..." nor "Encounter for screening for ...". A query saying
# one of the context's words lifts its penalty (chapters 15 and 16 as well).
CONTEXT_TITLES = re.compile(r"^(personal history|family history|encounter for|screening)", re.I)
CONTEXT_PENALTY = -0.3
# A secondary (metastatic) neoplasm is not what "malignant neoplasm of X" asks for: the Neoplasm
# Table's primary column is the default, and the secondary codes' index entries name the same
# sites, so they lose what a missing word of the query would.
SECONDARY_TITLES = re.compile(r"^secondary (and unspecified )?malignant neoplasm", re.I)
SECONDARY_PENALTY = -2.0
# A manifestation code ("... in diseases classified elsewhere") is never listed first: the
# underlying condition is coded first, so it is not what a bare condition asks for.
MANIFESTATION_PENALTY = -1.0
MANIFESTATION = 5  # its CONTEXT_WORDS kind
# A sequela of stroke (I69: "Fluency disorder following cerebral infarction") needs the stroke
# the query has not named: it loses what a missing word would, as a secondary neoplasm does.
SEQUELA_PENALTY = -2.0
SEQUELA = 6  # its CONTEXT_WORDS kind
MANIFESTATION_TITLES = re.compile(r"\bin (diseases|conditions) classified elsewhere\b", re.I)
# fmt: off
CONTEXT_WORDS = {  # search terms (text.stem) that lift a kind's penalty
    1: frozenset({
        "pregnancy", "pregnant", "maternal", "childbirth", "puerperium", "puerperal", "obstetric",
        "antepartum", "postpartum", "delivery", "labor", "gestation", "trimester", "abortion",
        "eclampsia", "fetus", "fetal",
    }),
    2: frozenset({
        "newborn", "neonatal", "neonate", "perinatal", "fetus", "fetal", "birth", "infant",
        "preterm", "premature",
    }),
    3: frozenset({
        "history", "family", "personal", "screening", "encounter", "examination", "follow",
        "status", "observation", "prophylactic",
    }),
    4: frozenset({"secondary", "metastatic", "metastasis", "metastase", "met", "spread"}),
    5: frozenset({"classified", "elsewhere", "manifestation"}),  # MANIFESTATION
    6: frozenset({
        "following", "sequela", "sequelae", "late", "residual", "history", "stroke", "cva",
        "infarction", "hemorrhage", "cerebrovascular",
    }),  # SEQUELA
}
# fmt: on
_CONTEXT_OF_CHAPTER = {"15": 1, "16": 2}
# The Neoplasm Table's rows name the site the title names another way ("choledochal duct" under
# "... of extrahepatic bile ducts"), which teaches the learnt expansions; the Table of Drugs' rows
# name a drug under its class, which teaches noise.
NEOPLASM_CHAPTER = "2"
# Penalty by kind (index 0: no context).
_CONTEXT_PENALTIES = np.array(
    [
        0.0,
        CONTEXT_PENALTY,
        CONTEXT_PENALTY,
        CONTEXT_PENALTY,
        SECONDARY_PENALTY,
        MANIFESTATION_PENALTY,
        SEQUELA_PENALTY,
    ],
    np.float32,
)
TYPO_FACTOR = 0.85
# A code matching some groups of the query competes, this much below per missing group (_near).
PARTIAL_PENALTY = 2.0
# A query's words the titles leave out ("... such as depression, apathy, or anhedonia", which
# the inclusion terms add to "with mood disturbance") are dropped when this many groups remain.
ELABORATION_MIN_REST = 2
OTHER_BONUS = 1.0  # an "Other ..." code missing a group: the kind nobody named (_near_matches)
NEAR_MAX_DOCS = 5000
NEAR_DENSE_FROM = 2048  # candidates from which a catalog-wide position array pays
NEAR_MIN_GROUPS = 1  # near matches match at least this many of the query's groups
NEAR_ENOUGH = 60  # codes missing one group enough to leave out those missing more
NEAR_WHEN_FEWER = 40  # full matches below which near matches are looked for (_near)
# Learnt expansions (_learn_expansions): a query word also matches the title words the catalog's
# other names for a code translate it to ("tumor" -> neoplasm), at this share of their weight.
EXPANSION_FACTOR = 0.5
REWRITE_FACTOR = 0.9  # the query with a phrase said as the titles say it (rewrites)
VARIANT_FACTOR = 0.8  # "neurotic" for "neurosis": the same thing said another way
VARIANTS_MAX = 3
EXPANSION_MIN_P = 0.2  # p(title word | word) below this is noise
EXPANSION_MIN_PAIRS = 2  # a word seen in fewer (name, title) pairs teaches nothing...
EXPANSION_RARE = 1  # ...unless no other code uses it ("boutonneuse": its one name is all)
# Words of more codes than this are neither expanded nor an expansion: common words say little
# and their long postings cost every query that has them.
EXPANSION_MAX_DF = 5000
EXPANSION_MAX = 3  # title words per query word
EXPANSION_ROUNDS = 6  # EM iterations
GROUP_CACHE_SIZE = 4096  # query groups kept per process (then the cache starts afresh)
GROUP_CACHE_MAX_DOCS = 20_000  # larger matches are recomputed: memory over speed
# Full matches below which codes matching a group through a sibling compete too
# (_family_match): the Table of Drugs names a drug in some of its columns only.
FAMILY_WHEN_FEWER = 5
# Groups matching more codes than this are not extended to the siblings when some codes match
# every group: a common word ("adverse effect", "assault") is the column a title says itself.
FAMILY_MAX_DOCS = 2000
FAMILY_FACTOR = 0.7  # a group matched by a sibling code, not the code itself
ORIGINAL_FACTOR = 0.5  # an abbreviation or lay phrase as typed, against its expansions
PARTS_MIN_LENGTH = 7  # words read from their parts (wordparts): "nephrectomy", not "colic"
# Diagnoses are what most searches are after: with equal matches, ICD-10-CM first.
SYSTEM_PRIOR = np.array([0.15 if s == "icd-10-cm" else 0.0 for s in SEARCHED_SYSTEMS], np.float32)

_GENERIC = re.compile(
    r"\bunspecified\b|\bnot specified\b|\bwithout complications?\b|\buncomplicated\b|\bNOS\b",
    re.I,
)
_NOT_CONTENT = frozenset({"unspecified", "specified", "not", "organism"})
_NAME_FIELDS = frozenset({INCLUSION, INCLUDES, XREF, ICD9})
# Words of every kind of title: nothing to learn about what they translate to.
_NOT_LEARNT = _NOT_CONTENT | {"other", "without", "classified", "elsewhere"}


@dataclass
class _Match:
    """Documents matching part of a query (sorted, unique), with their score so far and how
    many of the matched words are in their title."""

    docs: np.ndarray
    score: np.ndarray
    title: np.ndarray

    @classmethod
    def merge(cls, docs: np.ndarray, score: np.ndarray, title: np.ndarray) -> _Match:
        """Rows of possibly repeated documents: each document once, with its best row."""
        if not len(docs):
            return cls(docs, score, title)
        order = np.argsort(docs, kind="stable")
        docs, score, title = docs[order], score[order], title[order]
        first = np.ones(len(docs), bool)
        first[1:] = docs[1:] != docs[:-1]
        starts = np.flatnonzero(first)
        return cls(
            docs[starts], np.maximum.reduceat(score, starts), np.maximum.reduceat(title, starts)
        )

    @classmethod
    def either(cls, options: list[_Match]) -> _Match:
        if len(options) == 1:
            return options[0]
        return cls.merge(
            np.concatenate([o.docs for o in options]),
            np.concatenate([o.score for o in options]),
            np.concatenate([o.title for o in options]),
        )

    @classmethod
    def most(cls, matches: list[_Match]) -> _Match:
        """The documents matching the most parts (the fallback when none matches them all)."""
        docs = np.concatenate([m.docs for m in matches])
        score = np.concatenate([m.score for m in matches])
        title = np.concatenate([m.title for m in matches])
        order = np.argsort(docs, kind="stable")
        docs, score, title = docs[order], score[order], title[order]
        unique, starts, counts = np.unique(docs, return_index=True, return_counts=True)
        wanted = counts == counts.max()
        return cls(
            unique[wanted],
            np.add.reduceat(score, starts)[wanted],
            np.add.reduceat(title, starts)[wanted],
        )

    def both(self, other: _Match) -> _Match:
        # Both are sorted and unique: look the smaller up in the larger (no sort needed).
        small, large = (self, other) if len(self.docs) <= len(other.docs) else (other, self)
        at = np.searchsorted(large.docs, small.docs)
        found = at < len(large.docs)
        found[found] = large.docs[at[found]] == small.docs[found]
        s_idx, l_idx = np.flatnonzero(found), at[found]
        mine, theirs = (s_idx, l_idx) if small is self else (l_idx, s_idx)
        docs = small.docs[s_idx]
        return _Match(
            docs,
            self.score[mine] + other.score[theirs],
            self.title[mine] + other.title[theirs],
        )

    def scaled(self, factor: float) -> _Match:
        return _Match(self.docs, self.score * factor, self.title)

    def only(self, allowed: np.ndarray) -> _Match:
        keep = allowed[self.docs]
        return _Match(self.docs[keep], self.score[keep], self.title[keep])


@dataclass
class _GroupMatch:
    """A group's matches and what the result says about it."""

    match: _Match | None = None
    corrections: dict[str, str] = field(default_factory=dict)
    terms: set[int] = field(default_factory=set)
    first_terms: set[int] = field(default_factory=set)  # its first word's
    phrases: list[str] = field(default_factory=list)


@dataclass
class _Group:
    """One concept of the query: a word, or a phrase with the words it stands for."""

    label: str
    alternatives: list[list[str]]  # each a list of words that must all match; the typed first
    # The words as typed count less than what they stand for ("htn" in a quality-measure title
    # is not what a coder typing HTN is after), unless the list names them too ("wrist").
    typed_weight: float = 1.0
    other_weight: float = 1.0  # the other alternatives' (a phrase rewritten: REWRITE_FACTOR)


@dataclass
class _Combined:
    """What a query's groups match together (SearchIndex._combined)."""

    best: _Match | None = None
    partial: bool = False  # some group matched nothing, or no code matched every group
    corrections: dict[str, str] = field(default_factory=dict)
    terms: set[int] = field(default_factory=set)  # the matched terms, to mark in titles
    lead_terms: set[int] = field(default_factory=set)  # the first word's
    phrases: list[str] = field(default_factory=list)


class SearchIndex:
    def __init__(self) -> None:
        # Per document (arrays indexed by document number).
        self.systems: list[str] = []
        self.codes: list[str] = []
        self.displays: list[str] = []
        self.titles: list[str] = []
        self.kinds: list[str] = []
        self.releases: list[str] = []
        self.chapters: list[str | None] = []
        self.excludes1: dict[int, tuple[str, ...]] = {}
        self.excludes1_up: dict[int, tuple[str, ...]] = {}  # with the parents', filled as asked
        self.system_id = np.zeros(0, np.int8)
        self.billable = np.zeros(0, bool)
        self.needs_seventh = np.zeros(0, bool)
        self.generic = np.zeros(0, np.float32)
        self.other = np.zeros(0, np.float32)  # 1 for an "Other ..." code (_near_matches)
        # The terms an ICD-10-CM title says only in what qualifies its condition
        # (G20B1: dyskinesia, fluctuation), for the titles that have some: _qualifier_penalty.
        self.qualified: dict[int, tuple[str, ...]] = {}
        self.chapter_id = np.zeros(0, np.int16)
        self.parent = np.zeros(0, np.int32)  # document number of the parent code, or -1
        # The children of document d: child_docs[child_offsets[d] : child_offsets[d + 1]].
        self.child_offsets = np.zeros(1, np.int64)
        self.child_docs = np.zeros(0, np.int32)
        self.seventh_parent = np.zeros(0, np.int32)  # for 7-character codes, else -1
        self.default_child = np.zeros(0, np.int32)  # a heading's "unspecified" child, else -1
        self.seventh_terms: dict[int, frozenset[int]] = {}  # the 7th character's words
        self.title_len = np.zeros(0, np.float32)
        self.length_factor = np.zeros(0, np.float32)  # LONG_TITLE
        self.first_term = np.zeros(0, np.int32)
        self.code_len = np.zeros(0, np.int8)
        self.context = np.zeros(0, np.int8)  # the CONTEXT_WORDS kind of each code, or 0
        # What ranks a code before the query is read: billable, system, context penalty.
        self.prior = np.zeros(0, np.float32)
        self.sort = np.zeros(0, np.int32)
        # Terms: term -> id; postings in CSR form (documents, weight, in title).
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.offsets = np.zeros(1, np.int64)
        self.post_docs = np.zeros(0, np.int32)
        self.post_weight = np.zeros(0, np.float32)
        self.post_title = np.zeros(0, np.int8)
        self.idf = np.zeros(0, np.float32)
        # Words as written, for completion and typos: sorted list, doc frequency, by initial.
        self.surface_sorted: list[str] = []
        self.surface_df: dict[str, int] = {}
        self.surface_by_initial: dict[str, list[str]] = {}
        # Codes: sorted normalised codes and their documents, for code and prefix queries.
        self.code_sorted: list[str] = []
        self.code_docs = np.zeros(0, np.int32)
        self.synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        # term -> [(term, p)]: what the title says for a word of a code's other names.
        self.variants: dict[int, list[int]] = {}  # term -> its derivational variants
        self.expansions: dict[int, list[tuple[int, float]]] = {}
        # A phrase's other wording in the titles, by a term of it (rewrites.learn).
        self.rewrites: dict[str, list[rewrites.Rewrite]] = {}
        self.title_stems: list[str] = []  # each title's search terms, spaced: " a b c "
        # Each ICD-10-CM code's other names and index entries (2 to ENTRY_MAX_TERMS terms) by
        # the hash of their sorted term ids, sorted: the code and the entry's length
        # (_entry_bonus).
        self.entry_hashes = np.zeros(0, np.int64)
        self.entry_docs = np.zeros(0, np.int32)
        self.entry_lengths = np.zeros(0, np.int8)
        self.filters: dict[tuple[object, ...], np.ndarray] = {}  # _filter's masks
        self.groups: dict[tuple[object, ...], _GroupMatch] = {}  # _group's answers
        self.chapter_names: list[str] = []
        self.release_names: tuple[str, ...] = ()

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls, documents: Sequence[Document], held_out: Iterable[tuple[str, str, str]] = ()
    ) -> SearchIndex:
        """Index `documents`; texts named in `held_out` ((system, code, text)) are left out
        (the quality harness asks for terms the index has not seen)."""
        skip = frozenset(held_out)
        self = cls()
        n = len(documents)
        rows_t, rows_d, rows_w, rows_title = array("i"), array("i"), array("f"), array("b")
        surface_df: Counter[str] = Counter()
        title_len = np.ones(n, np.float32)
        first_term = np.full(n, -1, np.int32)
        harvest_texts: list[str] = []
        term_ids = self.term_ids
        stems: dict[str, str] = {}
        title_stems = [""] * n
        # (other name's terms, title's terms) of each ICD-10-CM code: _learn_expansions.
        name_pairs: list[tuple[list[str], set[str]]] = []
        rewrite_pairs: list[rewrites.Pair] = []  # (code, name, title): rewrites.learn
        entry_hashes, entry_docs, entry_lengths = array("q"), array("i"), array("b")
        for d, doc in enumerate(documents):
            seen: set[str] = set()
            doc_names: list[list[str]] = []
            said_names: list[list[str]] = []  # inclusion terms and "includes": rewrites
            title_words: list[tuple[str, str]] = []
            for source, text in doc.texts:
                if skip and (doc.system, doc.code, text) in skip:
                    continue
                if source in (TITLE, INCLUSION):
                    harvest_texts.append(text)
                weight = FIELD_WEIGHTS[source]
                in_title = source == TITLE
                count = 0
                text_terms: list[str] = []
                entry: set[int] = set()  # the text's terms as an entry (_entry_bonus)
                for word in words(text):
                    if word in STOPWORDS:
                        continue
                    term = stems.get(word)
                    if term is None:
                        term = stems[word] = stem(word)
                    tid = term_ids.get(term)
                    if tid is None:
                        tid = term_ids[term] = len(term_ids)
                    seen.add(word)
                    rows_t.append(tid)
                    rows_d.append(d)
                    rows_w.append(weight)
                    rows_title.append(in_title)
                    text_terms.append(term)
                    if term not in _ENTRY_FILLER:
                        entry.add(tid)
                    if in_title:
                        title_words.append((term, word))
                        if count == 0:
                            first_term[d] = tid
                        # "unspecified" is not content: a bare condition's query covers
                        # "Pneumonia, unspecified organism" as well as "Pneumonia due to X".
                        count += term not in _NOT_CONTENT
                if in_title:
                    title_len[d] = max(count, 1)
                    title_stems[d] = f" {' '.join(text_terms)} "  # spaced: phrase lookups
                    continue
                if source != SHORT and doc.system == "icd-10-cm":
                    if 2 <= len(entry) <= ENTRY_MAX_TERMS:
                        entry_hashes.append(_entry_hash(sorted(entry)))
                        entry_docs.append(d)
                        entry_lengths.append(len(entry))
                    if source in _NAME_FIELDS or (
                        source == INDEX and doc.chapter == NEOPLASM_CHAPTER
                    ):
                        doc_names.append(text_terms)
                    if source in (INCLUSION, INCLUDES):
                        said_names.append(text_terms)
            if doc_names:
                title_set = set(title_stems[d].split())
                name_pairs.extend((name, title_set) for name in doc_names)
                rewrite_pairs.extend((doc.code, name, title_words) for name in said_names)
            surface_df.update(seen)
        hashes = np.frombuffer(entry_hashes, np.int64)
        order = np.argsort(hashes, kind="stable")
        self.entry_hashes = hashes[order]
        self.entry_docs = np.frombuffer(entry_docs, np.int32)[order]
        self.entry_lengths = np.frombuffer(entry_lengths, np.int8)[order]
        self.terms = [""] * len(term_ids)
        for term, tid in term_ids.items():
            self.terms[tid] = term
        self._build_postings(rows_t, rows_d, rows_w, rows_title, n)
        self._build_documents(documents)
        self.title_len, self.first_term = title_len, first_term
        self.length_factor = np.sqrt(np.minimum(1.0, LONG_TITLE / title_len)).astype(np.float32)
        self.surface_df = dict(surface_df)
        self.surface_sorted = sorted(surface_df)
        by_initial: dict[str, list[str]] = {}
        for word in self.surface_sorted:
            if len(word) >= 4 and not word.isdigit():
                by_initial.setdefault(word[0], []).append(word)
        self.surface_by_initial = by_initial
        self.synonyms = {
            **lexicon.synonyms(
                self._frequency,
                lambda name: self._holding(frozenset(stem(w) for w in name if w not in STOPWORDS)),
            ),
            **synonym_lists.harvest(harvest_texts),
            **synonym_lists.curated(),
        }
        # What the 7th character adds to its parent's title ("initial encounter closed"): a
        # query naming it wants the 7-character code itself.
        self.seventh_terms = {}
        for d, doc in enumerate(documents):
            if doc.seventh_meaning:
                parent = int(self.parent[d])
                in_parent = set(title_stems[parent].split()) if parent >= 0 else set()
                added = set(tokens(doc.seventh_meaning)) - in_parent - {"encounter"}
                self.seventh_terms[d] = frozenset(term_ids[t] for t in added if t in term_ids)
        self.title_stems = title_stems
        self.default_child = _default_children(documents, self.parent, title_stems)
        df = np.diff(self.offsets)
        self.expansions = {
            q: kept
            for q, found in _learn_expansions(name_pairs, term_ids, self._term_frequency).items()
            if df[q] <= EXPANSION_MAX_DF
            and (kept := [(t, p) for t, p in found if df[t] <= EXPANSION_MAX_DF])
        }
        self.variants = _variants(self.terms, df)
        self.rewrites = rewrites.learn(rewrite_pairs, self._holding)
        return self

    def _frequency(self, word: str) -> int:
        """How many codes' texts hold the word (as search reads it)."""
        return self._term_frequency(stem(word))

    def _term_frequency(self, term: str) -> int:
        tid = self.term_ids.get(term)
        return 0 if tid is None else int(self.offsets[tid + 1] - self.offsets[tid])

    def _holding(self, terms: frozenset[str]) -> int:
        """How many codes' texts hold every one of the terms."""
        tids = [self.term_ids.get(t) for t in terms]
        if not tids or None in tids:  # no words: a name of stopwords holds nothing to search
            return 0
        postings = sorted(
            (self.post_docs[self.offsets[t] : self.offsets[t + 1]] for t in tids), key=len
        )
        docs = postings[0]
        for more in postings[1:]:  # each sorted: the shortest looked up in the others
            at = np.minimum(np.searchsorted(more, docs), len(more) - 1)
            docs = docs[more[at] == docs]
        return len(docs)

    def _build_postings(
        self, rows_t: array, rows_d: array, rows_w: array, rows_title: array, n: int
    ) -> None:
        t = np.frombuffer(rows_t, np.int32)
        d = np.frombuffer(rows_d, np.int32)
        w = np.frombuffer(rows_w, np.float32)
        title = np.frombuffer(rows_title, np.int8)
        order = np.lexsort((-w, d, t))  # by term, then document, best field first
        t, d, w, title = t[order], d[order], w[order], title[order]
        key = t.astype(np.int64) * max(n, 1) + d
        first = np.ones(len(key), bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        self.post_title = (np.maximum.reduceat(title, starts) if len(starts) else title[:0]).astype(
            np.int8
        )
        t, self.post_docs, self.post_weight = t[starts], d[starts], w[starts]
        self.offsets = np.searchsorted(t, np.arange(len(self.terms) + 1)).astype(np.int64)
        df = np.diff(self.offsets).astype(np.float32)
        self.idf = np.log1p(max(n, 1) / np.maximum(df, 1)).astype(np.float32)

    def _build_documents(self, documents: Sequence[Document]) -> None:
        n = len(documents)
        self.systems = [doc.system for doc in documents]
        self.codes = [doc.code for doc in documents]
        self.displays = [doc.display for doc in documents]
        self.titles = [doc.title for doc in documents]
        self.kinds = [doc.kind for doc in documents]
        self.releases = [doc.release for doc in documents]
        self.chapters = [doc.chapter for doc in documents]
        self.chapter_names = sorted({c for c in self.chapters if c}, key=_chapter_order)
        chapter_ids = {c: i + 1 for i, c in enumerate(self.chapter_names)}
        self.chapter_id = np.array([chapter_ids.get(c or "", 0) for c in self.chapters], np.int16)
        system_ids = {s: i for i, s in enumerate(SEARCHED_SYSTEMS)}
        self.system_id = np.array([system_ids[doc.system] for doc in documents], np.int8)
        self.billable = np.array([doc.billable for doc in documents], bool)
        self.needs_seventh = np.array([doc.needs_seventh for doc in documents], bool)
        # Each "unspecified" counts: "unspecified carpal bone, unspecified wrist" is the most
        # general of its siblings.
        self.generic = np.array([_generic(doc.title) for doc in documents], np.float32)
        self.other = np.array([bool(_OTHER.match(doc.title)) for doc in documents], np.float32)
        self.qualified = {
            d: terms
            for d, doc in enumerate(documents)
            if doc.system == "icd-10-cm" and (terms := _qualified_terms(doc.title))
        }
        self.code_len = np.array([len(doc.code) for doc in documents], np.int8)
        self.context = np.array([_context(doc) for doc in documents], np.int8)
        self.prior = (
            BILLABLE_BONUS * self.billable
            + SYSTEM_PRIOR[self.system_id]
            + _CONTEXT_PENALTIES[self.context]
        ).astype(np.float32)
        self.sort = np.array([doc.sort for doc in documents], np.int32)
        self.excludes1 = {d: doc.excludes1 for d, doc in enumerate(documents) if doc.excludes1}
        position = {(doc.system, doc.code): d for d, doc in enumerate(documents)}
        self.parent = np.array(
            [position.get((doc.system, doc.parent or ""), -1) for doc in documents], np.int32
        )
        by_parent = np.argsort(self.parent, kind="stable").astype(np.int32)
        counts = np.bincount(self.parent[self.parent >= 0], minlength=n)
        self.child_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.child_docs = by_parent[len(by_parent) - int(counts.sum()) :]
        self.seventh_parent = np.where(
            np.array([bool(doc.seventh_meaning) for doc in documents], bool), self.parent, -1
        ).astype(np.int32)
        order = sorted(range(n), key=lambda i: (self.codes[i], i))
        self.code_sorted = [self.codes[i] for i in order]
        self.code_docs = np.array(order, np.int32)
        self.release_names = tuple(sorted({r for r in self.releases if r}))

    # -- searching ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        system: str | None = None,
        billable_only: bool = False,
        chapter: str | None = None,
        limit: int = 20,
        complete: bool = True,
    ) -> SearchResult:
        """Best first. `complete`: the last word may be unfinished (active search)."""
        allowed = self._filter(system, billable_only, chapter)
        key = code_key(query)
        if key is not None and tuple(words(query)) not in self.synonyms:  # "dm2" is words
            found = self._code_search(query, key, allowed, limit)
            if found.hits:
                return found
        return self._word_search(query, allowed, limit, complete and not query.endswith(" "))

    def _codes_spelled_out(self, query: str) -> tuple[str, dict[str, str]]:
        """The query with each ICD-10-CM code it names among its words written as the code's
        title ("history of C17" -> history of malignant neoplasm of small intestine), and what
        was written for what. Written as a code: a capital or a dot ("p53 mutation" is a
        gene); a word of the catalog ("A1C") is a word; a range ("K00-K93") names no one
        code."""
        spelled: dict[str, str] = {}

        def title(found: re.Match[str]) -> str:
            typed = found.group(1)
            as_code = typed[0].isupper() or "." in found.group(0)
            if not as_code or typed.lower() in self.surface_df:
                return found.group(0)
            d = self._code_document(typed.replace(".", "").upper(), "icd-10-cm")
            if d is None:
                return found.group(0)
            spelled[found.group(0)] = self.titles[d]
            return f" {self.titles[d]} "

        return _CODE_AMONG_WORDS.sub(title, query), spelled

    def _code_document(self, key: str, system: str) -> int | None:
        at = bisect_left(self.code_sorted, key)
        while at < len(self.code_sorted) and self.code_sorted[at] == key:
            d = int(self.code_docs[at])
            if self.systems[d] == system:
                return d
            at += 1
        return None

    def _filter(self, system: str | None, billable_only: bool, chapter: str | None) -> np.ndarray:
        """Which documents the filters let through (kept: there are few combinations)."""
        key = (system, billable_only, chapter)
        known = self.filters.get(key)
        if known is None:
            known = self._make_filter(system, billable_only, chapter)
            if len(self.filters) < 64:  # 190 kB each
                self.filters[key] = known
        return known

    def _make_filter(
        self, system: str | None, billable_only: bool, chapter: str | None
    ) -> np.ndarray:
        allowed = np.ones(len(self.codes), bool)
        if system:
            allowed &= self.system_id == SEARCHED_SYSTEMS.index(system)
        if billable_only:
            allowed &= self.billable
        if chapter:
            wanted = self.chapter_names.index(chapter) + 1 if chapter in self.chapter_names else -1
            allowed &= self.chapter_id == wanted
        return allowed

    def _code_search(self, query: str, key: str, allowed: np.ndarray, limit: int) -> SearchResult:
        lo = bisect_left(self.code_sorted, key)
        hi = bisect_left(self.code_sorted, key + "\x7f", lo)
        docs = self.code_docs[lo:hi]
        docs = docs[allowed[docs]]
        # The code itself, then its nearest descendants (shortest codes), in code order.
        # The code as typed first ("J1100" is HCPCS J1100; "J11.00" is ICD-10-CM), then the
        # other codes equal to the key, then the rest by length and code order.
        typed = query.strip().upper()
        rank = np.array(
            [0 if self.displays[d] == typed else (1 if self.codes[d] == key else 2) for d in docs],
            np.int8,
        )
        order = np.lexsort((docs, self.code_len[docs], rank)) if len(docs) else docs
        chosen = docs[order][:limit]
        hits = self._hits(chosen.tolist(), [100.0 - i for i in range(len(chosen))], ())
        return SearchResult(
            query, hits, total=len(docs), mode="code", release_names=self.release_names
        )

    def _parse(self, query: str) -> tuple[list[_Group], dict[str, str], dict[str, str]]:
        """The query's groups, the expansions used and the words spelt anew."""
        corrections: dict[str, str] = {}
        typed_words = words(query)
        raw = []
        for typed in typed_words:
            spelled = self._spelled(typed)
            if spelled != typed:
                corrections[typed] = spelled
            raw.append(spelled)
        groups: list[_Group] = []
        expansions: dict[str, str] = {}
        i = 0
        while i < len(raw):
            for length in (4, 3, 2, 1):
                # A phrase the lists know as typed is not misspelt ("natal tooth" is no "nasal").
                phrase = tuple(typed_words[i : i + length])
                if length > 1 and phrase in self.synonyms:
                    for typed in phrase:
                        corrections.pop(typed, None)
                else:
                    phrase = tuple(raw[i : i + length])
                if len(phrase) == length and phrase in self.synonyms:
                    alternatives = self.synonyms[phrase]
                    label = " ".join(phrase)
                    expansions[label] = " / ".join(" ".join(a) for a in alternatives)
                    typed, others = list(phrase), [list(a) for a in alternatives]
                    if typed in others:
                        others.remove(typed)
                        groups.append(_Group(label, [typed, *others]))
                    else:
                        groups.append(_Group(label, [typed, *others], ORIGINAL_FACTOR))
                    i += length
                    break
            else:
                word = raw[i]
                i += 1
                if word in STOPWORDS:
                    continue
                parts = self._parts(word)
                if parts:
                    expansions[word] = " / ".join(" ".join(p) for p in parts)
                    # Not the word as typed: its nearest spelling ("nephrostomy") is another.
                    groups.append(_Group(word, [list(p) for p in parts]))
                else:
                    groups.append(_Group(word, [[word]]))
        return self._with_rewrites(groups, expansions), expansions, corrections

    def _with_rewrites(self, groups: list[_Group], expansions: dict[str, str]) -> list[_Group]:
        """The groups, the words of a phrase the titles say another way (rewrites) made one
        group whose alternative is the titles' wording ("traumatic rupture" -> major
        laceration), those of an elaboration the titles leave out dropped when the query says
        more than it."""
        single = [g.label if " " not in g.label else None for g in groups]
        found = rewrites.find(self.rewrites, [stem(w) if w else None for w in single])
        if not found:
            return groups
        merged: dict[int, _Group] = {}
        dropped: set[int] = set()
        for rule, at in found:
            typed = [groups[i].label for i in at]
            label = " ".join(typed)
            if not rule.target:  # an elaboration the titles leave out
                if len(groups) - len(at) >= ELABORATION_MIN_REST:
                    dropped.update(at)
                continue
            expansions[label] = " ".join(rule.target)
            merged[at[0]] = _Group(label, [typed, list(rule.target)], other_weight=REWRITE_FACTOR)
            dropped.update(at[1:])
        return [merged.get(i, g) for i, g in enumerate(groups) if i not in dropped]

    def _spelled(self, word: str) -> str:
        """A misspelt abbreviation or lay word ("hypertention") as the synonym list has it,
        so it is expanded like the word meant; any other word as typed."""
        if (word,) in self.synonyms or stem(word) in self.term_ids or word in STOPWORDS:
            return word
        if self._parts(word):  # "nephrectomy" is not a misspelt word
            return word
        corrected = self._correct(word)
        return corrected if corrected and (corrected,) in self.synonyms else word

    def _parts(self, word: str) -> list[tuple[str, ...]]:
        """What a word the index does not hold means by its parts (wordparts), kept."""
        if len(word) < PARTS_MIN_LENGTH or stem(word) in self.term_ids:
            return []
        known = self.__dict__.setdefault("parts_cache", {})
        found = known.get(word)
        if found is None:
            if len(known) >= GROUP_CACHE_SIZE:
                known.clear()
            found = known[word] = wordparts.decompose(word, lambda w: stem(w) in self.term_ids)
        return found

    def _resolve(
        self, word: str, typing: bool, correct: bool = True
    ) -> tuple[list[tuple[int, float]], str | None]:
        """The index terms a query word stands for, each with its weight (idf and how sure we
        are it is what was meant), and the spelling used when it was corrected (`correct`)."""
        term = stem(word)
        exact = [(self.term_ids[term], 1.0)] if term in self.term_ids else []
        exact = [(t, float(self.idf[t])) for t, _ in exact]
        if exact:
            exact += self._expanded(exact[0])
        if exact and not typing:
            return exact, None
        if typing and len(word) >= 3:  # the last word, still being typed
            lo = bisect_left(self.surface_sorted, word)
            hi = bisect_left(self.surface_sorted, word + "\x7f", lo)
            completions = sorted(
                self.surface_sorted[lo : min(hi, lo + 400)],
                key=lambda w: -self.surface_df.get(w, 0),
            )[:12]
            found = {self.term_ids[stem(w)] for w in completions if stem(w) in self.term_ids}
            found -= {t for t, _ in exact}
            if found or exact:
                # A completion never outweighs the word typed so far when that is a word.
                cap = exact[0][1] * COMPLETION_FACTOR if exact else float("inf")
                more = [(t, min(float(self.idf[t]) * PREFIX_FACTOR, cap)) for t in sorted(found)]
                return exact + more, None
        if exact or not correct:
            return exact, None
        best = self._correct(word)
        if best is not None:
            tid = self.term_ids[stem(best)]
            return [(tid, float(self.idf[tid]) * TYPO_FACTOR)], best
        return [], None

    def _expanded(self, term: tuple[int, float]) -> list[tuple[int, float]]:
        """The learnt expansions and the derivational variants of a term, weighed below the
        term itself."""
        tid, weight = term
        learnt = [
            (t, min(float(self.idf[t]), weight) * p * EXPANSION_FACTOR)
            for t, p in self.expansions.get(tid, ())
        ]
        said = {t for t, _ in learnt}
        return learnt + [
            (t, min(float(self.idf[t]), weight) * VARIANT_FACTOR)
            for t in self.variants.get(tid, ())
            if t not in said
        ]

    def _correct(self, word: str) -> str | None:
        """The indexed word nearest to a word the index does not know: one edit away (two for
        long words), a swap of neighbours counting as one; the most frequent on a tie."""
        if len(word) < 4 or word.isdigit():
            return None
        choices = self.surface_by_initial.get(word[0], [])
        limit_distance = 1 if len(word) < 8 else 2
        near = process.extract(
            word, choices, scorer=OSA.distance, score_cutoff=limit_distance, limit=20
        )
        near = [m for m in near if not _opposite(word, m[0])]
        if not near:
            return None
        best = min(near, key=lambda m: (m[1], -self.surface_df.get(m[0], 0)))[0]
        return best if stem(best) in self.term_ids else None

    def _word_search(
        self, query: str, allowed: np.ndarray, limit: int, typing: bool
    ) -> SearchResult:
        searched, spelled = self._codes_spelled_out(query)
        groups, expansions, corrections = self._parse(searched)
        expansions.update(spelled)
        if not groups:
            return SearchResult(query, [], 0, "words", release_names=self.release_names)
        found = self._combined(groups, allowed, typing)
        corrections.update(found.corrections)
        best, partial = found.best, found.partial
        matched_terms, lead_terms, phrases = found.terms, found.lead_terms, found.phrases
        docs = best.docs if best is not None else np.zeros(0, np.int32)
        if best is None or not len(docs):
            return SearchResult(
                query,
                [],
                0,
                "words",
                corrections,
                expansions,
                partial,
                release_names=self.release_names,
            )
        # "NOS" (not otherwise specified) asks for the unspecified code in so many words.
        said = frozenset(stem(w) for w in words(searched))
        asked = not _NOS.isdisjoint(said)
        lifted = {kind for kind, named in CONTEXT_WORDS.items() if not said.isdisjoint(named)}
        generic = GENERIC_BONUS * (NOS_FACTOR if asked else 1.0)
        scores = self._rank(best, lead_terms, generic, lifted, len(groups))
        keep = min(len(docs), limit + CANDIDATES_BEYOND_LIMIT)
        top = (
            np.argpartition(-scores, keep - 1)[:keep] if keep < len(docs) else np.arange(len(docs))
        )
        if len(top) > limit:  # only codes a late bonus can lift into the results need one
            floor = np.partition(scores[top], len(top) - limit)[len(top) - limit]
            top = top[scores[top] >= floor - LATE_BONUS_MAX]
        chosen = docs[top]
        chosen_scores = (
            scores[top]
            + self._phrase_bonus(chosen, phrases)
            - self._qualifier_penalty(chosen, said)
            + self._entry_bonus(chosen, {self.term_ids[t] for t in said if t in self.term_ids})
        )
        chosen, chosen_scores, shadowed = self._with_default_children(
            chosen, chosen_scores, allowed
        )
        order = np.lexsort(
            (self.sort[chosen], self.code_len[chosen], -np.round(chosen_scores, 3), shadowed)
        )
        hits = self._fold_seventh(
            chosen[order], chosen_scores[order], allowed, matched_terms, limit
        )
        return SearchResult(
            query,
            hits,
            len(docs),
            "words",
            corrections,
            expansions,
            partial,
            release_names=self.release_names,
        )

    def _combined(self, groups: list[_Group], allowed: np.ndarray, typing: bool) -> _Combined:
        """The codes matching every group (or, when few or none do, all but one; failing
        that, the most), with what the ranking needs to know of the query's words."""
        found = _Combined()
        matches: list[_Match] = []
        for g, group in enumerate(groups):
            got = self._group(group, typing and g == len(groups) - 1)
            found.corrections.update(got.corrections)
            found.terms.update(got.terms)
            found.phrases.extend(got.phrases)
            if g == 0:
                found.lead_terms.update(got.first_terms)
            if got.match is not None:
                matches.append(got.match)
        typed = [stem(w) for grp in groups for w in grp.alternatives[0] if w not in STOPWORDS]
        if len(typed) > 1:
            found.phrases.append(" ".join(typed))
        found.partial = len(matches) < len(groups)
        if not matches:
            return found
        best = matches[0]
        for match in matches[1:]:
            best = best.both(match)
        best = best.only(allowed)
        if found.partial:
            # A word no code has names a kind the catalog does not ("cenesthopathic
            # schizophrenia"): its home is the "Other ..." code, as for a near match.
            best = self._with_other_bonus(best)
        if len(matches) > 1 and len(best.docs) < FAMILY_WHEN_FEWER:
            # With a few full matches, only the rarer groups are looked for in families: the
            # common ones cost the most and are said by the codes themselves.
            max_docs = FAMILY_MAX_DOCS if len(best.docs) else None
            family = self._family_match(matches, max_docs).only(allowed)
            best = _Match.either([best, family]) if len(best.docs) else family
        # Codes missing one word compete only when few codes have them all: with many full
        # matches they rank below them anyway, and their intersections cost the most.
        if len(matches) > 1 and len(best.docs) < NEAR_WHEN_FEWER:
            near = self._near(matches).only(allowed)
            # Near matches only: no code has every word, which callers must be told.
            found.partial = found.partial or (not len(best.docs) and len(near.docs) > 0)
            best = _Match.either([best, near])
        if not len(best.docs) and len(matches) > 1:
            best, found.partial = _Match.most(matches).only(allowed), True
        found.best = best
        return found

    def _group(self, group: _Group, typing: bool) -> _GroupMatch:
        """What one group of the query matches; kept for the next query that has it (the
        index never changes, and the same words come back all day)."""
        key = (group.label, group.typed_weight, group.other_weight, typing)
        known = self.groups.get(key)
        if known is not None:
            return known
        found = _GroupMatch()
        options: list[_Match] = []
        for a, alternative in enumerate(group.alternatives):
            kept = [w for w in alternative if w not in STOPWORDS]
            factor = group.typed_weight if a == 0 else group.other_weight
            match: _Match | None = None
            # A phrase of the lists is spelt as they spell it: none of its words is a typo
            # ("natal tooth" is no "nasal tooth").
            spelt = a == 0 and len(kept) > 1
            for j, word in enumerate(kept):
                last = typing and a == 0 and j == len(kept) - 1
                variants, corrected = self._resolve(word, last, correct=not spelt)
                if not variants:
                    match = None
                    break
                if corrected:
                    found.corrections[word] = corrected
                found.terms.update(t for t, _ in variants)
                if j == 0 and a == 0:
                    found.first_terms.update(t for t, _ in variants)
                word_match = self._postings(variants, factor)
                match = word_match if match is None else match.both(word_match)
            if match is not None and kept:
                options.append(match.scaled(1.0 / len(kept)))
                if len(kept) > 1:
                    found.phrases.append(" ".join(stem(w) for w in kept))
        if options:
            found.match = _Match.either(options)
        if len(self.groups) >= GROUP_CACHE_SIZE:
            self.groups.clear()
        if found.match is None or len(found.match.docs) <= GROUP_CACHE_MAX_DOCS:
            self.groups[key] = found
        return found

    def _near(self, matches: list[_Match]) -> _Match:
        """`_near_matches`, kept per process for the same groups' matches (the group cache hands
        back the same objects for a repeated word, so identity is the key; the entry holds them,
        so an id cannot be reused while it is kept)."""
        cache: dict[tuple[int, ...], tuple[tuple[_Match, ...], _Match]]
        cache = self.__dict__.setdefault("near_cache", {})
        key = tuple(id(m) for m in matches)
        kept = cache.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], matches, strict=True)):
            return kept[1]
        found = self._near_matches(matches)
        if len(cache) >= GROUP_CACHE_SIZE:
            cache.clear()
        cache[key] = (tuple(matches), found)
        return found

    def _near_matches(self, matches: list[_Match]) -> _Match:
        """The documents matching some groups but not all, each missing group costing
        PARTIAL_PENALTY: the code whose title says a word of the query differently still
        competes. Candidates come from the groups matching at most NEAR_MAX_DOCS documents (a
        common word alone tells nothing apart); the other groups add their scores."""
        n = len(matches)
        rare = [m.docs for m in matches if len(m.docs) <= NEAR_MAX_DOCS]
        if not rare:
            return _Match(matches[0].docs[:0], matches[0].score[:0], matches[0].title[:0])
        if len(rare) == 1:
            docs = rare[0]
        else:  # a mask over the catalog: cheaper than sorting the concatenation
            mask = np.zeros(len(self.codes), bool)
            for found_docs in rare:
                mask[found_docs] = True
            docs = np.flatnonzero(mask).astype(np.int32)
        # Where each candidate sits in `docs`, for the groups smaller than a lookup of every
        # candidate in them (binary search) would cost.
        dense = len(docs) > NEAR_DENSE_FROM
        if dense:
            position = np.full(len(self.codes), -1, np.int32)
            position[docs] = np.arange(len(docs), dtype=np.int32)
        score = np.zeros(len(docs), np.float32)
        title = np.zeros(len(docs), np.float32)
        found = np.zeros(len(docs), np.int32)
        for match in matches:
            if dense and len(match.docs) <= len(docs) * 8:
                at = position[match.docs]
                has = at >= 0
                at = at[has]
                score[at] += match.score[has]
                title[at] += match.title[has]
                found[at] += 1
            else:
                at = np.searchsorted(match.docs, docs)
                has = at < len(match.docs)
                has[has] = match.docs[at[has]] == docs[has]
                score[has] += match.score[at[has]]
                title[has] += match.title[at[has]]
                found += has
        missing = n - found
        # Codes missing more groups only when too few miss one: they rank below them anyway.
        most = 1 if (missing == 1).sum() >= NEAR_ENOUGH else max(1, n - NEAR_MIN_GROUPS)
        keep = (missing > 0) & (missing <= most)
        docs, missing = docs[keep], missing[keep]
        # A kind the codes do not name ("retention cyst of ovary") is reported with the
        # "other" code of what they do name ("Other ovarian cysts"), not the unspecified one.
        near = _Match(docs, score[keep] - PARTIAL_PENALTY * missing, title[keep])
        return self._with_other_bonus(near)

    def _with_other_bonus(self, match: _Match) -> _Match:
        other = self.other[match.docs] * (OTHER_BONUS + GENERIC_BONUS * self.generic[match.docs])
        return _Match(match.docs, match.score + other, match.title)

    def _with_default_children(
        self, docs: np.ndarray, scores: np.ndarray, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A heading's "unspecified" child says what the heading says ("Right heart failure"
        -> "Right heart failure, unspecified"): it takes the heading's place, the code a coder
        can report, and the heading, which says nothing more, is shadowed (listed after the
        other codes: two places for one answer would push the next answers off the first
        lines)."""
        children = self.default_child[docs]
        has = children >= 0
        has[has] = allowed[children[has]]
        if not has.any():
            return docs, scores, np.zeros(len(docs), bool)
        # A few dozen codes: a dict costs less than numpy's per-call overhead here.
        best = dict(zip(docs.tolist(), scores.tolist(), strict=True))
        edged = (scores[has] + np.float32(DEFAULT_CHILD_EDGE)).tolist()
        for child, score in zip(children[has].tolist(), edged, strict=True):
            if score > best.get(child, -np.inf):
                best[child] = score
        merged = sorted(best)
        heads = set(docs[has].tolist())
        return (
            np.array(merged, docs.dtype),
            np.array([best[d] for d in merged], scores.dtype),
            np.array([d in heads for d in merged], bool),
        )

    def _family_match(self, matches: list[_Match], max_docs: int | None = None) -> _Match:
        """Codes matching every group when a group may also be matched by a sibling code.

        The index tables name a drug once per column ("chlormadinone" under poisoning,
        accidental -> T38.5X1, ...): a query for the column nobody indexed the word under
        ("chlormadinone poisoning assault") finds T38.5X3 through its siblings."""
        extended = [
            _Match.either([m, self._siblings(m)])
            if max_docs is None or len(m.docs) <= max_docs
            else m
            for m in matches
        ]
        best = extended[0]
        for match in extended[1:]:
            best = best.both(match)
        return best

    def _siblings(self, match: _Match) -> _Match:
        """The children of the parents of `match`'s codes, scored FAMILY_FACTOR times the
        best matched child of their parent (and no title words), for the families where most
        children match: what most siblings share belongs to the family (the drug of a Table of
        Drugs row); what one sibling has tells it from the others (the column, "assault")."""
        empty = _Match(match.docs[:0], match.score[:0], match.title[:0])
        parents = self.parent[match.docs]
        has = parents >= 0
        if not has.any():
            return empty
        parents, scores = parents[has], match.score[has]
        order = np.lexsort((-scores, parents))
        parents, scores = parents[order], scores[order]
        first = np.ones(len(parents), bool)
        first[1:] = parents[1:] != parents[:-1]
        matched = np.diff(np.append(np.flatnonzero(first), len(parents)))
        parents, scores = parents[first], scores[first]
        starts, ends = self.child_offsets[parents], self.child_offsets[parents + 1]
        shared = matched * 2 >= ends - starts
        parents, scores = parents[shared], scores[shared]
        starts, ends = starts[shared], ends[shared]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return _Match(match.docs[:0], match.score[:0], match.title[:0])
        docs = self.child_docs[_ranges(starts, lengths)]
        return _Match.merge(
            docs,
            np.repeat(scores * FAMILY_FACTOR, lengths).astype(np.float32),
            np.zeros(total, np.float32),
        )

    def _postings(self, variants: list[tuple[int, float]], factor: float) -> _Match:
        """The documents a word's index terms point to, with the best weight of each."""
        parts = []
        for tid, weight in variants:
            s, e = self.offsets[tid], self.offsets[tid + 1]
            scale = weight * factor
            parts.append((self.post_docs[s:e], self.post_weight[s:e] * scale, self.post_title[s:e]))
        if len(parts) == 1:
            docs, score, title = parts[0]
            return _Match(docs, score.astype(np.float32), title.astype(np.float32))
        return _Match.merge(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]).astype(np.float32),
        )

    def _phrase_bonus(self, docs: np.ndarray, phrases: list[str]) -> np.ndarray:
        found = np.zeros(len(docs), bool)
        if phrases:
            titles = [self.title_stems[d] for d in docs.tolist()]
            for phrase in {f" {p} " for p in phrases}:
                found |= np.fromiter((phrase in t for t in titles), bool, len(titles))
        return found * np.float32(PHRASE_BONUS)

    def _qualifier_penalty(self, docs: np.ndarray, said: frozenset[str]) -> np.ndarray:
        """QUALIFIER_PENALTY for an ICD-10-CM title that says a word of the query only after
        "with", "without", "due to", ...: "dyskinesia" is G24.01 "Drug induced subacute
        dyskinesia" before "Parkinson's disease with dyskinesia", whose condition is another."""
        return np.array(
            [
                0.0 if said.isdisjoint(self.qualified.get(d, ())) else QUALIFIER_PENALTY
                for d in docs.tolist()
            ],
            np.float32,
        )

    def _entry_bonus(self, docs: np.ndarray, query_terms: set[int]) -> np.ndarray:
        """ENTRY_BONUS, times the share of the query it says, for a code with a name or index
        entry every word of which the query says: "methocarbamol adverse effect" is the
        Table of Drugs' "Methocarbamol" row (T42.8X5), not its "skeletal muscle relaxant"
        subterm (T48.1X5), whose words are all in the query too but not in one entry. Every
        part of the query of two words or more is looked up by its hash (up to
        ENTRY_MAX_TERMS words: longer queries are not an index entry said whole)."""
        bonus = np.zeros(len(docs), np.float32)
        terms = sorted(query_terms)
        if not 2 <= len(terms) <= ENTRY_MAX_TERMS or not len(docs):
            return bonus
        wanted = np.array(
            [
                _entry_hash(part)
                for size in range(2, len(terms) + 1)
                for part in itertools.combinations(terms, size)
            ],
            np.int64,
        )
        lo = np.searchsorted(self.entry_hashes, wanted, "left")
        hi = np.searchsorted(self.entry_hashes, wanted, "right")
        found = hi > lo
        if not found.any():
            return bonus
        said: dict[int, int] = {}
        for start, end in zip(lo[found].tolist(), hi[found].tolist(), strict=True):
            for e in range(start, end):
                d = int(self.entry_docs[e])
                said[d] = max(said.get(d, 0), int(self.entry_lengths[e]))
        for i, d in enumerate(docs.tolist()):
            if d in said:
                bonus[i] = ENTRY_BONUS * said[d] / len(terms)
        return bonus

    def _rank(
        self, match: _Match, lead_terms: set[int], generic: float, lifted: set[int], groups: int
    ) -> np.ndarray:
        """The score of each matched code before the late bonuses: the matched words, the
        title's share the query covers, the default code's bonus, a title led by the query's
        first word, and the prior (billable, system, context penalties, less those of the
        contexts the query names: `lifted`)."""
        docs = match.docs
        prior = self.prior[docs]
        for kind in lifted:
            prior = prior - (self.context[docs] == kind) * _CONTEXT_PENALTIES[kind]
        if MANIFESTATION not in lifted:
            # A query saying more than the manifestation's title ("cardiomyopathy in
            # amyloidosis") may name the disease it is in.
            names_more = (self.context[docs] == MANIFESTATION) & (match.title < groups)
            prior = prior - names_more * _CONTEXT_PENALTIES[MANIFESTATION]
        coverage = np.minimum(match.title / self.title_len[docs], 1.0)
        first = self.first_term[docs]
        lead = np.zeros(len(docs), bool)
        for term in lead_terms:
            lead |= first == term
        return (
            match.score * self.length_factor[docs]
            + COVERAGE_WEIGHT * coverage
            + generic * self.generic[docs]
            + LEAD_TERM_BONUS * lead
            + prior
        )

    def _fold_seventh(
        self,
        docs: np.ndarray,
        scores: np.ndarray,
        allowed: np.ndarray,
        matched: set[int],
        limit: int,
    ) -> list[SearchHit]:
        """A 7-character code stands in for its parent unless the query named the encounter."""
        shown: dict[int, float] = {}  # document -> score, best first
        parents = self.seventh_parent[docs].tolist()
        for d, parent, score in zip(docs.tolist(), parents, scores.tolist(), strict=True):
            encounter = self.seventh_terms.get(d, _NONE)  # what its 7th character says
            if parent >= 0 and allowed[parent] and encounter.isdisjoint(matched):
                d = parent
            if d not in shown:
                shown[d] = score
                if len(shown) == limit:
                    break
        terms = tuple(sorted(self.terms[t] for t in matched))
        return self._hits(list(shown), list(shown.values()), terms)

    def _excludes1(self, d: int) -> tuple[str, ...]:
        """The code's own Excludes1 notes and those of its parents up to the category."""
        known = self.excludes1_up.get(d)
        if known is None:
            notes: list[str] = []
            at = d
            while at >= 0:
                notes.extend(n for n in self.excludes1.get(at, ()) if n not in notes)
                at = int(self.parent[at])
            known = self.excludes1_up[d] = tuple(notes)
        return known

    def _hits(
        self, docs: list[int], scores: list[float], matched_terms: tuple[str, ...]
    ) -> list[SearchHit]:
        billable = self.billable[docs].tolist()
        needs_seventh = self.needs_seventh[docs].tolist()
        return [
            SearchHit(
                system=self.systems[d],
                code=self.codes[d],
                display=self.displays[d],
                title=self.titles[d],
                billable=billable[i],
                kind=self.kinds[d],
                needs_seventh=needs_seventh[i],
                excludes1=self._excludes1(d),
                release=self.releases[d],
                score=scores[i],
                matched=matched_terms,
                chapter=self.chapters[d],
            )
            for i, d in enumerate(docs)
        ]


# Prefixes one or two letters apart that mean the opposite: "hypohidrosis" is no typo of
# hyperhidrosis, "intraarticular" none of interarticular.
_OPPOSITE_PREFIXES = (("hypo", "hyper"), ("intra", "inter"), ("micro", "macro"), ("ante", "anti"))


def _opposite(word: str, other: str) -> bool:
    return any(
        (word.startswith(a) and other.startswith(b)) or (word.startswith(b) and other.startswith(a))
        for a, b in _OPPOSITE_PREFIXES
    )


def _learn_expansions(
    pairs: list[tuple[list[str], set[str]]],
    term_ids: dict[str, int],
    frequency: Callable[[str], int],
) -> dict[int, list[tuple[int, float]]]:
    """What a word of a code's other names (inclusion terms, "includes" notes, other codes'
    references, Neoplasm Table rows: NEOPLASM_CHAPTER) stands for in its
    title: IBM model 1 alignment, the title's words not in the name generated by the name's
    words not in the title (or by nothing), learnt by expectation maximisation. "tumor" ->
    neoplasm, "kidney" -> renal, "tuberculous" -> tuberculosis. Only the texts the index holds
    teach it (held-out texts never do)."""
    null = ""
    links: list[tuple[list[str], list[str]]] = []
    support: Counter[str] = Counter()
    for name, title in pairs:
        source = set(name) - title - _NOT_LEARNT
        target = title - set(name) - _NOT_LEARNT
        if source and target and len(source) <= 4:
            links.append(([*sorted(source), null], sorted(target)))
            support.update(source)
    prob: dict[tuple[str, str], float] = {}
    for _ in range(EXPANSION_ROUNDS):
        counts: Counter[tuple[str, str]] = Counter()
        totals: Counter[str] = Counter()
        for source, target in links:
            for t in target:
                shares = [prob.get((q, t), 1.0) for q in source]
                whole = sum(shares)
                for q, share in zip(source, shares, strict=True):
                    counts[q, t] += share / whole
                    totals[q] += share / whole
        prob = {(q, t): c / totals[q] for (q, t), c in counts.items()}
    found: dict[int, list[tuple[int, float]]] = {}
    for (q, t), p in prob.items():
        if (
            q != null
            and p >= EXPANSION_MIN_P
            and (support[q] >= EXPANSION_MIN_PAIRS or frequency(q) <= EXPANSION_RARE)
        ):
            found.setdefault(term_ids[q], []).append((term_ids[t], p))
    return {q: sorted(ts, key=lambda x: -x[1])[:EXPANSION_MAX] for q, ts in found.items()}


_DEFAULT_WORDS = frozenset({"unspecified", "without"})
_DEFAULT_EXTRA = _DEFAULT_WORDS | {"complication"}


def _default_children(
    documents: Sequence[Document], parent: np.ndarray, title_stems: list[str]
) -> np.ndarray:
    """For each heading (a code that is not billable) the child whose title is the heading's
    plus "unspecified" or "without complications" only (J18 "Pneumonia, unspecified organism"
    -> J18.9 "Pneumonia, unspecified"; E11 -> E11.9), or the unspecified value of what its
    children differ in (H53.41 -> H53.419 "..., unspecified eye"), or the heading's own title
    (Y07.4 -> Y07.49 -> Y07.499 "Other family member, ..."), else -1; none when two
    children are."""
    found = np.full(len(documents), -1, np.int32)
    ambiguous: set[int] = set()
    for d, doc in enumerate(documents):
        p = int(parent[d])
        if p < 0 or documents[p].billable or doc.seventh_meaning:
            continue
        said = title_stems[d].split()
        own = set(said)
        heading = set(title_stems[p].split())
        extra = own - heading
        # The unspecified value of the axis the children split on: "unspecified eye",
        # "unspecified trimester", "unspecified lower limb".
        axis = {w for i, w in enumerate(said) if i and "unspecified" in said[max(0, i - 2) : i]}
        if (own & _DEFAULT_WORDS and extra <= _DEFAULT_EXTRA | axis) or own == heading:
            if found[p] >= 0:
                ambiguous.add(p)
            found[p] = d
    found[list(ambiguous)] = -1
    # A chain of headings saying the same (Y07.4 -> Y07.49 -> Y07.499) ends at the code.
    for d in np.flatnonzero(found >= 0).tolist():
        child, steps = int(found[d]), 0
        while found[child] >= 0 and steps < 4:
            child, steps = int(found[child]), steps + 1
        found[d] = child
    return found


def _entry_hash(terms: Sequence[int]) -> int:
    """A hash of sorted term ids, the same in every process (unlike Python's for strings)."""
    value = 0
    for term in terms:
        value = (value * 1_000_003 + term + 1) % _HASH_PRIME
    return value


_HASH_PRIME = 2**61 - 1


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indexes starts[i] .. starts[i] + lengths[i] - 1 of every i, in order."""
    total = int(lengths.sum())
    before = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total) - before + np.repeat(starts, lengths)


def _variants(terms: list[str], df: np.ndarray) -> dict[int, list[int]]:
    """Each term's derivational variants among the index's terms (text.derivation_keys), the
    most frequent first, at most VARIANTS_MAX."""
    by_key: dict[str, list[int]] = {}
    for tid, term in enumerate(terms):
        if not term.isdigit():
            for key in derivation_keys(term):
                by_key.setdefault(key, []).append(tid)
    found: dict[int, set[int]] = {}
    for tids in by_key.values():
        if 1 < len(tids) <= VARIANTS_MAX + 1:
            for tid in tids:
                found.setdefault(tid, set()).update(t for t in tids if t != tid)
    return {
        tid: sorted(others, key=lambda t: -int(df[t]))[:VARIANTS_MAX]
        for tid, others in found.items()
    }


_NOS = frozenset({"nos", "unspecified"})
_NONE: frozenset[int] = frozenset()
# An ICD-10-CM code among a query's words ("Z85 for C17.9", "classifiable to F17.-"), not one
# end of a range.
_CODE_AMONG_WORDS = re.compile(
    r"(?<![\w.-])([A-Za-z]\d[0-9A-Za-z](?:\.?[0-9A-Za-z]{1,4})?)(?:\.?-(?![\w]))?(?![\w.-])"
)


# What an ICD-10-CM title adds to its condition ("... with dyskinesia", "... due to drugs").
_QUALIFIER = re.compile(r"\b(?:with|without|due to|following|complicating)\b", re.I)


def _qualified_terms(title: str) -> tuple[str, ...]:
    """The terms a title says only in what qualifies its condition."""
    found = _QUALIFIER.search(title)
    if found is None:
        return ()
    return tuple(sorted(set(tokens(title[found.end() :])) - set(tokens(title[: found.start()]))))


def _context(doc: Document) -> int:
    """The CONTEXT_WORDS kind a code applies in: pregnancy, newborn, history or screening, a
    secondary neoplasm, a manifestation of a disease coded first, or a sequela of stroke."""
    if doc.system != "icd-10-cm":
        return 0
    if doc.chapter in _CONTEXT_OF_CHAPTER:
        return _CONTEXT_OF_CHAPTER[doc.chapter]
    if SECONDARY_TITLES.match(doc.title):
        return 4
    if MANIFESTATION_TITLES.search(doc.title):
        return MANIFESTATION
    if doc.code.startswith("I69"):
        return SEQUELA
    return 3 if CONTEXT_TITLES.match(doc.title) else 0


# Words an index entry has that nobody types: "Accidental (unintentional)".
_ENTRY_FILLER = ("unintentional",)
_WITHOUT = re.compile(r"\bwithout\b", re.I)
_ACCIDENTAL = re.compile(r"\baccidental \(unintentional\)", re.I)


_OTHER = re.compile(r"^other\b(?! and unspecified)", re.I)


def _generic(title: str) -> float:
    """How much a title reads as the default code of its condition: 1 for "without
    complications" or two "unspecified"s, 0.5 for one "unspecified" or another "without ..."
    (a coder does not report a complication the record does not state: "calculus of
    gallbladder with acute cholecystitis without obstruction" over "... with obstruction"); 1
    for a poisoning or toxic effect "accidental (unintentional)", the intent when none is
    documented."""
    found = [m.lower() for m in _GENERIC.findall(title)]
    if any(f.startswith(("without", "uncomplicated")) for f in found):
        return 1.0
    if _ACCIDENTAL.search(title):  # guideline I.C.19.e.5(b): unknown intent is accidental
        return 1.0
    return max(min(len(found), 2) / 2, 0.5 if _WITHOUT.search(title) else 0.0)


def _chapter_order(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (10_000, key)
