"""Every importer, in the order they run (a prior release before the release that follows it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from features.case2code.importing import icd10cm
from features.case2code.importing.base import Dataset
from features.case2code.importing.context import ImportContext


@dataclass(frozen=True)
class Importer:
    code_set: str
    label: str
    datasets: Callable[[ImportContext], Iterable[Dataset]]


IMPORTERS: list[Importer] = [
    Importer("icd-10-cm", "ICD-10-CM (FY2025 titles, then the FY2026 tabular)", icd10cm.datasets),
]


def importer(code_set: str) -> Importer:
    for item in IMPORTERS:
        if item.code_set == code_set:
            return item
    known = ", ".join(i.code_set for i in IMPORTERS)
    raise KeyError(f"unknown code set {code_set!r}; known: {known}")
