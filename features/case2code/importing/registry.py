"""Every importer, in the order they run (a prior release before the release that follows it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from features.case2code.importing import (
    cpt,
    gems,
    hcpcs,
    icd10cm,
    icd10cm_index,
    icd10pcs,
    lcd,
    mpfs,
    msdrg,
    ncci,
    pos,
)
from features.case2code.importing.base import Dataset
from features.case2code.importing.context import ImportContext


@dataclass(frozen=True)
class Importer:
    code_set: str
    label: str
    datasets: Callable[[ImportContext], Iterable[Dataset]]


IMPORTERS: list[Importer] = [
    Importer("icd-10-cm", "ICD-10-CM (FY2025 titles, then the FY2026 tabular)", icd10cm.datasets),
    Importer(
        "icd-10-pcs",
        "ICD-10-PCS (FY2024 all sections, then FY2025 Medical and Surgical)",
        icd10pcs.datasets,
    ),
    Importer("gems", "General Equivalence Mappings 2018, ICD-9-CM v32 titles", gems.datasets),
    Importer("ms-drg", "MS-DRG (CMS Tables 5, 6I-6K)", msdrg.datasets),
    Importer("icd-10-cm-index", "ICD-10-CM index tables FY2022", icd10cm_index.datasets),
    Importer("hcpcs", "HCPCS Level II (CMS alpha-numeric file)", hcpcs.datasets),
    Importer("mpfs", "Medicare Physician Fee Schedule (RVUs, GPCIs, localities)", mpfs.datasets),
    Importer("ncci", "NCCI PTP edits and MUEs (CMS files, else the sample)", ncci.datasets),
    Importer("pos", "Place of service codes", pos.datasets),
    Importer("lcd", "Medicare Coverage Database: LCD and article list", lcd.datasets),
    Importer("cpt", "CPT (licensed AMA file, else the project's own sample)", cpt.datasets),
]


def importer(code_set: str) -> Importer:
    for item in IMPORTERS:
        if item.code_set == code_set:
            return item
    known = ", ".join(i.code_set for i in IMPORTERS)
    raise KeyError(f"unknown code set {code_set!r}; known: {known}")
