"""What a search returns: the public shape every caller (pages, API, case to code, the
assistant) relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from markupsafe import Markup

from features.case2code.search.text import laterality, mark


@dataclass
class SearchHit:
    """One result. Read-only by agreement, not frozen: results are cached and shared between
    requests, and a search makes twenty of these (a frozen dataclass takes four times as long
    to make: 17 µs of a 190 µs search)."""

    system: str  # icd-10-cm | icd-10-pcs | hcpcs | cpt
    code: str  # normalised: upper case, no dot
    display: str  # as printed: "S93.402A"
    title: str
    billable: bool
    kind: str  # category | subcategory | code | modifier
    needs_seventh: bool  # ICD-10-CM: a 7th character is required to report it
    excludes1: tuple[str, ...]  # Excludes1 notes of the code and its ancestors
    release: str  # the release label shown with the result
    score: float
    matched: tuple[str, ...] = ()  # the search terms (stems) this query matched
    chapter: str | None = None  # ICD-10-CM chapter number ("4"), else None

    @property
    def url(self) -> str:
        return f"/codes/{self.system}/{self.display}"

    # Worked out when shown, not for every hit: the JSON API never asks for the marked title.
    @cached_property
    def title_html(self) -> Markup:
        """The title, escaped, with the words the query matched in <mark>."""
        return mark(self.title, frozenset(self.matched))

    @cached_property
    def laterality(self) -> str | None:
        """ "right" | "left" | "bilateral" | "unspecified side" (ICD-10-CM), else None."""
        return laterality(self.title) if self.system == "icd-10-cm" else None


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[SearchHit]
    total: int  # how many codes matched before the limit
    mode: str  # "code" (the query was a code or code prefix) | "words" | "empty"
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> word searched
    expansions: dict[str, str] = field(default_factory=dict)  # "htn" -> "hypertension"
    partial: bool = False  # no code matched every word: these match most of them
    release_names: tuple[str, ...] = ()  # releases the index was built from


SYSTEM_FILTERS = ("icd-10-cm", "icd-10-pcs", "hcpcs", "cpt")
MAX_QUERY_CHARS = 200
MAX_LIMIT = 100


class SearchQueryError(ValueError):
    """A query or filter the search cannot take (the message is shown to the user)."""


class SearchUnavailable(RuntimeError):
    """The index is still being built (a first start, or the first after an import)."""

    retry_after_s = 5

    def __init__(self) -> None:
        super().__init__(
            "The code search is being prepared after a data import: try again in a few seconds."
        )
