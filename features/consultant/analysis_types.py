"""The shapes of a consult's coded draft (re-exported by features.consultant.analysis)."""

from __future__ import annotations

from dataclasses import dataclass, field

from features.casepilot.facts import Citation
from features.consultant.analysis_text import Kind


@dataclass(frozen=True)
class ProposedCode:
    system: str  # icd-10-cm | icd-10-pcs | cpt | hcpcs
    code: str  # no dot, as the catalog keys it
    display: str  # as printed: "S62.102A"
    title: str  # the catalog's title
    billable: bool
    kind: Kind
    support: tuple[str, ...]  # the words of the case that support it
    note: str = ""  # what the reviewer must check: "needs a 7th character", ...
    url: str = ""  # its code page


@dataclass(frozen=True)
class Finding:
    """A problem, procedure or supply of the case, with the codes proposed for it."""

    text: str  # as the case words it
    kind: Kind
    excerpt: str  # the sentence it was found in
    codes: tuple[ProposedCode, ...]  # proposed, best first (additional codes after it)
    alternatives: tuple[ProposedCode, ...] = ()  # the next candidates, for the reviewer
    notice: str = ""


@dataclass(frozen=True)
class Draft:
    problems: tuple[Finding, ...]
    codes: tuple[ProposedCode, ...]  # in sequencing order
    sequencing: tuple[str, ...]
    conflicts: tuple[str, ...]  # NCCI PTP edits and MUEs (sample data, labelled)
    gaps: tuple[str, ...]  # documentation gaps and Excludes1 conflicts
    not_coded: tuple[str, ...]  # negated, uncertain, history, planned: with why
    citations: tuple[Citation, ...]
    confidence: float  # 0..1: all coded specifically, no gaps, no conflicts -> high
    markdown: str  # the whole draft, for the reviewer to edit
    releases: tuple[str, ...] = field(default=())  # the data releases it cites
