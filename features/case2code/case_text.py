"""Case text: a short clinical note cut into problem phrases, each with its status.

Pure text analysis (no web, no database): the note is split into sentences and clauses, the
clauses into problem phrases, and each phrase gets a status in the NegEx style (confirmed,
negated, uncertain, history), the side and the encounter it was written with. Abbreviations
(HTN, DM2, CKD) are passed through: the search engine expands them.

Every word keeps its offsets in the note, so the page can highlight what supports a code.
Nothing here logs or keeps the note: it is personal health information even when de-identified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

MAX_NOTE_CHARS = 5_000
MAX_QUERY_WORDS = 12  # a problem phrase longer than this is prose, not a problem


class NoteError(ValueError):
    """A note that cannot be analysed (the message is shown to the user)."""


def clean_note(raw: str) -> str:
    """The note as analysed: browsers post a textarea's line breaks as CRLF, which would count
    twice against the limit the page's counter shows."""
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def check_note(raw: str) -> str:
    note = clean_note(raw)
    if not note.strip():
        raise NoteError("Paste a clinical note first: the note is empty.")
    if len(note) > MAX_NOTE_CHARS:
        raise NoteError(
            f"The note has {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}. "
            "Shorten it (the assessment is usually enough) and try again."
        )
    return note


class Status(StrEnum):
    CONFIRMED = "confirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HISTORY = "history"
    FAMILY = "family history"


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int

    @property
    def key(self) -> str:
        return self.text.lower()


def spelt(words: Iterable[Word]) -> str:
    """Words for the search engine: as written, but for side abbreviations spelt out
    ("L wrist" -> "left wrist") and "w/" as "with"."""
    return " ".join(_QUERY_SPELLING.get(w.key, w.text) for w in words)


@dataclass(frozen=True)
class Mark:
    """Something the note says about a problem (a side, an encounter, a negation), with the
    words that say it."""

    value: str
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class Problem:
    words: tuple[Word, ...]  # the problem's own words, as written, in note order
    status: Status
    sentence: tuple[int, int]  # offsets of the sentence it was found in
    cue: Mark | None = None  # what made it negated / uncertain / history
    laterality: Mark | None = None  # left | right | bilateral
    encounter: Mark | None = None  # initial | subsequent | sequela
    fracture: Mark | None = None  # open | closed
    healing: Mark | None = None  # routine | delayed | nonunion | malunion
    also_at: tuple[tuple[int, int], ...] = ()  # the same problem repeated elsewhere

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def query(self) -> str:
        return spelt(self.words)

    @property
    def marks(self) -> tuple[Mark, ...]:
        found = (self.laterality, self.encounter, self.fracture, self.healing)
        return tuple(m for m in found if m is not None)

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Offsets of every word that supports the problem (its words and its marks)."""
        words = [*self.words, *(w for m in self.marks for w in m.words)]
        return tuple(sorted({(w.start, w.end) for w in words}))


@dataclass(frozen=True)
class CaseText:
    note: str
    problems: list[Problem]
    skipped_sections: tuple[str, ...] = ()  # headings whose text was not read for problems

    def with_status(self, *statuses: Status) -> list[Problem]:
        return [p for p in self.problems if p.status in statuses]


# ---------------------------------------------------------------------------------------------
# Vocabulary. Phrases are tuples of lower-case tokens as the tokenizer cuts them.


def _phrases(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t.split()) for t in texts)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Before the finding: "denies chest pain", "no fever". The longest phrase wins at a position.
_NEGATION_BEFORE = _phrases(
    "no",
    "not",
    "denies",
    "denied",
    "deny",
    "denying",
    "negative for",
    "neg for",
    "without",
    "w/o",
    "free of",
    "absence of",
    "absent",
    "no evidence of",
    "no sign of",
    "no signs of",
    "no history of",
    "no hx of",
    "no h/o",
    "no complaints of",
    "never had",
    "ruled out for",
)
# After the finding, inside its phrase: "PE ruled out".
_NEGATION_AFTER = _phrases(
    "ruled out",
    "was ruled out",
    "has been ruled out",
    "is ruled out",
    "excluded",
    "was excluded",
    "negative",
    "is negative",
    "was negative",
    "absent",
    "not present",
    "not seen",
)
# Outpatient guidelines: do not code a diagnosis documented as probable, suspected, rule-out.
_UNCERTAIN_BEFORE = _phrases(
    "r/o",
    "rule out",
    "to rule out",
    "rule-out",
    "possible",
    "possibly",
    "probable",
    "probably",
    "suspected",
    "suspect",
    "suspicious for",
    "suspicion of",
    "likely",
    "questionable",
    "question of",
    "concern for",
    "concerning for",
    "cannot rule out",
    "can't rule out",
    "cannot exclude",
    "can't exclude",
    "may have",
    "might have",
    "presumed",
    "?",
)
_UNCERTAIN_AFTER = _phrases(
    "?",
    "not ruled out",
    "not excluded",
    "suspected",
    "is suspected",
    "is possible",
    "possible",
    "is likely",
    "likely",
    "unlikely",
    "questionable",
)
_HISTORY_BEFORE = _phrases(
    "history of",
    "hx of",
    "h/o",
    "past history of",
    "personal history of",
    "remote history of",
    "prior history of",
    "previous history of",
    "pmh of",
    "pmhx of",
    "past medical history of",
    "past medical history significant for",
    "pmh significant for",
    "former",
    "prior",
    "previous",
)
_FAMILY_BEFORE = _phrases(
    "family history of",
    "family hx of",
    "fhx of",
    "fh of",
    "fhx",
    "family history significant for",
)
_HISTORY_AFTER = _phrases("resolved", "has resolved", "now resolved")

# Look like triggers but are not: the words stay part of the phrase.
_PSEUDO = _phrases(
    "no change",
    "no changes",
    "no increase",
    "no decrease",
    "no further",
    "not only",
    "not certain",
    "gram negative",
    "gram-negative",
    "without complication",
    "without complications",
    "without difficulty",
    "not well controlled",
    "not controlled",
    "with or without",
)
# Words that say a new, positive finding follows: they end a negation's reach.
_AFFIRM = _phrases(
    "reports",
    "reported",
    "has",
    "have",
    "complains of",
    "c/o",
    "endorses",
    "admits to",
    "presents with",
    "positive for",
    "found to have",
    "diagnosed with",
    "now",
    "now with",
)
# Words that end a clause (and with it any negation's reach): "no fever but cough".
_TERMINATORS = _phrases(
    "but",
    "however",
    "although",
    "though",
    "except",
    "except for",
    "yet",
    "aside from",
    "apart from",
    "other than",
    "whereas",
)
# Between two problems of one clause.
_SEPARATORS = _phrases(",", "and", "&", "or", "nor", "plus", "as well as", "along with")
_VERSUS = _phrases("vs", "versus", "vs.")
# Stay one problem although they contain a separator.
_KEEP_TOGETHER = _phrases(
    "nausea and vomiting",
    "nausea & vomiting",
    "nausea , vomiting",
    "hand , foot and mouth",
    "hand foot and mouth",
    "signs and symptoms",
    "drug and alcohol",
    "alcohol and drug",
)

_ENCOUNTER = {
    **dict.fromkeys(
        _phrases(
            "initial visit",
            "initial encounter",
            "initial evaluation",
            "initial eval",
            "initial exam",
            "initial presentation",
            "initial treatment",
            "initial care",
            "first visit",
            "new injury",
            "active treatment",
        ),
        "initial",
    ),
    **dict.fromkeys(
        _phrases(
            "follow-up",
            "follow up",
            "followup",
            "f/u",
            "follow-up visit",
            "follow up visit",
            "subsequent encounter",
            "subsequent visit",
            "recheck",
            "healing",
            "healing well",
            "routine healing",
            "delayed healing",
            "healing slowly",
            "nonunion",
            "non-union",
            "malunion",
            "mal-union",
        ),
        "subsequent",
    ),
    **dict.fromkeys(
        _phrases("sequela", "sequelae", "late effect", "late effects", "sequela of"), "sequela"
    ),
}
_HEALING = {
    **dict.fromkeys(_phrases("healing", "healing well", "routine healing"), "routine"),
    **dict.fromkeys(_phrases("delayed healing", "healing slowly"), "delayed"),
    **dict.fromkeys(_phrases("nonunion", "non-union"), "nonunion"),
    **dict.fromkeys(_phrases("malunion", "mal-union"), "malunion"),
}
_FRACTURE_KIND = {"open": "open", "compound": "open", "closed": "closed"}
_FRACTURE_WORDS = frozenset({"fracture", "fractures", "fractured", "fx"})

_SIDE_WORDS = {
    "left": "left",
    "right": "right",
    "bilateral": "bilateral",
    "bilaterally": "bilateral",
    "bilat": "bilateral",
    "b/l": "bilateral",
    "left-sided": "left",
    "right-sided": "right",
}
# Only a side when a body part follows: "L knee", "rt ankle", "both knees".
_SIDE_ABBREVIATIONS = {"l": "left", "r": "right", "lt": "left", "rt": "right", "both": "bilateral"}
_QUERY_SPELLING = {**_SIDE_ABBREVIATIONS, "b/l": "bilateral", "bilat": "bilateral", "w/": "with"}

_BODY_SITES = _wordset(
    """
    head scalp face forehead cheek eye eyelid orbit ear nose nasal mouth lip jaw mandible tooth
    neck throat shoulder clavicle scapula arm humerus elbow forearm radius ulna wrist carpal
    scaphoid hand metacarpal finger thumb palm chest rib sternum breast back spine lumbar
    thoracic abdomen abdominal flank groin pelvis pelvic hip buttock thigh femur knee patella
    leg tibia fibula shin calf ankle malleolus foot feet heel toe metatarsal calcaneus sole
    lung kidney ovary testis testicle acl mcl meniscus rotator achilles extremity limb
    """
)
# Findings that mean little without a body part: joined to a neighbouring phrase that names one.
_NEEDS_SITE = _wordset(
    """
    fracture fractures fractured fx break broken sprain sprained strain strained dislocation
    dislocated subluxation laceration lac cut contusion bruise bruised bruising abrasion
    abrasions swelling swollen tear torn rupture ruptured injury injuries injured pain painful
    tenderness tender deformity wound puncture bite burn burns
    """
)
# Not part of a problem: articles, verbs of reporting and imaging, mechanisms, time words.
_FILLER = _wordset(
    """
    a an the this that these those his her their he she they it its patient pt pts is are was
    were be been being has have had having of on in at to for from by as into onto upon after
    while when who which also shows show showed shown showing reveals revealed revealing
    demonstrates demonstrated demonstrating confirms confirming consistent c/w noted notes
    found seen states stated says reports reported reporting presents presented presenting
    complains complained complaining c/o endorses endorsed here came comes come today now
    currently current recently recent yesterday ago x-ray xray x-rays xr radiograph radiographs
    imaging ct mri ultrasound exam examination film films fell fall tripped slipped visit
    evaluation eval known diagnosed dx s/p pmh hx again since then there some any stable
    controlled improving improved unchanged please x mild-to-moderate
    """
)
_FILLER_PHRASES = _phrases("status post", "well controlled", "well-controlled", "per patient")
# Words that qualify the problem before them when written apart: "Major depression, recurrent,
# moderate"; "CKD, stage 3"; "COPD, exacerbation".
_QUALIFIERS = _wordset(
    """
    acute chronic subacute recurrent mild moderate severe moderate-to-severe intractable
    persistent intermittent uncomplicated complicated single episode uncontrolled poorly active
    primary secondary partial early late stage grade class type exacerbation remission
    in-remission unspecified nonintractable not
    """
)
# After "on", a word that is not a medication: "on exam", "on the left knee".
_NOT_AFTER_ON = _wordset(
    "exam examination x-ray xray ct mri imaging arrival admission presentation palpation "
    "auscultation inspection the a an his her left right"
)
_CONNECTORS = frozenset({"with", "w/", "and", "or", "due", "to", "&", ",", "of", "the"})
_TIME_UNITS = _wordset(
    "h hr hrs hour hours d day days wk wks week weeks mo mos month months yr yrs year years"
)
_AGE_UNITS = frozenset({"y/o", "yo", "y.o", "yr", "yrs", "year", "years", "year-old", "years-old"})
_AGE_TOKEN = re.compile(r"\d{1,3}(?:-?(?:y/o|yo|y\.o|years?-old|yr|m|f|mo))$", re.IGNORECASE)
_SEX_WORDS = _wordset("m f male female man woman gentleman lady boy girl")
_DOSE_UNITS = _wordset("mg mcg g ml units unit tab tabs tablet tablets iu meq puffs")
_DOSE_TOKEN = re.compile(r"\d+(?:\.\d+)?(?:mg|mcg|ml|g|iu|meq)$", re.IGNORECASE)
_MED_VERBS = _wordset(
    "start started continue continued continuing taking prescribed refill refilled"
)

# Section headings: what their text is for (None: read for problems as usual).
_SKIP_HEADINGS = (
    "medications",
    "medication",
    "meds",
    "current medications",
    "home medications",
    "home meds",
    "rx",
    "allergies",
    "allergy",
    "vitals",
    "vital signs",
    "vs",
    "labs",
    "lab",
    "lab results",
    "plan",
    "p",
    "orders",
    "disposition",
)
_HISTORY_HEADINGS = (
    "pmh",
    "pmhx",
    "past medical history",
    "past history",
    "medical history",
    "psh",
    "past surgical history",
    "surgical history",
)
_FAMILY_HEADINGS = ("fh", "fhx", "family history")
_READ_HEADINGS = (
    "assessment",
    "a",
    "impression",
    "diagnosis",
    "diagnoses",
    "dx",
    "a/p",
    "assessment and plan",
    "assessment/plan",
    "hpi",
    "history of present illness",
    "cc",
    "chief complaint",
    "ros",
    "review of systems",
    "exam",
    "physical exam",
    "pe",
    "problem list",
    "problems",
    "reason for visit",
    "subjective",
    "objective",
    "s",
    "o",
    "social history",
    "sh",
    "findings",
    "imaging",
    "x-ray",
    "xray",
    "note",
)
_HEADINGS: dict[str, str | None] = {
    **dict.fromkeys(_READ_HEADINGS, None),
    **dict.fromkeys(_SKIP_HEADINGS, "skip"),
    **dict.fromkeys(_HISTORY_HEADINGS, "history"),
    **dict.fromkeys(_FAMILY_HEADINGS, "family"),
}

# A period after these is not a sentence end.
_ABBREVIATIONS = _wordset(
    "dr mr mrs ms st vs approx e.g i.e etc y.o yo pt hx fx no wt ht temp b.i.d t.i.d q.d p.o"
)

_TOKEN = re.compile(r"(?i:w/(?!o\b))|[A-Za-z0-9]+(?:[/'.\-+][A-Za-z0-9]+)*|[,?&]")
_BULLET = re.compile(r"[ \t]*(?:[-*•·‣◦▪]|\d{1,2}[.)]|[a-zA-Z][)])[ \t]+")
_HEADING = re.compile(r"[ \t]*([A-Za-z][A-Za-z/&\- ]{0,38}?)[ \t]*:(?!\d)")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|;")


# ---------------------------------------------------------------------------------------------
# Sentences and sections


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    section: str | None  # skip | history | family | None
    heading: tuple[Word, ...] = ()


def _split_sentences(note: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(note, start, end):
        if m.group() == "." or m.group().startswith("."):
            before = re.search(r"([A-Za-z./]+)$", note[max(start, m.start() - 8) : m.start()])
            if before and before.group(1).lower().strip(".") in _ABBREVIATIONS:
                continue
        # A question mark stays with its sentence: it marks the finding as uncertain.
        stop = m.end() if "?" in m.group() else m.start()
        spans.append((pos, stop))
        pos = m.end()
    spans.append((pos, end))
    # Without the spaces around: a sentence is shown as an excerpt.
    stripped = [(s + len(note[s:e]) - len(note[s:e].lstrip()), e) for s, e in spans]
    return [(s, s + len(note[s:e].rstrip())) for s, e in stripped if note[s:e].strip()]


def _segments(note: str) -> tuple[list[_Segment], list[str]]:
    """Sentences (and list items, and lines) with the section each belongs to."""
    segments: list[_Segment] = []
    skipped: list[str] = []
    sticky: tuple[str | None, tuple[Word, ...]] = (None, ())  # a heading alone on its line
    offset = 0
    for line in note.split("\n"):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        if not line.strip():
            sticky = (None, ())  # a blank line ends a section
            continue
        pos = line_start
        bullet = _BULLET.match(note, pos, line_end)
        if bullet:
            pos = bullet.end()
        current = sticky
        for s, e in _split_sentences(note, pos, line_end):
            heading = _HEADING.match(note, s, e)
            label = " ".join(heading.group(1).lower().split()) if heading else ""
            if heading and label in _HEADINGS:
                words = tuple(_tokens(note, heading.start(1), heading.end(1)))
                current = (_HEADINGS[label], words)
                rest = note[heading.end() : line_end]
                # A heading alone on its line heads the lines below it; any heading ends the
                # section before it.
                sticky = current if not rest.strip() else (None, ())
                if current[0] == "skip":
                    skipped.append(heading.group(1).strip())
                s = heading.end()
            if note[s:e].strip():
                segments.append(_Segment(s, e, current[0], current[1]))
    return segments, list(dict.fromkeys(skipped))


def _tokens(note: str, start: int, end: int) -> list[Word]:
    return [Word(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(note, start, end)]


# ---------------------------------------------------------------------------------------------
# Phrases inside a sentence


def _match_at(keys: Sequence[str], i: int, phrases: Iterable[tuple[str, ...]]) -> int:
    """The length of the longest phrase that starts at keys[i] (0: none)."""
    best = 0
    for phrase in phrases:
        n = len(phrase)
        if n > best and tuple(keys[i : i + n]) == phrase:
            best = n
    return best


def _site_key(key: str) -> bool:
    return key in _BODY_SITES or (len(key) > 3 and key.rstrip("s") in _BODY_SITES)


def is_body_part(word: Word) -> bool:
    return _site_key(word.key)


@dataclass
class _Item:
    """A stretch of a clause between separators: one candidate problem."""

    words: list[Word] = field(default_factory=list)  # content words, sides included
    status: Status = Status.CONFIRMED
    cue: Mark | None = None
    marks: dict[str, Mark] = field(default_factory=dict)  # laterality, encounter, ...
    sides: set[Word] = field(default_factory=set)  # the side words among `words`
    first_key: str = ""  # the item's first word, fillers included ("started metformin")
    medication: bool = False  # "on warfarin"

    @property
    def core(self) -> list[Word]:
        """The content words other than a side."""
        return [w for w in self.words if w not in self.sides]

    def is_problem(self) -> bool:
        return any(len(w.text) > 1 and any(c.isalpha() for c in w.text) for w in self.core)

    def has_site(self) -> bool:
        return any(_site_key(w.key) for w in self.words)

    def site_only(self) -> bool:
        core = self.core
        return bool(core) and all(_site_key(w.key) or w.key.isdigit() for w in core)

    def head_only(self) -> bool:
        return any(w.key in _NEEDS_SITE for w in self.words) and not self.has_site()

    def is_medication(self) -> bool:
        return self.medication or self.first_key in _MED_VERBS

    def qualifies(self) -> bool:
        """Only words that qualify a problem ("recurrent, moderate"; "stage 3")."""
        core = self.core
        return bool(core) and all(w.key in _QUALIFIERS or w.key.isdigit() for w in core)


def _demographics(keys: Sequence[str]) -> set[int]:
    """Indexes of an age and sex ("58 y/o M", "58-year-old female", "58yo"): not a problem."""
    found: set[int] = set()
    for i, key in enumerate(keys):
        if _AGE_TOKEN.match(key):
            span = [i]
        elif key.isdigit() and i + 1 < len(keys) and keys[i + 1] in _AGE_UNITS:
            span = [i, i + 1]
            if keys[i + 1] in ("year", "years") and i + 2 < len(keys) and keys[i + 2] == "old":
                span.append(i + 2)
        else:
            continue
        nxt = span[-1] + 1
        if nxt < len(keys) and keys[nxt] in _SEX_WORDS:
            span.append(nxt)
        found.update(span)
    return found


def _number_fillers(keys: Sequence[str]) -> set[int]:
    """Durations, doses and readings: "x 3 days", "500 mg", "150/90"."""
    found: set[int] = set()
    for i, key in enumerate(keys):
        nxt = keys[i + 1] if i + 1 < len(keys) else ""
        unit = key[:1].isdigit() and (nxt in _TIME_UNITS or nxt in _DOSE_UNITS)
        if unit or (key == "x" and nxt[:1].isdigit()):
            found.update((i, i + 1))
        elif _DOSE_TOKEN.match(key) or re.fullmatch(r"\d+/\d+", key):
            found.add(i)
    return found


class _ClauseReader:
    """Reads one clause (no terminator inside) into items, NegEx style: a trigger before a
    finding reaches to the clause's end (or to a word like "reports"); a trigger after one
    applies to its own phrase."""

    def __init__(self, words: list[Word], keys: list[str], skip: set[int]) -> None:
        self.words, self.keys, self.skip = words, keys, skip
        self.items: list[_Item] = [_Item()]
        self.state, self.cue = Status.CONFIRMED, None
        self.versus: list[tuple[int, Mark]] = []  # the item before each "vs", and the word

    @property
    def item(self) -> _Item:
        return self.items[-1]

    def new_item(self) -> None:
        if self.item.words or self.item.marks or self.item.first_key:
            self.items.append(_Item(status=self.state, cue=self.cue))
        else:
            self.item.status, self.item.cue = self.state, self.cue

    def add(self, i: int) -> None:
        key = self.keys[i]
        if not self.item.first_key:
            self.item.first_key = key
        if key not in _FILLER:
            self.item.words.append(self.words[i])

    def ends_phrase(self, i: int) -> bool:
        """Whether position i is the end of a phrase (clause end or a separator)."""
        return i >= len(self.keys) or bool(
            _match_at(self.keys, i, _SEPARATORS) or _match_at(self.keys, i, _VERSUS)
        )

    def read(self) -> list[_Item]:
        keys, words, n = self.keys, self.words, len(self.keys)
        i = 0
        while i < n:
            if i in self.skip:
                i += 1
            elif m := _match_at(keys, i, _PSEUDO):
                for j in range(i, i + m):
                    self.add(j)
                i += m
            elif m := _match_at(keys, i, _KEEP_TOGETHER):
                for j in range(i, i + m):
                    if keys[j] not in (",", "and", "&"):
                        self.add(j)
                i += m
            elif self.item.words and keys[i] in ("without", "w/o"):
                # Inside a phrase "without" is part of the diagnosis, as in code titles
                # ("migraine without aura"); it negates only at a phrase's start.
                self.add(i)
                i += 1
            elif m := self.trigger(i):
                i += m
            elif self.on_medication(i):
                self.new_item()
                self.item.medication = True
                i += 1
            elif m := _match_at(keys, i, _AFFIRM):
                self.state, self.cue = Status.CONFIRMED, None
                self.new_item()
                i += m
            elif m := _match_at(keys, i, _VERSUS):
                self.versus.append((len(self.items) - 1, Mark("uncertain", (words[i],))))
                self.new_item()
                i += m
            elif m := _match_at(keys, i, _SEPARATORS):
                self.new_item()
                i += m
            elif (m := self.modifier(i)) or (m := _match_at(keys, i, _FILLER_PHRASES)):
                i += m
            else:
                self.add(i)
                i += 1
        # "bronchitis vs pneumonia": neither is established.
        for before, cue in self.versus:
            for item in self.items[before : before + 2]:
                if item.status is Status.CONFIRMED:
                    item.status, item.cue = Status.UNCERTAIN, cue
        return [_trim(item) for item in _attach_qualifiers(self.items)]

    def on_medication(self, i: int) -> bool:
        """ "Afib on warfarin": what follows "on" after a finding is a medication."""
        keys = self.keys
        if keys[i] != "on" or not self.item.words or i + 1 >= len(keys):
            return False
        nxt = keys[i + 1]
        return nxt not in _NOT_AFTER_ON and not _site_key(nxt) and nxt not in _SIDE_WORDS

    def trigger(self, i: int) -> int:
        """A negation, uncertainty or history trigger at i: the words it takes (0: none)."""
        keys, words = self.keys, self.words
        before = [
            (m, status)
            for phrases, status in (
                (_NEGATION_BEFORE, Status.NEGATED),
                (_UNCERTAIN_BEFORE, Status.UNCERTAIN),
                (_HISTORY_BEFORE, Status.HISTORY),
                (_FAMILY_BEFORE, Status.FAMILY),
            )
            if (m := _match_at(keys, i, phrases))
        ]
        after = [
            (m, status)
            for phrases, status in (
                (_NEGATION_AFTER, Status.NEGATED),
                (_UNCERTAIN_AFTER, Status.UNCERTAIN),
                (_HISTORY_AFTER, Status.HISTORY),
            )
            if (m := _match_at(keys, i, phrases))
        ]
        longest_before = max(before, default=(0, Status.CONFIRMED), key=lambda f: f[0])
        longest_after = max(after, default=(0, Status.CONFIRMED), key=lambda f: f[0])
        # "pneumonia possible" but "possible pneumonia": a word that may come either side of
        # its finding comes after it when it ends the phrase. Alone after a comma
        # ("pneumonia, resolved") it is about the phrase before.
        ends = self.ends_phrase(i + longest_after[0])
        finding = (
            self.item
            if self.item.words
            else self.items[-2]
            if ends and len(self.items) > 1 and not self.item.marks
            else None
        )
        if (
            longest_after[0]
            and finding is not None
            and (longest_after[0] > longest_before[0] or ends)
        ):
            length, status = longest_after
            finding.status = status
            finding.cue = Mark(status.value, tuple(words[i : i + length]))
            return length
        if longest_before[0]:
            length, status = longest_before
            self.state, self.cue = status, Mark(status.value, tuple(words[i : i + length]))
            self.new_item()
            return length
        return 0

    def modifier(self, i: int) -> int:
        """An encounter, fracture kind or side at i: the words it takes (0: none)."""
        keys, words, n = self.keys, self.words, len(self.keys)
        if m := _match_at(keys, i, tuple(_ENCOUNTER)):
            phrase = tuple(keys[i : i + m])
            # "f/u in 2 weeks" plans the next visit: it says nothing about this one.
            planned = i + m < n and (keys[i + m] in ("in", "with") or keys[i + m][:1].isdigit())
            if not planned:
                said = tuple(words[i : i + m])
                self.item.marks.setdefault("encounter", Mark(_ENCOUNTER[phrase], said))
                if phrase in _HEALING:
                    self.item.marks.setdefault("healing", Mark(_HEALING[phrase], said))
            return m
        key = keys[i]
        if key in _FRACTURE_KIND and i + 1 < n and keys[i + 1] in _FRACTURE_WORDS:
            self.item.marks.setdefault("fracture", Mark(_FRACTURE_KIND[key], (words[i],)))
            return 1
        side = _SIDE_WORDS.get(key)
        if side is None and key in _SIDE_ABBREVIATIONS and i + 1 < n and _site_key(keys[i + 1]):
            side = _SIDE_ABBREVIATIONS[key]
        if side is None:
            return 0
        self.item.marks.setdefault("laterality", Mark(side, (words[i],)))
        self.item.sides.add(words[i])
        self.item.words.append(words[i])
        self.item.first_key = self.item.first_key or key
        return 1


def _attach_qualifiers(items: list[_Item]) -> list[_Item]:
    """ "Major depression, recurrent, moderate" and "HTN, with CKD" are one problem each: a
    part that only qualifies, or starts with "with", belongs to the phrase before it."""
    kept: list[_Item] = []
    for item in items:
        before = kept[-1] if kept else None
        joins = item.qualifies() or item.first_key in ("with", "w/")
        if before is not None and before.words and joins and item.status is before.status:
            before.words.extend(item.words)
            before.sides |= item.sides
            for kind, mark in item.marks.items():
                before.marks.setdefault(kind, mark)
            continue
        kept.append(item)
    return kept


def _trim(item: _Item) -> _Item:
    """Drop connectors left at either end once the fillers are gone ("consistent with X")."""
    while item.words and item.words[0].key in _CONNECTORS:
        item.words.pop(0)
    while item.words and item.words[-1].key in _CONNECTORS:
        item.words.pop()
    return item


def _clauses(keys: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = i = 0
    while i < len(keys):
        if m := _match_at(keys, i, _TERMINATORS):
            spans.append((start, i))
            start = i = i + m
            continue
        i += 1
    spans.append((start, len(keys)))
    return [(s, e) for s, e in spans if e > s]


def _join_sites(items: list[_Item]) -> list[_Item]:
    """Findings without a body part take one from their sentence: "fell on L wrist, x-ray shows
    fracture" is one problem (the finding joins the phrase that is only a body part), and in
    "L knee pain and swelling" the swelling is of the left knee too."""
    absorbed: set[int] = set()
    for index, item in enumerate(items):
        if not item.head_only():
            continue
        near = sorted(
            (j for j, o in enumerate(items) if j != index and o.status is item.status),
            key=lambda j: (abs(j - index), j > index),
        )
        host = next((j for j in near if j not in absorbed and items[j].site_only()), None)
        if host is not None:
            _take(items[host], item.words, item.sides, item.marks)
            absorbed.add(index)
            continue
        donor = next((j for j in near if items[j].has_site()), None)
        if donor is not None:
            other = items[donor]
            site = [w for w in other.words if w in other.sides or _site_key(w.key)]
            side = {k: m for k, m in other.marks.items() if k == "laterality"}
            _take(item, site, other.sides, side)
    return [item for index, item in enumerate(items) if index not in absorbed]


def _take(item: _Item, words: list[Word], sides: set[Word], marks: dict[str, Mark]) -> None:
    item.words = sorted({*item.words, *words}, key=lambda w: w.start)
    item.sides |= sides & set(words)
    for kind, mark in marks.items():
        item.marks.setdefault(kind, mark)


def _sentence_problems(note: str, segment: _Segment) -> tuple[list[Problem], list[Mark]]:
    """The problems of one sentence, and the encounter it states when it names no problem."""
    words = _tokens(note, segment.start, segment.end)
    keys = [w.key for w in words]
    skip = _demographics(keys) | _number_fillers(keys)
    items: list[_Item] = []
    for s, e in _clauses(keys):
        shifted = {i - s for i in skip if s <= i < e}
        items.extend(_ClauseReader(words[s:e], keys[s:e], shifted).read())
    items = [i for i in items if not i.is_medication()]
    modifiers = [i for i in items if not i.is_problem() and i.marks]
    found = _join_sites([i for i in items if i.is_problem()])

    # A side or encounter written on its own ("Knee pain, left"; "..., initial visit, ...")
    # belongs to the problems of its sentence that do not state one.
    for mod in modifiers:
        for kind, mark in mod.marks.items():
            for item in found:
                if kind != "laterality" or item.has_site():
                    item.marks.setdefault(kind, mark)

    problems: list[Problem] = []
    for item in found:
        status, cue = item.status, item.cue
        if status is Status.CONFIRMED and segment.section in ("history", "family"):
            status = Status.HISTORY if segment.section == "history" else Status.FAMILY
            cue = Mark(status.value, segment.heading)
        problems.append(
            Problem(
                words=tuple(item.words[:MAX_QUERY_WORDS]),
                status=status,
                sentence=(segment.start, segment.end),
                cue=cue,
                laterality=item.marks.get("laterality"),
                encounter=item.marks.get("encounter"),
                fracture=item.marks.get("fracture"),
                healing=item.marks.get("healing"),
            )
        )
    stated = [] if found else [m for i in modifiers for m in i.marks.values()]
    return problems, [m for m in stated if m.value in ("initial", "subsequent", "sequela")]


# ---------------------------------------------------------------------------------------------


def analyse(raw: str) -> CaseText:
    """The note's problems in note order (the same problem stated twice is listed once)."""
    note = clean_note(raw)
    segments, skipped = _segments(note)
    problems: list[Problem] = []
    stated: list[Mark] = []
    for segment in segments:
        if segment.section == "skip":
            continue
        found, encounters = _sentence_problems(note, segment)
        problems.extend(found)
        stated.extend(encounters)

    # An encounter stated in a sentence of its own ("Initial visit.") is the note's, when the
    # note states only one kind of encounter.
    kinds = {m.value for m in stated}
    if len(kinds) == 1:
        problems = [
            replace(p, encounter=stated[0])
            if p.encounter is None and p.status is Status.CONFIRMED
            else p
            for p in problems
        ]
    return CaseText(note, _merge_repeats(problems), tuple(skipped))


def _merge_repeats(problems: list[Problem]) -> list[Problem]:
    by_key: dict[tuple[Status, str], int] = {}
    merged: list[Problem] = []
    for p in problems:
        key = (p.status, p.query.lower())
        if key not in by_key:
            by_key[key] = len(merged)
            merged.append(p)
            continue
        first = merged[by_key[key]]
        merged[by_key[key]] = replace(
            first,
            laterality=first.laterality or p.laterality,
            encounter=first.encounter or p.encounter,
            fracture=first.fracture or p.fracture,
            healing=first.healing or p.healing,
            also_at=(*first.also_at, p.sentence),
        )
    return merged
