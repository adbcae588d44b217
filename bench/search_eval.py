"""The search evaluation set: queries a coder types and the codes that count as a right answer.

What it is: a list of (group, query, acceptable codes), built from the imported catalog
(deterministic: sorted candidates, then a seeded sample) plus curated lists. A result is a
hit when its (system, code) is acceptable:

  inclusion (held out)   ~300 ICD-10-CM inclusion terms (details.notes.inclusionTerm) typed as
                         they are printed. The term is held out of the index under test, so the
                         engine must find the code from the rest of its data. Acceptable: the code
                         the term belongs to; when that is a category or subcategory (not
                         billable), it or any code below it.
  includes (held out)    ~60 category-level "includes" notes (details.notes.includes), held out
                         the same way. Acceptable: the category or any code below it.
  index (held out)       ~200 entries of the Table of Drugs, the Neoplasm Table and the External
                         Cause Index, turned into what a coder types: the parent terms and the
                         term without their nonessential (parenthesised) modifiers, then the
                         column in words ("acetaminophen poisoning accidental", "duodenum
                         secondary malignant neoplasm", "fall from flagpole"). The entry's text is
                         held out, that entry's only: the same term's other columns stay, so an
                         engine can reach the drug's or the site's category through them and
                         must pick the column from the words. Acceptable: the printed code (dot
                         and trailing "-" removed) or any code below it (the table prints
                         T39.1X1, the codes are T39.1X1A/D/S).
  lay names              ~50 curated (heart attack, pink eye, kidney stones ...).
  abbreviations          ~40 curated (HTN, DM2, CKD, COPD, AFib ...).
  typos                  ~35 curated misspellings (pnuemonia, diabetis, hypertention ...).
  codes                  ~25 typed ICD-10-CM code forms (e11.2, E112, j18, s93.402a).
  codes (PCS/HCPCS/CPT)  typed procedure and supply codes (0FT4, 0dtj4zz, j1100, 99213).
  procedures (words)     PCS, HCPCS and CPT descriptions in words (appendectomy laparoscopic,
                         dexamethasone injection, underarm crutches).

For the curated groups a coder's acceptable answers are listed: "I10" is that code only, "I21*"
the code I21 and every code below it, "hcpcs:C9600" a code of another system than the query's.
For a typed code the acceptable answer is the exact code (in whatever system has it: "j1100" is
HCPCS J1100 and ICD-10-CM J11.00), or, when the text is only the start of codes ("0FT4"), the
first code that starts with it. Every curated code is checked against catalog_code: one that is
not there is dropped and reported, and an entry with nothing left is dropped.

The ICD-10-CM figures (and the targets) count the groups whose queries are about ICD-10-CM; the
two procedure groups are reported on their own.

The held-out texts are removed from the engine under test by (system, code, text) triples
(`held_out_triples`): every document that carries the text (compared case- and
punctuation-insensitively) loses it, so a text copied to several documents is gone from all.

    cd /work/main && uv run python bench/search_eval.py [--state-dir DIR] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.harness import BenchError, loaded_code_sets, portal_cli, portal_env, state_directory

# What search reads (features/case2code/search/documents.py SEARCHED_SYSTEMS), the index tables
# and the GEMs (the ICD-9-CM titles they pair with ICD-10-CM codes).
SEARCH_CODE_SETS = ("icd-10-cm", "icd-10-cm-index", "icd-10-pcs", "hcpcs", "cpt", "gems")
SYSTEMS = ("icd-10-cm", "icd-10-pcs", "hcpcs", "cpt")
CM = "icd-10-cm"
DEFAULT_SEED = 7

G_INCLUSION = "inclusion (held out)"
G_INCLUDES = "includes (held out)"
G_INDEX = "index (held out)"
G_LAY = "lay names"
G_ABBREV = "abbreviations"
G_TYPOS = "typos"
G_CODES = "codes"
G_CODES_OTHER = "codes (PCS/HCPCS/CPT)"
G_PROCEDURES = "procedures (words)"
GROUPS = (
    G_INCLUSION,
    G_INCLUDES,
    G_INDEX,
    G_LAY,
    G_ABBREV,
    G_TYPOS,
    G_CODES,
    G_CODES_OTHER,
    G_PROCEDURES,
)
HELD_OUT_GROUPS = (G_INCLUSION, G_INCLUDES, G_INDEX)

# Sample sizes of the generated groups (full run); --quick takes about a third.
N_INCLUSION = 300
N_INCLUDES = 60
N_INDEX = {"drugs": 90, "neoplasms": 60, "external causes": 50}

# -- curated lists ------------------------------------------------------------------------------
# (query, acceptable codes): "I10" is that code, "I21*" I21 and every code below it. ICD-10-CM.

LAY_NAMES: tuple[tuple[str, str], ...] = (
    ("heart attack", "I21* I22*"),
    ("high cholesterol", "E78.0* E78.5"),
    ("broken wrist", "S62.1* S62.9* S52.5* S52.6*"),
    ("high blood pressure", "I10"),
    ("stroke", "I63*"),
    ("kidney stones", "N20*"),
    ("pink eye", "H10* B30*"),
    ("flu", "J09* J10* J11*"),
    ("strep throat", "J02.0"),
    ("heartburn", "R12"),
    ("acid reflux", "K21*"),
    ("high blood sugar", "R73* E11.65"),
    ("low blood sugar", "E16*"),
    ("chickenpox", "B01*"),
    ("shingles", "B02*"),
    ("cold sore", "B00.1"),
    ("common cold", "J00"),
    ("sore throat", "J02* R07.0"),
    ("slipped disc", "M50* M51*"),
    ("back pain", "M54*"),
    ("headache", "R51* G44*"),
    ("bladder infection", "N30* N39.0"),
    ("ear infection", "H65* H66* H60*"),
    ("pinworms", "B80"),
    ("bed sore", "L89*"),
    ("hives", "L50*"),
    ("athlete's foot", "B35.3"),
    ("lazy eye", "H53.0*"),
    ("crossed eyes", "H50*"),
    ("nosebleed", "R04.0"),
    ("hay fever", "J30*"),
    ("gallstones", "K80*"),
    ("enlarged prostate", "N40*"),
    ("underactive thyroid", "E03*"),
    ("overactive thyroid", "E05*"),
    ("blood clot in leg", "I82.4* I82.5* I80*"),
    ("blood clot in lung", "I26*"),
    ("morning sickness", "O21.0"),
    ("bedwetting", "N39.44 F98.0 R32"),
    ("tennis elbow", "M77.1*"),
    ("frozen shoulder", "M75.0*"),
    ("black eye", "S00.1*"),
    ("swimmer's ear", "H60*"),
    ("whooping cough", "A37*"),
    ("sunburn", "L55*"),
    ("fatty liver", "K76.0 K75.81"),
    ("fainting", "R55"),
    ("shortness of breath", "R06.0*"),
    ("collapsed lung", "J93* J98.1*"),
    ("water on the knee", "M25.46*"),
    ("hardening of the arteries", "I70*"),
    ("irregular heartbeat", "I49* R00*"),
    ("tooth decay", "K02*"),
    ("head lice", "B85.0"),
    ("dog bite", "W54.0*"),
)

ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("HTN", "I10"),
    ("DM2", "E11*"),
    ("T1DM", "E10*"),
    ("CKD", "N18*"),
    ("COPD", "J44*"),
    ("CHF", "I50*"),
    ("AFib", "I48*"),
    ("UTI", "N39.0"),
    ("GERD", "K21*"),
    ("BPH", "N40*"),
    ("MI", "I21* I22* I25.2"),
    ("CAD", "I25.1*"),
    ("OSA", "G47.33"),
    ("DVT", "I82.4* I82.5* I82.9*"),
    ("PE", "I26*"),
    ("TIA", "G45*"),
    ("ADHD", "F90*"),
    ("PTSD", "F43.1*"),
    ("OCD", "F42*"),
    ("RA", "M05* M06*"),
    ("OA knee", "M17*"),
    ("URI", "J06*"),
    ("AKI", "N17*"),
    ("ESRD", "N18.6"),
    ("HLD", "E78*"),
    ("SOB", "R06.0*"),
    ("MS", "G35*"),
    ("ALS", "G12.21"),
    ("SLE", "M32*"),
    ("IBS", "K58*"),
    ("IBD", "K50* K51*"),
    ("HIV", "B20 Z21"),
    ("MRSA", "A49.02 B95.62 A41.02 J15.212 Z22.322"),
    ("GI bleed", "K92.2"),
    ("CVA", "I63*"),
    ("NSTEMI", "I21.4"),
    ("STEMI", "I21.0* I21.1* I21.2* I21.3"),
    ("DKA", "E10.1* E11.1* E13.1* E08.1* E09.1*"),
    ("AAA", "I71.3* I71.4*"),
    ("PAD", "I73.9 I70.2*"),
    ("LBP", "M54.5*"),
)

TYPOS: tuple[tuple[str, str], ...] = (
    ("pnuemonia", "J12* J13 J14 J15* J16* J17 J18*"),
    ("diabetis", "E08* E09* E10* E11* E13*"),
    ("hypertention", "I10 I11* I12* I13* I15* I16*"),
    ("astma", "J45*"),
    ("bronchitus", "J20* J40 J41* J42"),
    ("alzhiemers", "G30*"),
    ("arthritus", "M00* M05* M06* M13* M15* M16* M17* M18* M19*"),
    ("osteoperosis", "M80* M81*"),
    ("anemea", "D50* D51* D52* D53* D55* D58* D59* D60* D61* D62 D63* D64*"),
    ("sinusitus", "J01* J32*"),
    ("gastroenteritus", "A09 A08* K52*"),
    ("appendicitus", "K35* K36 K37"),
    ("cellulitus", "L03*"),
    ("diarrea", "R19.7 K59.1 A09"),
    ("hemorroids", "K64*"),
    ("migrane", "G43*"),
    ("siezure", "R56* G40*"),
    ("pnuemothorax", "J93*"),
    ("schizophrinia", "F20*"),
    ("epilepsey", "G40*"),
    ("tonsilitis", "J03* J35.0*"),
    ("conjunctivitus", "H10* B30*"),
    ("dimentia", "F01* F02* F03*"),
    ("psoriasys", "L40*"),
    ("ezcema", "L20* L30*"),
    ("hypothyroidsm", "E03* E02 E89.0"),
    ("pancreatitus", "K85* K86.0 K86.1"),
    ("colitus", "K51* K52* A04.7* K55*"),
    ("fibromialgia", "M79.7"),
    ("rheumatiod arthritis", "M05* M06*"),
    ("diverticulitus", "K57*"),
    ("cholecystitus", "K81* K80*"),
    ("hyperlipidemea", "E78*"),
    ("tuberculosus", "A15* A16* A17* A18* A19*"),
    ("anxeity", "F41*"),
    ("depresion", "F32* F33*"),
    ("insomina", "G47.0* F51.0*"),
)

# Typed codes: (query, system the query is about). The acceptable answer is computed.
CODE_QUERIES: tuple[tuple[str, str], ...] = (
    ("e11.2", CM),
    ("E112", CM),
    ("e11.9", CM),
    ("E11", CM),
    ("j18", CM),
    ("J18.9", CM),
    ("i10", CM),
    ("S93402A", CM),
    ("s93.402a", CM),
    ("s93.4", CM),
    ("m54.5", CM),
    ("M54.50", CM),
    ("z00.00", CM),
    ("r07.9", CM),
    ("k21.9", CM),
    ("f32.a", CM),
    ("u07.1", CM),
    ("c50.9", CM),
    ("o80", CM),
    ("t40.1x1a", CM),
    ("w19", CM),
    ("Z79.4", CM),
    ("e66.01", CM),
    ("I48.91", CM),
    ("n18.3", CM),
    ("0FT4", "icd-10-pcs"),
    ("0DTJ4ZZ", "icd-10-pcs"),
    ("0dtj", "icd-10-pcs"),
    ("027034z", "icd-10-pcs"),
    ("0SG00A0", "icd-10-pcs"),
    ("j1100", "hcpcs"),
    ("G0008", "hcpcs"),
    ("e0114", "hcpcs"),
    ("A4253", "hcpcs"),
    ("99213", "cpt"),
    ("93000", "cpt"),
)

PROCEDURES: tuple[tuple[str, str, str], ...] = (
    ("laparoscopic cholecystectomy", "icd-10-pcs", "0FT44ZZ 0FT44ZG"),
    ("resection of gallbladder open", "icd-10-pcs", "0FT40ZZ"),
    ("appendectomy laparoscopic", "icd-10-pcs", "0DTJ4ZZ"),
    ("resection appendix percutaneous endoscopic", "icd-10-pcs", "0DTJ4ZZ"),
    ("coronary artery bypass one artery", "icd-10-pcs", "0210*"),
    (
        "drug eluting stent coronary artery",
        "icd-10-pcs",
        "0270* 0271* 0272* 0273* hcpcs:C9600 hcpcs:C9601",
    ),
    ("endotracheal intubation", "icd-10-pcs", "0BH17EZ 0BH18EZ"),
    ("mechanical ventilation greater than 96 hours", "icd-10-pcs", "5A1955Z"),
    ("spontaneous vaginal delivery", "icd-10-pcs", "10E0XZZ"),
    ("hysterectomy open", "icd-10-pcs", "0UT90ZZ 0UT9*"),
    ("dexamethasone injection", "hcpcs", "J1100"),
    ("influenza vaccine administration", "hcpcs", "G0008"),
    ("blood glucose test strips", "hcpcs", "A4253"),
    ("underarm crutches", "hcpcs", "E0114 E0112"),
    ("folding walker", "hcpcs", "E0135 E0143"),
    ("ondansetron injection", "hcpcs", "J2405"),
    ("ceftriaxone injection", "hcpcs", "J0696"),
    ("ketorolac injection", "hcpcs", "J1885"),
    ("cpap device", "hcpcs", "E0601"),
    ("standard wheelchair", "hcpcs", "K0001"),
    ("annual wellness visit subsequent", "hcpcs", "G0439"),
    ("ambulance advanced life support emergency", "hcpcs", "A0427"),
    ("screening colonoscopy high risk", "hcpcs", "G0105"),
    ("office visit established patient low complexity", "cpt", "99213"),
    ("electrocardiogram 12 leads", "cpt", "93000"),
)

# Index table columns in the words a coder types.
DRUG_COLUMNS = {
    "Poisoning, Accidental (unintentional)": "poisoning accidental",
    "Poisoning, Intentional self-harm": "poisoning intentional self-harm",
    "Poisoning, Assault": "poisoning assault",
    "Poisoning, Undetermined": "poisoning undetermined",
    "Adverse effect": "adverse effect",
    "Underdosing": "underdosing",
}
NEOPLASM_COLUMNS = {
    "Malignant Primary": "malignant neoplasm",
    "Malignant Secondary": "secondary malignant neoplasm",
    "Ca in situ": "carcinoma in situ",
    "Benign": "benign neoplasm",
    "Uncertain Behavior": "neoplasm of uncertain behavior",
    "Unspecified Behavior": "neoplasm of unspecified behavior",
}
NEOPLASM_ROOT = "Neoplasm, neoplastic"
MAX_EXTERNAL_PATH = 2  # external cause entries at most two levels deep: longer ones read badly


# -- the set ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalItem:
    group: str
    query: str
    system: str  # the code system the query is about
    exact: frozenset[tuple[str, str]]  # (system, code): acceptable codes
    below: tuple[tuple[str, str], ...]  # (system, code): it and every code below it
    source: str  # where the query came from
    held_texts: tuple[str, ...] = ()  # texts removed from the index under test

    def accepts(self, system: str, code: str) -> bool:
        if (system, code) in self.exact:
            return True
        return any(system == s and code.startswith(p) for s, p in self.below)

    def expected(self) -> str:
        parts = sorted(_show(s, c, self.system) for s, c in self.exact)
        parts += [_show(s, c, self.system) + "*" for s, c in self.below]
        return " ".join(parts)

    def summary(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "query": self.query,
            "system": self.system,
            "expected": self.expected(),
            "source": self.source,
            "held_texts": list(self.held_texts),
        }


def _show(system: str, code: str, item_system: str) -> str:
    shown = f"{code[:3]}.{code[3:]}" if system == CM and len(code) > 3 else code
    return shown if system == item_system else f"{system}:{shown}"


@dataclass
class EvalSet:
    items: list[EvalItem]
    dropped: list[str] = field(default_factory=list)  # curated codes or entries not in the catalog
    seed: int = DEFAULT_SEED

    def groups(self) -> dict[str, list[EvalItem]]:
        by_group: dict[str, list[EvalItem]] = {g: [] for g in GROUPS}
        for item in self.items:
            by_group.setdefault(item.group, []).append(item)
        return {g: items for g, items in by_group.items() if items}

    def held_texts(self) -> set[str]:
        return {norm(t) for item in self.items for t in item.held_texts}


# -- the catalog as the eval set sees it --------------------------------------------------------


@dataclass(frozen=True)
class CodeRow:
    title: str
    kind: str
    billable: bool
    sort: int
    inclusion: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()


@dataclass
class Catalog:
    codes: dict[str, dict[str, CodeRow]]  # system -> code -> row
    index_rows: list[dict[str, Any]]  # catalog_record kind "index-code": data plus "key"
    _sorted: dict[str, list[str]] = field(default_factory=dict)

    def sorted_codes(self, system: str) -> list[str]:
        if system not in self._sorted:
            self._sorted[system] = sorted(self.codes.get(system, {}))
        return self._sorted[system]

    def exists(self, system: str, code: str) -> bool:
        return code in self.codes.get(system, {})

    def below(self, system: str, prefix: str) -> list[str]:
        codes = self.sorted_codes(system)
        start = bisect.bisect_left(codes, prefix)
        end = bisect.bisect_left(codes, prefix + "\uffff")
        return codes[start:end]

    def first_with_prefix(self, system: str, prefix: str) -> str | None:
        rows = self.codes.get(system, {})
        found = self.below(system, prefix)
        return min(found, key=lambda c: (rows[c].sort, c)) if found else None


async def load_catalog() -> Catalog:
    """The codes of the searched systems and the index-table records (portal runtime started)."""
    from features.case2code.tables import Code, Record

    codes: dict[str, dict[str, CodeRow]] = {s: {} for s in SYSTEMS}
    rows = await Code.select(
        Code.system, Code.code, Code.title, Code.kind, Code.billable, Code.sort
    ).where(Code.system.is_in([s for s in SYSTEMS if s != CM]))
    for r in rows:
        codes[r["system"]][r["code"]] = CodeRow(
            r["title"], r["kind"], bool(r["billable"]), r["sort"] or 0
        )
    rows = (
        await Code.select(Code.code, Code.title, Code.kind, Code.billable, Code.sort, Code.details)
        .where(Code.system == CM)
        .output(load_json=True)
    )
    for r in rows:
        notes = (r["details"] or {}).get("notes") or {}
        codes[CM][r["code"]] = CodeRow(
            r["title"],
            r["kind"],
            bool(r["billable"]),
            r["sort"] or 0,
            tuple(notes.get("inclusionTerm", ())),
            tuple(notes.get("includes", ())),
        )
    index_rows = [
        {**row["data"], "key": row["key"]}
        for row in await Record.select(Record.key, Record.data)
        .where(Record.kind == "index-code")
        .output(load_json=True)
    ]
    return Catalog(codes, index_rows)


# -- text ---------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_NOISE_WORDS = frozenset({"nec", "nos"})


def norm(text: str) -> str:
    """Lower case, accents off, punctuation to single spaces: how texts are compared."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(w for w in _NON_WORD.split(text) if w)


def typed(text: str, *, first_part: bool = False) -> str:
    """An index term as typed: nonessential (parenthesised) modifiers and NEC/NOS off; with
    `first_part`, only what precedes the first comma ("Fall, falling" -> "Fall")."""
    text = _PARENS.sub(" ", text)
    if first_part:
        text = text.split(",")[0]
    kept = [w for w in text.replace(",", " ").split() if w.lower() not in _NOISE_WORDS]
    return " ".join(kept)


def index_text(data: dict[str, Any]) -> str:
    """An index entry as the documents carry it (search/documents.py `_index_text`)."""
    return " ".join([*data.get("path", []), data.get("term", ""), data.get("column", "")])


def index_query(data: dict[str, Any]) -> str | None:
    table, path, term, column = data["table"], list(data["path"]), data["term"], data["column"]
    if table == "drugs":
        tail = DRUG_COLUMNS.get(column)
    elif table == "neoplasms":
        if path[:1] == [NEOPLASM_ROOT]:
            path = path[1:]
        tail = NEOPLASM_COLUMNS.get(column)
    else:
        if len(path) > MAX_EXTERNAL_PATH:
            return None
        tail = ""
    if tail is None:
        return None
    parts = [typed(p, first_part=True) for p in path] + [typed(term), tail]
    query = " ".join(p for p in parts if p).strip()
    return query if len(norm(query)) >= 3 else None


def index_code(printed: str) -> str:
    return printed.strip().rstrip("-").replace(".", "").upper()


# -- building -----------------------------------------------------------------------------------


def _curated_specs(
    catalog: Catalog, system: str, specs: str, where: str, dropped: list[str]
) -> tuple[frozenset[tuple[str, str]], tuple[tuple[str, str], ...]]:
    exact: set[tuple[str, str]] = set()
    below: list[tuple[str, str]] = []
    for spec in specs.split():
        code_system, _, written = spec.rpartition(":")
        code_system = code_system or system
        code = written.rstrip("*").replace(".", "").upper()
        if written.endswith("*"):
            if catalog.below(code_system, code):
                below.append((code_system, code))
            else:
                dropped.append(f"{where}: {spec} (no {code_system} code starts with {code})")
        elif catalog.exists(code_system, code):
            exact.add((code_system, code))
        else:
            dropped.append(f"{where}: {spec} (not a {code_system} code)")
    return frozenset(exact), tuple(below)


def _curated(
    catalog: Catalog,
    group: str,
    entries: Iterable[tuple[str, str, str]],
    dropped: list[str],
) -> list[EvalItem]:
    items = []
    for query, system, specs in entries:
        where = f"{group} {query!r}"
        exact, below = _curated_specs(catalog, system, specs, where, dropped)
        if not exact and not below:
            dropped.append(f"{where}: dropped, no acceptable code left")
            continue
        items.append(EvalItem(group, query, system, exact, below, "curated"))
    return items


def _code_items(catalog: Catalog, dropped: list[str]) -> list[EvalItem]:
    items = []
    for query, system in CODE_QUERIES:
        key = query.strip().replace(".", "").upper()
        exact = {(s, key) for s in SYSTEMS if catalog.exists(s, key)}
        source = "exact code"
        if not exact:
            first = catalog.first_with_prefix(system, key)
            if first is None:
                dropped.append(f"codes {query!r}: no {system} code is or starts with {key}")
                continue
            exact = {(system, first)}
            source = f"first code starting with {key}"
        group = G_CODES if system == CM else G_CODES_OTHER
        items.append(EvalItem(group, query, system, frozenset(exact), (), source))
    return items


def _text_carriers(catalog: Catalog) -> dict[str, set[str]]:
    """Normalised ICD-10-CM title / inclusion / includes text -> the codes that carry it."""
    carriers: dict[str, set[str]] = defaultdict(set)
    for code, row in catalog.codes[CM].items():
        for text in (row.title, *row.inclusion, *row.includes):
            carriers[norm(text)].add(code)
    return carriers


def _note_items(
    catalog: Catalog,
    rng: random.Random,
    group: str,
    count: int,
    carriers: dict[str, set[str]],
) -> list[EvalItem]:
    """Sample `count` inclusion terms (or category "includes" notes) that name their code alone:
    a text also carried by a code that would not be acceptable is ambiguous and skipped, and so
    is a text equal to the code's own title (the title would find it, nothing held out)."""
    rows = catalog.codes[CM]
    candidates: list[tuple[str, str]] = []
    for code in sorted(rows):
        row = rows[code]
        texts = row.inclusion if group == G_INCLUSION else row.includes
        if group == G_INCLUDES and row.kind != "category":
            continue
        for text in texts:
            key = norm(text)
            if len(key) < 4 or key == norm(row.title):
                continue
            if not all(c.startswith(code) for c in carriers[key]):
                continue
            candidates.append((code, text))
    chosen = sorted(rng.sample(candidates, min(count, len(candidates))))
    items = []
    for code, text in chosen:
        row = rows[code]
        exact = frozenset({(CM, code)}) if row.billable else frozenset()
        below = () if row.billable else ((CM, code),)
        what = "inclusion term" if group == G_INCLUSION else "includes note"
        items.append(
            EvalItem(
                group,
                text,
                CM,
                exact,
                below,
                f"{_show(CM, code, CM)} {what}",
                (text,),
            )
        )
    return items


def _index_items(catalog: Catalog, rng: random.Random, quotas: dict[str, int]) -> list[EvalItem]:
    """Index entries as queries; a query that several entries with different codes produce is
    ambiguous and skipped."""
    by_query: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for data in catalog.index_rows:
        query = index_query(data)
        if query is not None and data["table"] in quotas:
            by_query[(data["table"], norm(query))].append({**data, "query": query})
    candidates: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (table, _), entries in sorted(by_query.items()):
        codes = {index_code(e["code"]) for e in entries}
        code = next(iter(codes))
        if len(codes) != 1 or not catalog.below(CM, code):
            continue
        candidates[table].append(entries[0])
    items = []
    for table, quota in quotas.items():
        pool = candidates[table]
        for data in sorted(
            rng.sample(pool, min(quota, len(pool))), key=lambda d: (d["row"], d["column"])
        ):
            code = index_code(data["code"])
            items.append(
                EvalItem(
                    G_INDEX,
                    data["query"],
                    CM,
                    frozenset(),
                    ((CM, code),),
                    f"{table}: {index_text(data)} -> {data['code']}",
                    (index_text(data),),
                )
            )
    return items


def build_eval_set(catalog: Catalog, seed: int = DEFAULT_SEED, scale: float = 1.0) -> EvalSet:
    """The whole set; `scale` < 1 samples fewer of the generated groups (curated ones stay)."""
    dropped: list[str] = []

    def n(count: int) -> int:
        return max(1, round(count * scale))

    carriers = _text_carriers(catalog)
    items = [
        *_note_items(
            catalog, random.Random(f"{seed}:inclusion"), G_INCLUSION, n(N_INCLUSION), carriers
        ),
        *_note_items(
            catalog, random.Random(f"{seed}:includes"), G_INCLUDES, n(N_INCLUDES), carriers
        ),
        *_index_items(
            catalog, random.Random(f"{seed}:index"), {t: n(c) for t, c in N_INDEX.items()}
        ),
        *_curated(catalog, G_LAY, ((q, CM, s) for q, s in LAY_NAMES), dropped),
        *_curated(catalog, G_ABBREV, ((q, CM, s) for q, s in ABBREVIATIONS), dropped),
        *_curated(catalog, G_TYPOS, ((q, CM, s) for q, s in TYPOS), dropped),
        *_code_items(catalog, dropped),
        *_curated(catalog, G_PROCEDURES, PROCEDURES, dropped),
    ]
    return EvalSet(items, dropped, seed)


# -- held-out texts -----------------------------------------------------------------------------


class DocumentLike(Protocol):
    system: str
    code: str
    texts: list[tuple[str, str]]


TITLE_FIELDS = frozenset({"title", "short"})  # never held out: the code's own name


def held_out_triples(
    eval_set: EvalSet, documents: Iterable[DocumentLike]
) -> tuple[frozenset[tuple[str, str, str]], list[str]]:
    """(system, code, text) of every document text equal to a held-out text (titles excepted);
    and the held-out texts no document carries (the documents changed: the figures are off)."""
    wanted = eval_set.held_texts()
    found: set[str] = set()
    triples: set[tuple[str, str, str]] = set()
    for doc in documents:
        for field_name, text in doc.texts:
            if field_name in TITLE_FIELDS:
                continue
            key = norm(text)
            if key in wanted:
                triples.add((doc.system, doc.code, text))
                found.add(key)
    missing = sorted(t for item in eval_set.items for t in item.held_texts if norm(t) not in found)
    return frozenset(triples), missing


# -- the portal's data and runtime --------------------------------------------------------------


def search_data_loaded(state_dir: Path) -> bool:
    """Whether every code set search reads has a current release in the state dir's SQLite."""
    return set(SEARCH_CODE_SETS) <= loaded_code_sets(state_dir)


def ensure_search_data(state_dir: Path) -> float | None:
    """Import the code sets search reads into the state dir unless they are there; seconds taken
    (None when nothing was imported)."""
    if search_data_loaded(state_dir):
        print(f"search data already imported in {state_dir}: skipping the import", file=sys.stderr)
        return None
    print(f"importing {', '.join(SEARCH_CODE_SETS)} into {state_dir} ...", file=sys.stderr)
    started = time.perf_counter()
    output = portal_cli(state_dir, "data", "import", "--missing", *SEARCH_CODE_SETS)
    seconds = time.perf_counter() - started
    for line in output.splitlines():
        if line.startswith(("✓", "–", "✗", "Finished in")):
            print(f"  {line}", file=sys.stderr)
    if not search_data_loaded(state_dir):
        raise BenchError(f"`portal data import` did not load every search code set:\n{output}")
    return seconds


def search_state(path: Path | None) -> AbstractContextManager[Path]:
    """The search benchmarks' state dir (kept at `path`, or a temporary one)."""
    return state_directory(path, "portal-bench-search-")


def use_state_dir(state_dir: Path) -> None:
    """Point this process's portal settings at the state dir (embedded mode, as portal_env)."""
    env = portal_env(state_dir)
    for name in ("DATABASE_URL", "REDIS_URL", "JOBS_BACKEND", "DEBUG"):
        os.environ.pop(name, None)
    os.environ["PORTAL_STATE_DIR"] = env["PORTAL_STATE_DIR"]
    os.environ["LOG_LEVEL"] = env["LOG_LEVEL"]


@asynccontextmanager
async def portal_runtime(state_dir: Path) -> AsyncIterator[None]:
    """The portal runtime (database bound) in this process, as `portal` commands start it."""
    from portal.bootstrap import start_runtime, stop_runtime
    from portal.installed import installed_features
    from portal.settings import get_settings

    use_state_dir(state_dir)
    rt = await start_runtime(get_settings(), installed_features())
    try:
        yield
    finally:
        await stop_runtime(rt)


async def load_catalog_only(state_dir: Path) -> Catalog:
    with contextlib.redirect_stdout(sys.stderr):  # piccolo prints its migrations
        async with portal_runtime(state_dir):
            return await load_catalog()


# -- report -------------------------------------------------------------------------------------


def print_set(eval_set: EvalSet, examples: int) -> None:
    groups = eval_set.groups()
    print(f"search evaluation set (seed {eval_set.seed}): {len(eval_set.items)} queries")
    for group, items in groups.items():
        systems = Counter(i.system for i in items)
        held = " held out" if group in HELD_OUT_GROUPS else ""
        print(f"  {group:<24}{len(items):>5}  {dict(systems)}{held}")
        for item in items[:examples]:
            print(f"      {item.query!r:<52} -> {item.expected()}")
    if eval_set.dropped:
        print("  curated codes not in the catalog (dropped):")
        for line in eval_set.dropped:
            print(f"    {line}")
    else:
        print("  every curated code is in the catalog")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build the search evaluation set from the imported catalog and print it."
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="bench state dir (SQLite with the search code sets, imported when missing; "
        "default: a fresh temporary dir)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sampling seed (7)")
    parser.add_argument("--examples", type=int, default=5, help="queries shown per group (5)")
    parser.add_argument("--json", action="store_true", help="also print every query as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with search_state(args.state_dir) as state_dir:
            ensure_search_data(state_dir)
            catalog = asyncio.run(load_catalog_only(state_dir))
    except BenchError as exc:
        print(f"search_eval: {exc}", file=sys.stderr)
        return 2
    eval_set = build_eval_set(catalog, args.seed)
    print_set(eval_set, args.examples)
    if args.json:
        print(
            json.dumps(
                {
                    "seed": eval_set.seed,
                    "dropped": eval_set.dropped,
                    "items": [item.summary() for item in eval_set.items],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
