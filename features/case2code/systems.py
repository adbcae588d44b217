"""The code systems a page can show, and how a typed code is checked and normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass


class CodeFormatError(ValueError):
    """A code that cannot be one of the system's codes; the message says what is expected."""


@dataclass(frozen=True)
class System:
    slug: str  # as in the URL: /codes/{slug}/{code}
    label: str
    code_set: str  # the Release.code_set whose release names the page stamps
    pattern: re.Pattern[str]
    expected: str  # shown when a code does not match

    dot_at: int | None = None  # where the printed code has its dot (ICD-10-CM: after 3)

    @property
    def article(self) -> str:
        return "an" if self.label[0] in "AEIOUH" and not self.label.startswith("HCPCS") else "a"

    def display(self, code: str) -> str:
        """A normalised code as printed: "E119" -> "E11.9"."""
        at = self.dot_at
        return f"{code[:at]}.{code[at:]}" if at is not None and len(code) > at else code

    def normalise(self, raw: str) -> str:
        typed = (raw or "").strip().upper()
        if not typed:
            raise CodeFormatError(f"Enter {self.article} {self.label} code.")
        code = (
            typed.replace(".", "", 1)
            if self.dot_at is not None and typed.find(".") == self.dot_at
            else typed
        )
        if len(code) > 10 or not self.pattern.fullmatch(code):
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            raise CodeFormatError(
                f"“{shown}” is not {self.article} {self.label} code: {self.expected}"
            )
        return code


SYSTEMS: dict[str, System] = {
    s.slug: s
    for s in (
        System(
            "icd-10-cm",
            "ICD-10-CM",
            "icd-10-cm",
            re.compile(r"[A-Z][0-9A-Z]{2}[0-9A-Z]{0,4}"),
            "a letter, then two characters, then up to four more (e.g. E11.9 or S93.402A).",
            dot_at=3,
        ),
        System(
            "icd-10-pcs",
            "ICD-10-PCS",
            "icd-10-pcs",
            re.compile(r"[0-9A-HJ-NP-Z]{7}"),
            "seven letters or digits, without I or O (e.g. 0DTJ4ZZ).",
        ),
        System(
            "hcpcs",
            "HCPCS Level II",
            "hcpcs",
            re.compile(r"[A-V][0-9]{4}|[0-9A-Z]{2}"),
            "a letter A–V and four digits (e.g. J1100), or a two-character modifier (e.g. LT).",
        ),
        System(
            "cpt",
            "CPT",
            "cpt",
            re.compile(r"[0-9]{4}[0-9FTU]"),
            "five characters: four digits and a digit, F, T or U (e.g. 99213).",
        ),
    )
}


def system_for(slug: str) -> System | None:
    return SYSTEMS.get((slug or "").lower())
