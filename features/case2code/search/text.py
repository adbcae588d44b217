"""How search reads text: normalising, tokens, a light stemmer and what looks like a code.

The same functions read the catalog when the index is built and the query when it is searched,
so a word is spelled one way on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from html import escape

from markupsafe import Markup

# Words that carry no meaning for finding a code. "without" and "other" stay: ICD-10-CM titles
# turn on them ("without complications"); "with" goes, "htn with ckd" is found by its conditions.
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "from", "as", "is", "are",
    "was", "be", "or", "and", "nos", "nec", "its", "it", "this", "that", "due", "with",
})
# fmt: on

_NON_WORD = re.compile(r"[^a-z0-9]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])['’]s\b")


def fold(text: str) -> str:
    """Lower case, accents off, possessive 's off: "Crohn's" -> "crohn"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower()
    return _APOSTROPHE.sub("", text) if "'" in text or "’" in text else text


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light stemmer for English medical words: plurals and a few endings, nothing clever.

    Aggressive stemmers merge words coders keep apart ("fracture"/"fractured" is fine,
    "organ"/"organism" is not), so only unambiguous endings are cut.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "os")):
        return word[:-1]
    if word.endswith("ed") and len(word) > 5 and word[-3] not in "aeiou":
        # "fractured" -> "fracture", "closed" -> "close", "infected" -> "infect"
        return word[:-1] if word[-3] in "rtszvcg" and word[-4] in "aeiou" else word[:-2]
    return word


# Endings that make one medical word of another: neurosis/neurotic, tuberculosis/tuberculous,
# depression/depressive, anemia/anemic, atrophy/atrophic, sepsis/septic, arthritis/arthritic,
# alcoholism/alcoholic, infection/infect(ed), perforation/perforate(d). Words with the same
# root before endings of one family are variants of each other.
_DERIVATIONS = (
    ("osis", "ous", "otic"),
    ("sis", "tic"),
    ("itis", "itic"),
    ("ion", "ive", ""),
    ("ia", "ic"),
    ("y", "ic"),
    ("ism", "ic"),
    ("ation", "ate"),
)
_MIN_ROOT = 4


def derivation_keys(term: str) -> list[str]:
    """Keys shared by a search term and its derivational variants (see _DERIVATIONS)."""
    keys = []
    for family, endings in enumerate(_DERIVATIONS):
        for ending in endings:
            root = len(term) - len(ending)
            if term.endswith(ending) and root >= (_MIN_ROOT if ending else _MIN_ROOT + 1):
                keys.append(f"{term[:root]}#{family}")
    return keys


def words(text: str) -> list[str]:
    """The text's words as written (folded), stopwords included: for marking matches."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


def tokens(text: str) -> list[str]:
    """The text's search terms: folded, split, stopwords out, stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


# A query that is one code or the start of one: ICD-10-CM ("e11.9", "E119", "j18", "S93.402A"),
# ICD-10-PCS ("0FT4", "0DTJ4ZZ"), HCPCS ("J1100", "j11"), CPT ("99213"), a modifier ("25").
_CODE_LIKE = re.compile(r"^[a-z0-9]{1,3}(\.?[a-z0-9]{1,4})?[a-z0-9]?$")


def code_key(query: str) -> str | None:
    """The query as a normalised code prefix (upper case, no dot), or None if it is words."""
    text = query.strip().lower()
    if not text or " " in text or not _CODE_LIKE.match(text):
        return None
    if not any(ch.isdigit() for ch in text):
        return None  # "flu", "copd": words, not codes
    return text.replace(".", "").upper()


_LATERALITY = (
    (re.compile(r"\bbilateral\b", re.I), "bilateral"),
    (re.compile(r"\bright\b", re.I), "right"),
    (re.compile(r"\bleft\b", re.I), "left"),
    (
        re.compile(
            r"\bunspecified (side|ear|eye|limb|upper limb|lower limb|hand|foot|knee|hip|"
            r"shoulder|elbow|wrist|ankle|arm|leg|thigh|lower leg|forearm|upper arm|"
            r"breast|kidney|lung|ovary|fallopian tube|finger|toe|orbit)\b",
            re.I,
        ),
        "unspecified side",
    ),
)
_WORD_PARTS = re.compile(r"([A-Za-z0-9]+)")


@lru_cache(maxsize=65_536)  # titles repeat from search to search
def laterality(title: str) -> str | None:
    """The side a title names: "right", "left", "bilateral", "unspecified side" or None."""
    for pattern, side in _LATERALITY:
        if pattern.search(title):
            return side
    return None


def mark(title: str, terms: frozenset[str]) -> Markup:
    """`title` escaped, each word whose search term is in `terms` in <mark>."""
    parts = _WORD_PARTS.split(title)
    for i in range(len(parts)):
        if i % 2 and stem(parts[i].lower()) in terms:
            parts[i] = f"<mark>{parts[i]}</mark>"  # a word part: letters and digits only
        else:
            parts[i] = escape(parts[i], quote=True)
    return Markup("".join(parts))  # noqa: S704 (every part escaped or alphanumeric)
