"""What every CasePilot tool returns: facts, each with the citation it came from.

Engines write answers only from these; a fact without a citation cannot be built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """Where a fact comes from: a portal page (a code page, a search) and the data release."""

    label: str  # "ICD-10-CM E11.9" / "MPFS CY2025 A: 99213" / "LCD L33831"
    url: str  # a portal URL ("/codes/icd-10-cm/E11.9") or an official one (CMS LCD page)
    release: str  # the release name, shown with the fact ("ICD-10-CM FY2026, April 1 2026 update")


@dataclass(frozen=True)
class Fact:
    text: str  # one plain sentence, ready to show
    citation: Citation


@dataclass(frozen=True)
class ToolResult:
    tool: str
    ok: bool  # False: nothing found (the facts then say what was looked for and not found)
    facts: tuple[Fact, ...] = ()
    # Machine-readable payload for engines and the consultant (codes, numbers, rows).
    data: dict[str, Any] = field(default_factory=dict)
    # Codes this result names, as (system, code without dot): the code check trusts these.
    codes: tuple[tuple[str, str], ...] = ()

    @property
    def citations(self) -> list[Citation]:
        return list(dict.fromkeys(f.citation for f in self.facts))
