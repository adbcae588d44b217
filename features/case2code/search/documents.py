"""The catalog as search documents: one per code of the searchable systems, with every text
that names it (title, short title, inclusion terms, category "includes", index-table entries,
other codes' notes naming it, and the ICD-9-CM titles the GEMs pair it with).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from features.case2code import catalog
from features.case2code.tables import Code, CodeGroup, Record, Release

SEARCHED_SYSTEMS = ("icd-10-cm", "icd-10-pcs", "hcpcs", "cpt")

# Texts by field; the index weighs them (index.FIELD_WEIGHTS).
TITLE, SHORT, INCLUSION, INCLUDES, INDEX = "title", "short", "inclusion", "includes", "index"
# What other codes' notes call a code: "tuberculous enteritis (A18.32)" in an Excludes1 note.
XREF = "xref"
# What ICD-9-CM called a code: the titles of the ICD-9-CM codes the GEMs pair it with.
ICD9 = "icd9"
# An ICD-9-CM code paired with more ICD-10-CM codes than this is too broad to name any of them
# ("Other convulsions" is not a name of each of its ten targets).
ICD9_MAX_TARGETS = 4
XREF_NOTES = ("excludes1", "excludes2", "codeFirst", "codeAlso", "useAdditionalCode")
_REFERENCE = re.compile(r"^(?P<text>[^()]+?)\s*\((?P<codes>[^()]+)\)\s*$")
_REFERENCED_CODE = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?-?$")


@dataclass(slots=True)
class Document:
    system: str
    code: str  # normalised
    display: str
    title: str
    kind: str
    billable: bool
    parent: str | None
    chapter: str | None
    release: str  # release label
    needs_seventh: bool = False
    seventh_meaning: str | None = None  # a 7-character code's 7th character ("initial encounter")
    excludes1: tuple[str, ...] = ()
    texts: list[tuple[str, str]] = field(default_factory=list)  # (field, text)
    notes: tuple[str, ...] = ()  # its notes that may name other codes (XREF_NOTES)
    sort: int = 0


def _index_text(data: dict[str, Any]) -> str:
    """An index-table entry as the words a coder would type: "acetaminophen poisoning accidental
    unintentional" (the path of parent terms, the term, the column)."""
    return " ".join([*data.get("path", []), data.get("term", ""), data.get("column", "")])


async def signature() -> str:
    """Changes whenever an import changes what search should see (a new or superseded release)."""
    rows = await Release.select(Release.id, Release.status, Release.checksum).order_by(Release.id)
    text = ";".join(f"{r['id']}:{r['status']}:{r['checksum']}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def load_documents() -> list[Document]:
    refs = await catalog.releases()
    chapters = {
        g["key"]: g["parent_key"]
        for g in await CodeGroup.select(CodeGroup.key, CodeGroup.parent_key).where(
            (CodeGroup.system == "icd-10-cm") & (CodeGroup.kind == "block")
        )
    }
    index_texts: dict[str, list[str]] = defaultdict(list)
    for row in (
        await Record.select(Record.key, Record.data)
        .where(Record.kind == "index-code")
        .output(load_json=True)
    ):
        index_texts[row["key"]].append(_index_text(row["data"]))

    icd9_names = await _icd9_names()
    rows = (
        await Code.select(*catalog.CODE_COLUMNS, Code.sort)
        .where(Code.system.is_in(list(SEARCHED_SYSTEMS)))
        .output(load_json=True)
    )
    documents = []
    for r in rows:
        details = r["details"] or {}
        notes = details.get("notes") or {}
        ref = refs.get(r["release"])
        cm = r["system"] == "icd-10-cm"
        doc = Document(
            system=r["system"],
            code=r["code"],
            display=r["display"],
            title=r["title"],
            kind=r["kind"],
            billable=bool(r["billable"]),
            parent=r["parent"],
            chapter=chapters.get(r["group_key"]) if cm else None,
            release=ref.label if ref else "",
            needs_seventh=bool(details.get("needs_seventh")),
            seventh_meaning=(details.get("seventh_char") or {}).get("meaning"),
            excludes1=tuple(notes.get("excludes1", ())),
            notes=tuple(n for key in XREF_NOTES for n in notes.get(key, ())) if cm else (),
            sort=r["sort"] or 0,
        )
        doc.texts.append((TITLE, r["title"]))
        if r["short_title"] and r["short_title"] != r["title"]:
            doc.texts.append((SHORT, r["short_title"]))
        doc.texts.extend((INCLUSION, t) for t in notes.get("inclusionTerm", ()))
        doc.texts.extend((INCLUDES, t) for t in notes.get("includes", ()))
        if cm:
            doc.texts.extend((INDEX, t) for t in index_texts.get(r["code"], ()))
            doc.texts.extend((ICD9, t) for t in icd9_names.get(r["code"], ()))
        documents.append(doc)
    _add_references(documents)
    return documents


async def _icd9_names() -> dict[str, list[str]]:
    """ICD-10-CM code -> the long titles of the ICD-9-CM codes the GEMs (either direction) pair
    it with, leaving out ICD-9-CM codes paired with more than ICD9_MAX_TARGETS codes; nothing
    when the GEMs are not loaded."""
    targets: dict[str, set[str]] = defaultdict(set)
    for row in await Record.select(Record.key, Record.key2, Record.kind).where(
        Record.kind.is_in(["gem-10-9", "gem-9-10"]) & Record.key2.is_not_null()
    ):
        icd10, icd9 = (
            (row["key"], row["key2"]) if row["kind"] == "gem-10-9" else (row["key2"], row["key"])
        )
        targets[icd9].add(icd10)
    if not targets:
        return {}
    titles = {
        r["code"]: r["title"]
        for r in await Code.select(Code.code, Code.title).where(Code.system == "icd-9-cm")
    }
    names: dict[str, list[str]] = defaultdict(list)
    for icd9, codes in targets.items():
        title = titles.get(icd9)
        if title and len(codes) <= ICD9_MAX_TARGETS:
            for code in codes:
                names[code].append(title)
    return names


def references(note: str) -> tuple[str, list[str]]:
    """A note's text and the codes it names, normalised: "gestational diabetes (O24.4-)" ->
    ("gestational diabetes", ["O244"]); ranges ("A04.0-A04.4") name no single code."""
    found = _REFERENCE.match(note.strip())
    if not found:
        return "", []
    text = found["text"].strip(" ,;:").removeprefix("if applicable,").strip()
    codes = [c.strip().replace(".-", "-") for c in found["codes"].split(",")]
    return text, [c.replace(".", "").rstrip("-") for c in codes if _REFERENCED_CODE.match(c)]


def _add_references(documents: list[Document]) -> None:
    """Give each ICD-10-CM code the names other codes' notes use for it."""
    by_code = {d.code: d for d in documents if d.system == "icd-10-cm"}
    named: dict[str, set[str]] = defaultdict(set)
    for doc in by_code.values():
        for note in doc.notes:
            text, codes = references(note)
            if len(text) >= 4:
                for code in codes:
                    if code in by_code and code != doc.code:
                        named[code].add(text)
    for code, texts in named.items():
        by_code[code].texts.extend((XREF, t) for t in sorted(texts))
