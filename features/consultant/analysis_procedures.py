"""Consult analysis: candidate codes for the procedures and supplies a case names.

A procedure is looked up in ICD-10-PCS (the facility's inpatient code) and in CPT and HCPCS
Level II (the professional and outpatient claim); a supply in HCPCS Level II only. Every code
comes from the search engine, which only knows the catalog's codes; an answer where no code has
every word of the query ("partial") is never taken.

ICD-10-PCS titles name root operations and body parts ("Resection of Gallbladder"), not the
words of an operative note ("cholecystectomy"): the search engine knows a few of those words,
and `_PCS_WORDS` below adds the common ones it does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from features.case2code.case_text import spelt
from features.case2code.search import service
from features.case2code.search.hits import MAX_QUERY_CHARS, SearchHit, SearchQueryError
from features.consultant.analysis_actions import APPROACH_WORDS, Action
from features.consultant.analysis_text import wordset

PCS, CPT, HCPCS = "icd-10-pcs", "cpt", "hcpcs"
KEEP = {PCS: 3, CPT: 2, HCPCS: 2}  # the first is proposed, the others shown as alternatives
ENGINE_LIMIT = 10

# Operative-note words -> the words ICD-10-PCS titles use for them (root operation, body part,
# approach). Phrases first: "inguinal hernia repair" before "repair".
_PCS_WORDS: dict[str, str] = {
    "total knee arthroplasty": "replacement knee joint",
    "total hip arthroplasty": "replacement hip joint",
    "knee arthroplasty": "replacement knee joint",
    "hip arthroplasty": "replacement hip joint",
    "tka": "replacement knee joint",
    "tha": "replacement hip joint",
    "inguinal hernia repair": "repair inguinal region",
    "repair of inguinal hernia": "repair inguinal region",
    "umbilical hernia repair": "repair abdominal wall",
    "ventral hernia repair": "repair abdominal wall",
    "cesarean section": "extraction products of conception low",
    "c-section": "extraction products of conception low",
    "cesarean": "extraction products of conception low",
    "upper endoscopy": "inspection upper intestinal tract via natural or artificial opening "
    "endoscopic",
    "egd": "inspection upper intestinal tract via natural or artificial opening endoscopic",
    "esophagogastroduodenoscopy": "inspection upper intestinal tract via natural or artificial "
    "opening endoscopic",
    "colonoscopy": "inspection lower intestinal tract via natural or artificial opening endoscopic",
    "cystoscopy": "inspection bladder via natural or artificial opening endoscopic",
    "bronchoscopy": "inspection tracheobronchial tree via natural or artificial opening endoscopic",
    "arthrocentesis": "drainage joint percutaneous",
    "arthroscopy": "inspection joint percutaneous endoscopic",
    "arthroscopic": "percutaneous endoscopic",
    "thoracentesis": "drainage pleural cavity percutaneous",
    "paracentesis": "drainage peritoneal cavity percutaneous",
    "nephrectomy": "resection kidney",
    "splenectomy": "resection spleen",
    "thyroidectomy": "resection thyroid gland",
    "prostatectomy": "resection prostate",
    "salpingectomy": "resection fallopian tube",
    "oophorectomy": "resection ovary",
    "biopsy": "excision diagnostic",
}
# HCPCS Level II names supplies as the CMS file does ("orthosis", not "brace").
_HCPCS_WORDS: dict[str, str] = {"brace": "orthosis", "splint": "orthosis"}
_SIDES = frozenset({"left", "right", "bilateral"})
_TITLE_WORDS = re.compile(r"[a-z0-9]+")
_TITLE_STOP = wordset("a an and or of the with without by for to in on each per")


@dataclass(frozen=True)
class Found:
    """The codes one system has for a procedure's words."""

    system: str
    query: str
    hits: tuple[SearchHit, ...]


def _translate(words: Sequence[str], table: dict[str, str]) -> list[str]:
    """The words with the table's phrases (longest first) replaced."""
    text = f" {' '.join(words).lower()} "
    for typed in sorted(table, key=len, reverse=True):
        text = text.replace(f" {typed} ", f" {table[typed]} ")
    return text.split()


def _head(words: Sequence[str]) -> list[str]:
    """The words before "with": the main procedure of "colonoscopy with biopsy"."""
    lowered = [w.lower() for w in words]
    return list(words[: lowered.index("with")]) if "with" in lowered[1:] else []


def _variants(words: list[str], system: str) -> list[list[str]]:
    """Queries to try in order: as written, in the system's own words, without the side (CPT
    and HCPCS descriptors seldom name one), and the main procedure without its "with" part."""
    table = _PCS_WORDS if system == PCS else _HCPCS_WORDS if system == HCPCS else {}
    unsided = [w for w in words if w.lower() not in _SIDES]
    tries = [_translate(words, table), words]
    if system != PCS or unsided != words:
        tries += [_translate(unsided, table), unsided]
    head = _head(words)
    if head:
        tries += [_translate(head, table), _translate([w for w in head if w not in _SIDES], table)]
    seen: list[list[str]] = []
    for query in tries:
        if query and query not in seen:
            seen.append(query)
    return seen


def _covers(hit: SearchHit, query: Sequence[str]) -> bool:
    """Whether the query says most of what the code's title says before its first comma or
    semicolon: HCPCS Level II has narrow codes ("Colonoscopy consultation performed prior to a
    screening colonoscopy") that share one word with a note."""
    lead = re.split(r"[,;(]", hit.title.lower(), maxsplit=1)[0]
    words = [w for w in _TITLE_WORDS.findall(lead) if w not in _TITLE_STOP]
    if not words:
        return False
    typed = " ".join(query).lower()
    said = sum(1 for w in words if w[:5] in typed or w in hit.matched)
    return said / len(words) > 0.5


async def _search(query: list[str], system: str) -> list[SearchHit]:
    text = " ".join(query)[:MAX_QUERY_CHARS].strip()
    if not text:
        return []
    try:
        result = await service.search(text, system=system, limit=ENGINE_LIMIT, complete=False)
    except SearchQueryError:
        return []
    return [] if result.partial else list(result.hits)


async def look_up(action: Action) -> list[Found]:
    """The codes each system has for the action's words (systems without one left out)."""
    words = spelt(action.words).split()
    if not words:
        return []
    systems = (HCPCS,) if action.kind == "supply" else (PCS, CPT, HCPCS)
    found: list[Found] = []
    for system in systems:
        for query in _variants(words, system):
            hits = await _search(query, system)
            if system == HCPCS:
                hits = [h for h in hits if _covers(h, query)]
            if hits:
                found.append(Found(system, " ".join(query), tuple(hits[: KEEP[system]])))
                break
    if action.kind == "procedure" and any(f.system in (PCS, CPT) for f in found):
        # HCPCS Level II services are for what CPT does not describe (a Medicare flu shot's
        # administration): beside a PCS or CPT code, a HCPCS one for the same words is more
        # often a payer-specific variant ("screening colonoscopy") than the code.
        found = [f for f in found if f.system != HCPCS]
    return found


def side_gap(action: Action, found: Sequence[Found]) -> str | None:
    """The procedure's body part has sides in ICD-10-PCS but the note names none."""
    if action.problem.laterality is not None:
        return None
    for item in found:
        if item.system == PCS and re.search(r"\b(?:Right|Left)\b", item.hits[0].title):
            return (
                f"Side not documented for “{_said(action)}”: the ICD-10-PCS body part has a "
                f"right and a left value ({item.hits[0].display} is "
                f"“{item.hits[0].title}”); document which side."
            )
    return None


def approach_gap(action: Action, found: Sequence[Found]) -> str | None:
    """The ICD-10-PCS candidates differ by approach and the note names none."""
    if any(w.key in APPROACH_WORDS for w in action.words):
        return None
    for item in found:
        if item.system != PCS or len(item.hits) < 2:
            continue
        if APPROACH_WORDS & set(item.query.lower().split()):
            continue  # the procedure's own word implies it ("arthrocentesis": percutaneous)
        approaches = {_approach(h.title) for h in item.hits} - {None}
        if len(approaches) > 1:
            return (
                f"Approach not documented for “{_said(action)}”: ICD-10-PCS codes it by "
                f"approach ({', '.join(sorted(a for a in approaches if a))}); document open, "
                "laparoscopic (percutaneous endoscopic) or other."
            )
    return None


def device_gap(action: Action, found: Sequence[Found]) -> str | None:
    """The ICD-10-PCS candidates differ by device ("with Synthetic Substitute") and the note
    names none of them."""
    said = {w.key for w in action.words}
    for item in found:
        if item.system != PCS:
            continue
        devices = [d for d in (_device(h.title) for h in item.hits) if d]
        if len(set(devices)) < 2 or any(set(d.lower().split()) & said for d in devices):
            continue
        return (
            f"Device not documented for “{_said(action)}”: ICD-10-PCS codes it by the device "
            f"({', '.join(dict.fromkeys(devices))}); document the implant or device used."
        )
    return None


def _device(title: str) -> str | None:
    match = re.search(r"\bwith ([A-Z][A-Za-z ]+?)(?:,|$)", title)
    return match.group(1) if match else None


def missing_cpt(action: Action, found: Sequence[Found], sample: bool) -> str | None:
    """A procedure with no CPT code: the professional claim still needs one."""
    if action.kind != "procedure" or any(f.system in (CPT, HCPCS) for f in found):
        return None
    data = (
        "the portal's CPT data is the project's SAMPLE of about 30 codes, not a licensed file"
        if sample
        else "no CPT code in the portal's data has these words"
    )
    return (
        f"“{_said(action)}” — no CPT code proposed ({data}): the professional claim needs one "
        "from the licensed CPT code set."
    )


def _approach(title: str) -> str | None:
    match = re.search(r"(?:^|, )([A-Za-z ]+?) Approach\b", title)
    return match.group(1) if match else None


def _said(action: Action) -> str:
    return " ".join(w.text for w in action.words)
