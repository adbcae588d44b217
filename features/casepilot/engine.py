"""The one interface every answer engine implements, and what it streams.

An engine yields text pieces as it writes (shown at once) and ends with one Answer: the whole
text, its citations and what the code check found. The chat shows the Answer's text as final,
so an engine whose streamed words fail the check can still be corrected or refused at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from features.casepilot.facts import Citation


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Context:
    """What the question is asked about: the code page it came from, the turns before it."""

    code: tuple[str, str] | None = None  # (system slug, code without dot)
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class CodeFlag:
    """A code the answer names that the catalog does not back as written."""

    code: str  # as written in the answer
    system: str | None  # the system it was checked in
    problem: Literal["unknown", "not billable", "wrong system"]
    note: str  # shown beside the answer


@dataclass(frozen=True)
class Answer:
    text: str  # Markdown; rendered sanitised
    citations: tuple[Citation, ...]
    engine: str
    intent: str = ""
    flags: tuple[CodeFlag, ...] = ()
    refused: bool = False  # the answer failed the checks and is not shown as an answer
    tools: tuple[str, ...] = field(default=())  # tools it called, in order


Piece = str | Answer  # text as it is written, then the Answer once


class AnswerEngine(Protocol):
    name: str

    def answer(self, question: str, context: Context) -> AsyncIterator[Piece]: ...
