"""Word matching for the CasePilot tools that search text (LCD titles, guidelines, places of
service), and the codes that ICD-10-CM notes name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from features.case2code import catalog
from features.casepilot.tools_common import CM

_STOP = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "code", "codes", "do", "does",
        "for", "from", "how", "i", "in", "is", "it", "me", "of", "on", "or", "the", "to", "what",
        "when", "which", "with", "without", "about", "should", "my", "there", "this", "that",
        "use", "used", "using",
    }
)  # fmt: skip
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s")


def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def stems(text: str, drop_stop: bool = False) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    # Single letters stay: "vitamin D" is not "vitamin B12".
    return [stem(w) for w in words if not (drop_stop and w in _STOP)]


def matched(query: Sequence[str], text: str) -> int:
    """How many of the query's stems the text has (a stem also matches a longer word)."""
    words = set(stems(text))
    return sum(
        1 for q in query if q in words or (len(q) >= 4 and any(w.startswith(q) for w in words))
    )


def join_notes(texts: Sequence[str]) -> str:
    """Notes as one sentence; a note ending in a colon introduces the ones after it."""
    out = ""
    for text in (" ".join(t.split()) for t in texts):
        out = text if not out else (f"{out} {text}" if out.endswith(":") else f"{out}; {text}")
    return out


_CODE_IN_TEXT = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.-|-)?")


async def cm_codes_in(texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The ICD-10-CM codes that notes name ("(E08.-)", "Z79.4", "P70-P74") and that exist."""
    wanted = {m.group(1).replace(".", "") for text in texts for m in _CODE_IN_TEXT.finditer(text)}
    found = await catalog.codes(CM, wanted) if wanted else {}
    return tuple((CM, code) for code in sorted(found))
