"""CasePilot tools over reference text: Medicare LCDs and articles (the CMS list), and the
guidelines the data holds (ICD-10-PCS guidelines and root operations, ICD-10-CM chapter and
block notes). The ICD-10-CM Official Guidelines and CPT/E&M guideline text are not in the data:
the guidelines tool says so rather than answer from elsewhere."""

from __future__ import annotations

import re
from typing import Any

from features.case2code import catalog
from features.case2code.catalog import GroupView, RecordView, ReleaseRef
from features.casepilot.facts import Fact, ToolResult
from features.casepilot.tools_codes import group_url
from features.casepilot.tools_common import (
    CM,
    PCS,
    bad_input,
    code_url,
    current_label,
    fact,
    fail,
    int_arg,
    records_of_kind,
    shown,
    text_arg,
)
from features.casepilot.tools_icd import NOTE_LABELS
from features.casepilot.tools_text import matched, stem, stems

MAX_LCDS = 25
MAX_GUIDELINES = 5
MAX_TEXT = 1200
CMS_ICD10_URL = "https://www.cms.gov/medicare/coding-billing/icd-10-codes"
NOT_IN_DATA = (
    "The ICD-10-CM Official Guidelines for Coding and Reporting and the CPT and E&M guideline "
    "text are not in the loaded data; only the ICD-10-PCS guidelines and root operation "
    "definitions and the ICD-10-CM chapter and block notes are."
)
_LCD_ID = re.compile(r"^[LA][0-9]{4,6}$")
_LCD_WORDS = frozenset(stem(w) for w in ("lcd", "lcds", "article", "articles", "policy"))
_GUIDE_WORDS = frozenset(
    stem(w)
    for w in (
        "guideline",
        "guidelines",
        "rule",
        "rules",
        "official",
        "coding",
        "vs",
        "versus",
        "icd",
        "10",
        "pcs",
        "cm",
    )
)
# Short names coders use for the Medicare contractors in the list.
_CONTRACTORS = {"ngs": "national government services", "fcso": "first coast", "wps": "wps"}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


async def lcd_search(keyword: str, contractor: str | None = None, limit: int = 10) -> ToolResult:
    """Medicare LCDs and billing articles whose title has the words (or the id), optionally of
    one contractor; the list names no codes."""
    typed = text_arg(keyword)
    who = text_arg(contractor).lower()
    if not typed and not who:
        return bad_input("lcd_search", "Give words of an LCD title (e.g. vitamin D) or its id.")
    limit = int_arg(limit, 10, 1, MAX_LCDS)
    rows = await records_of_kind("lcd", "lcd")
    release = rows[0].release if rows else await catalog.current_release("lcd")
    if not rows:
        return fail("lcd_search", "No LCD list is loaded.", "LCDs", "/case2code", release)
    if who:
        who = _CONTRACTORS.get(who, who)
        rows = [r for r in rows if who in _contractor_text(r.data)]
    if _LCD_ID.match(typed.upper()):
        hits = [r for r in rows if r.key == typed.upper()]
    else:
        words = [w for w in stems(typed, drop_stop=True) if w not in _LCD_WORDS]
        hits = [r for r in rows if matched(words, r.data.get("title", "")) == len(words)]
    documents = _latest_versions(hits)
    documents.sort(
        key=lambda r: (
            r.data["type"] != "LCD",
            bool(r.data.get("retirement")),
            r.data.get("title", ""),
        )
    )
    if not documents:
        asked = f"“{shown(typed, 60)}”" if typed else "any title"
        by = f" of a contractor named “{shown(contractor, 40)}”" if who else ""
        return fail(
            "lcd_search",
            f"No LCD or article{by} matches {asked} in the {release.label}.",
            "LCDs",
            "/case2code",
            release,
            {"query": typed, "documents": []},
        )
    chosen = documents[:limit]
    facts = [_lcd_fact(r) for r in chosen]
    facts.append(
        fact(
            f"The {release.label} list gives titles, contractors, versions and dates only, not "
            "the codes a document covers: those are on its CMS page.",
            "LCDs",
            chosen[0].data["url"],
            release,
        )
    )
    data = {
        "query": typed,
        "contractor": contractor,
        "total": len(documents),
        "documents": [{"id": r.key, **r.data} for r in chosen],
    }
    return ToolResult("lcd_search", True, tuple(facts), data, ())


def _contractor_text(data: dict[str, Any]) -> str:
    return " ".join(
        f"{c.get('name', '')} {' '.join(c.get('types', []))}" for c in data.get("contractors", [])
    ).lower()


def _latest_versions(rows: list[RecordView]) -> list[RecordView]:
    """One row per document: the version in effect (not a future one) when there is one."""
    by_id: dict[str, RecordView] = {}
    for row in rows:
        held = by_id.get(row.key)
        if held is None or _rank(row) > _rank(held):
            by_id[row.key] = row
    return list(by_id.values())


def _rank(row: RecordView) -> tuple[bool, int]:
    future = str(row.data.get("note") or "").startswith("Future")
    return (not future, int(row.data.get("version") or 0))


def _lcd_fact(row: RecordView) -> Fact:
    d = row.data
    kind = "LCD" if d["type"] == "LCD" else "Article"
    who = "; ".join(
        f"{c['name']} ({', '.join(c['types'])})" if c.get("types") else c["name"]
        for c in d.get("contractors", [])
    )
    when = f"effective {d.get('effective')}"
    if d.get("retirement"):
        when += f", retired {d['retirement']}"
    note = f" ({d['note']})" if d.get("note") and d["note"] != "Retired" else ""
    return fact(
        f"{kind} {row.key}: {d.get('title')} — {who}; version {d.get('version')}, {when}{note}.",
        f"{kind} {row.key}",
        d["url"],
        row.release,
    )


async def guidelines(topic: str) -> ToolResult:
    """The guideline text the data holds that matches the topic's words: ICD-10-PCS guidelines,
    ICD-10-PCS root operations, ICD-10-CM chapter and block notes."""
    words = [w for w in stems(text_arg(topic), drop_stop=True) if w not in _GUIDE_WORDS]
    if not words:
        return bad_input("guidelines", "Give the topic in words (e.g. excision vs resection).")
    facts = await _pcs_guidelines(words)
    facts += await _root_operations(words)
    facts += await _cm_notes(words)
    releases = "; ".join(dict.fromkeys([await current_label(PCS), await current_label(CM)]))
    data = {"topic": topic, "matches": len(facts), "not_in_data": NOT_IN_DATA}
    if not facts:
        text = f"Nothing in the loaded guideline data matches “{shown(topic, 80)}”. {NOT_IN_DATA}"
        return fail("guidelines", text, "Guidelines", "/case2code", releases, data)
    facts.append(fact(NOT_IN_DATA, "Guidelines", "/case2code", releases))
    return ToolResult("guidelines", True, tuple(facts), data, ())


async def _pcs_guidelines(words: list[str]) -> list[Fact]:
    rows = await records_of_kind("pcs-guideline", PCS)
    scored = []
    for row in rows:
        d = row.data
        whole = f"{d.get('category', '')} {d.get('title', '')} {d.get('text', '')}"
        if matched(words, whole) == len(words):
            scored.append((-matched(words, str(d.get("title", ""))), row.key, row))
    facts = []
    for _, _, row in sorted(scored, key=lambda s: (s[0], s[1]))[:MAX_GUIDELINES]:
        d = row.data
        facts.append(
            fact(
                f"ICD-10-PCS guideline {row.key} ({d.get('category')}: {d.get('title')}): "
                f"{_clip(str(d.get('text', '')))}",
                f"ICD-10-PCS guideline {row.key}",
                await _guideline_url(row.key),
                row.release,
            )
        )
    return facts


async def _guideline_url(guideline: str) -> str:
    """A code page that shows the guideline (its table's root operation section), else CMS."""
    tables = (await catalog.records(("pcs-guideline-for",), guideline, by_key2=True, limit=1))[
        "pcs-guideline-for"
    ]
    if tables:
        codes = await catalog.in_group(PCS, tables[0].key, limit=1)
        if codes:
            return code_url(PCS, codes[0].display, "operation")
    return CMS_ICD10_URL


async def _root_operations(words: list[str]) -> list[Fact]:
    """Root operations the topic names (one fact per section and operation)."""
    rows = await records_of_kind("pcs-root-operation", PCS)
    seen: dict[tuple[str, str], RecordView] = {}
    for row in rows:
        name = str(row.data.get("name", ""))
        if name and stem(name) in words:
            seen.setdefault((str(row.data.get("section")), name), row)
    facts = []
    for row in list(seen.values())[:MAX_GUIDELINES]:
        d = row.data
        codes = await catalog.in_group(PCS, row.key, limit=1)
        url = code_url(PCS, codes[0].display, "operation") if codes else CMS_ICD10_URL
        extra = f" Explanation: {d['explanation']}." if d.get("explanation") else ""
        examples = f" Examples: {d['examples']}." if d.get("examples") else ""
        facts.append(
            fact(
                f"ICD-10-PCS root operation {d.get('name')} (section {d.get('section')}, "
                f"character {d.get('operation')}): {d.get('definition')}.{extra}{examples}",
                f"ICD-10-PCS root operation {d.get('name')}",
                url,
                row.release,
            )
        )
    return facts


async def _cm_notes(words: list[str]) -> list[Fact]:
    facts: list[Fact] = []
    for kind in ("chapter", "block"):
        for group in await catalog.groups(CM, kind):
            facts += _group_note_facts(group, words)
            if len(facts) >= MAX_GUIDELINES:
                return facts[:MAX_GUIDELINES]
    return facts


def _group_note_facts(group: GroupView, words: list[str]) -> list[Fact]:
    notes: dict[str, list[str]] = group.details.get("notes") or {}
    found = []
    for kind, texts in notes.items():
        for text in texts:
            if matched(words, text) == len(words):
                found.append(_cm_note_fact(group, kind, text, group.release))
    return found


def _cm_note_fact(group: GroupView, kind: str, text: str, release: ReleaseRef) -> Fact:
    where = f"ICD-10-CM {group.kind} {group.key} ({group.title})"
    return fact(
        f"{where} — {NOTE_LABELS.get(kind, kind)}: {_clip(text)}",
        f"ICD-10-CM {group.kind} {group.key}",
        group_url(group),
        release,
    )
