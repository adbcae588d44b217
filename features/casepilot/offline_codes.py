"""Offline engine plans about codes: what a code is, billable or not, its 7th characters, its
place in the hierarchy, its notes, its GEM crosswalks; plain searches; and "I don't know"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from features.casepilot.facts import Fact, ToolResult
from features.casepilot.intents import CM, CPT, HCPCS, ICD9, ICD9_PCS, PCS, CodeRef, Intent
from features.casepilot.offline_answer import (
    CONSULT_URL,
    MAX_CHILDREN,
    MAX_HITS,
    MAX_NOTES,
    Writer,
    code_args,
    code_summary,
    escape,
    fee_sentence,
    is_found,
    not_found,
    pick_codes,
    sample_title,
    search_link,
    sentence,
)

LICENCE = (
    "The official CPT descriptor is AMA copyright text: showing it needs an AMA CPT licence "
    "file, which this server does not have"
)


async def plan_describe(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent)
    if not refs:
        async for piece in plan_unknown(writer, intent):
            yield piece
        return
    for n, ref in enumerate(refs):
        if ref.system in (ICD9, ICD9_PCS):
            async for piece in _crosswalk_one(writer, intent, ref, first=n == 0):
                yield piece
            continue
        looked = await writer.tool("lookup_code", **code_args(ref, intent))
        if not is_found(looked):
            for piece in not_found(writer, intent, looked):
                yield piece
            continue
        data = looked.data
        system = str(data.get("system") or ref.system)
        if system == CPT:
            async for piece in _describe_cpt(writer, looked):
                yield piece
        else:
            yield writer.paragraph(code_summary(data), looked.citations[:1])
            async for piece in _code_details(writer, looked, system):
                yield piece


async def _code_details(writer: Writer, looked: ToolResult, system: str) -> AsyncIterator[str]:
    data = looked.data
    code = str(data["display"])
    yield writer.facts(looked.facts[1:], "The code")
    if system == CM:
        notes = await writer.tool("instructional_notes", code=code)
        own = [f for f in notes.facts if not f.text.startswith("Inherited from chapter")]
        own = [f for f in own if not f.text.startswith("Inherited from block")] or own
        yield writer.facts(
            own,
            "Instructional notes",
            MAX_NOTES,
            "… the block and chapter notes are on the code page",
        )
        drg = await writer.tool("drg_facts", code=code)
        if drg.ok:
            yield writer.facts(drg.facts[:2], "MS-DRG")
    elif system == PCS:
        decoded = await writer.tool("pcs_decode", code=code)
        yield writer.facts(decoded.facts[1:], "The seven characters")
    elif system == HCPCS and data.get("kind") != "modifier":
        indicators = await writer.tool("hcpcs_indicators", code=code)
        yield writer.facts(indicators.facts[1:], "HCPCS indicators")
        fee = await writer.tool("fee", code=code)
        if fee.ok:
            yield writer.facts(fee.facts[:4], "Medicare Physician Fee Schedule")
        mue = await writer.tool("mue", code=code)
        if mue.ok:
            yield writer.facts(mue.facts, "Medically unlikely edits")


async def _describe_cpt(writer: Writer, looked: ToolResult) -> AsyncIterator[str]:
    """A CPT code without a licensed descriptor: say so, then what public Medicare data holds."""
    data = looked.data
    code = str(data["display"])
    fee = await writer.tool("fee", code=code)
    licence_cite = [looked.facts[0].citation]
    if data.get("unlicensed"):
        lead = f"**{code}** is a CPT code. {LICENCE}."
    else:
        sample = "sample" in str(data.get("release") or "").lower()
        lead = (
            f"**{code}** is a CPT code; the description below is the project's own sample "
            f"wording, not AMA text. {LICENCE}."
            if sample
            else f"**{code}** is the CPT code for *{escape(str(data.get('title')))}* "
            f"({escape(str(data.get('release')))})."
        )
    if fee.ok:
        lead += " " + fee_sentence(fee)
        licence_cite.append(fee.facts[0].citation)
    yield writer.paragraph(lead, licence_cite)
    if not data.get("unlicensed"):
        yield writer.facts(looked.facts, "The code")
    else:
        yield writer.facts(looked.facts[1:], "The code")
    groups = await writer.tool("hierarchy", code=code, system=CPT)
    if groups.ok:
        yield writer.facts(groups.facts[1:], "Where it sits")
    if fee.ok:
        yield writer.facts(fee.facts, "Medicare Physician Fee Schedule")
    mue = await writer.tool("mue", code=code)
    if mue.ok:
        yield writer.facts(mue.facts, sample_title("Medically unlikely edits", mue))
    yield writer.paragraph(
        f"NCCI edits are pairs of codes: ask “Can {code} be billed with …?” to check a pair "
        "against the loaded edits."
    )


async def plan_billable(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent)
    for ref in refs:
        looked = await writer.tool("lookup_code", **code_args(ref, intent))
        if not is_found(looked):
            for piece in not_found(writer, intent, looked):
                yield piece
            continue
        data = looked.data
        if data.get("system") == CPT:
            async for piece in _describe_cpt(writer, looked):
                yield piece
            continue
        yield writer.paragraph(code_summary(data), looked.citations[:1])
        code = str(data["display"])
        if data.get("system") != CM or data.get("billable"):
            yield writer.facts(looked.facts[1:], "The code")
            continue
        if data.get("needs_seventh"):
            seventh = await writer.tool("seventh_characters", code=code)
            yield writer.facts(seventh.facts, "7th characters")
        else:
            tree = await writer.tool("hierarchy", code=code, system=CM)
            below = [f for f in tree.facts if f.text.startswith("Below ")]
            yield writer.facts(below, "The codes below it", MAX_CHILDREN)


async def plan_seventh(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent, CM)
    if not refs:
        async for piece in plan_describe(writer, intent):
            yield piece
        return
    for ref in refs:
        result = await writer.tool("seventh_characters", code=ref.code)
        if not is_found(result):
            for piece in not_found(writer, intent, result):
                yield piece
            continue
        d = result.data
        if not d.get("applies"):
            yield writer.paragraph(escape(result.facts[0].text), result.citations[:1])
            continue
        chars = d.get("chars") or {}
        first = next(iter(chars.items()), None)
        example = next(iter(d.get("codes") or []), None)
        summary = f"**{d['display']}** takes a 7th character, defined at {d.get('defined_at')}"
        if first:
            summary += f": {len(chars)} options, from {first[0]} ({escape(first[1])})"
            summary += f" to {list(chars)[-1]} ({escape(list(chars.values())[-1])})"
        if example and not d.get("this_char"):
            summary += f"; for example {example['code']} is {escape(example['title'])}"
        yield writer.paragraph(summary + ".", result.citations[:1])
        yield writer.facts(result.facts, "7th characters")


async def plan_hierarchy(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    for ref in pick_codes(intent):
        result = await writer.tool("hierarchy", **code_args(ref, intent))
        if not is_found(result):
            for piece in not_found(writer, intent, result):
                yield piece
            continue
        d = result.data
        if d.get("system") == CM:
            chain = [a["display"] for a in d.get("ancestors") or []]
            where = []
            if chain:
                parent = (d.get("ancestors") or [])[-1]
                where.append(f"its parent is {parent['display']} ({escape(parent['title'])})")
            if d.get("block"):
                where.append(f"block {d['block']['key']}")
            if d.get("chapter"):
                where.append(f"chapter {d['chapter']['key']} ({escape(d['chapter']['title'])})")
            kids = d.get("children") or []
            if kids:
                where.append(f"{len(kids)} codes sit directly below it")
            summary = f"**{d['display']}** ({escape(d['title'])}): " + "; ".join(where)
        else:
            groups = ", ".join(
                f"{g['kind']} {g['key']} ({escape(g['title'])})" for g in d.get("groups") or []
            )
            summary = (
                f"**{d['display']}** ({escape(str(d['title']))}) sits in {groups or 'no group'}"
            )
        yield writer.paragraph(sentence(summary), result.citations[:1])
        yield writer.facts(result.facts, "Hierarchy", MAX_CHILDREN + 6)


NOTE_KINDS = (
    (r"excludes ?1", "Excludes1"),
    (r"excludes ?2", "Excludes2"),
    (r"\bexclud", "Excludes"),
    (r"code first", "Code first"),
    (r"use additional", "Use additional code"),
    (r"code also", "Code also"),
    (r"inclusion term", "Inclusion terms"),
    (r"\bincludes?\b", "Includes"),
)


async def plan_notes(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    wanted = [label for pattern, label in NOTE_KINDS if re.search(pattern, intent.question, re.I)]
    if "Excludes1" in wanted or "Excludes2" in wanted:
        wanted = [w for w in wanted if w != "Excludes"]
    for ref in pick_codes(intent, CM):
        result = await writer.tool("instructional_notes", code=ref.code)
        if not is_found(result):
            for piece in not_found(writer, intent, result):
                yield piece
            continue
        levels = result.data.get("levels") or [{}]
        title = escape(str(levels[0].get("title") or ""))
        display = f"**{result.data.get('display')}** (*{title}*)" if title else ""
        display = display or f"**{result.data.get('display')}**"
        chosen = [f for f in result.facts if any(f"— {w}" in f.text for w in wanted)]
        if wanted and chosen:
            kinds = " and ".join(wanted)
            lead = f"{len(chosen)} {kinds} note(s) apply to {display}"
            lead += f", its own or inherited: {escape(_note_body(chosen[0]))}"
            yield writer.paragraph(sentence(lead), [chosen[0].citation])
            yield writer.facts(chosen, f"{kinds} notes")
            others = [f for f in result.facts if f not in chosen]
            yield writer.facts(others, "Other notes that apply", MAX_NOTES)
        elif wanted:
            kinds = " or ".join(wanted)
            yield writer.paragraph(
                f"No {kinds} note applies to {display} (neither at the code nor inherited "
                "from its ancestors, block or chapter).",
                result.citations[:1],
            )
            yield writer.facts(result.facts, "The notes that do apply", MAX_NOTES)
        else:
            lead = f"{len(result.facts)} instructional notes apply to {display}"
            if result.facts:
                lead += f"; the first: {escape(_note_body(result.facts[0]))}"
            yield writer.paragraph(sentence(lead), result.citations[:1])
            yield writer.facts(result.facts, "Instructional notes", MAX_NOTES + 4)


def _note_body(fact: Fact) -> str:
    return fact.text.split(" — ", 1)[-1]


async def plan_crosswalk(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent)
    if not refs:
        yield writer.paragraph(
            "Which code? Give the ICD-9-CM or ICD-10-CM code to map, as in “ICD-9 … to "
            "ICD-10” or “GEM for …”."
        )
        yield writer.next_steps(intent.words or "crosswalk", consult=False)
        return
    for n, ref in enumerate(refs):
        async for piece in _crosswalk_one(writer, intent, ref, first=n == 0):
            yield piece


async def _crosswalk_one(
    writer: Writer, intent: Intent, ref: CodeRef, first: bool
) -> AsyncIterator[str]:
    system = ref.system if ref.system in (ICD9, ICD9_PCS, CM, PCS) else None
    code = ref.written if system in (ICD9, ICD9_PCS) else ref.code
    result = await writer.tool("crosswalk", code=code, system=system)
    if not result.ok and not result.data.get("mappings"):
        for piece in not_found(writer, intent, result):
            yield piece
        return
    maps = [f for f in result.facts if f.text.startswith("GEM")]
    if system in (ICD9, ICD9_PCS):
        title = result.data.get("title")
        targets = [m for m in result.data.get("mappings") or [] if m.get("other_code")]
        target_facts = maps[:2]
        shown_code = escape(ref.written)
        lead = f"ICD-9-CM{' procedure' if system == ICD9_PCS else ''} **{shown_code}**"
        if title:
            lead += f" (*{escape(title)}*)"
        lead += f" maps in the 2018 GEMs to {len(targets)} code(s)"
        if target_facts:
            lead += ": " + "; ".join(escape(_arrow(f.text)) for f in target_facts)
        yield writer.paragraph(sentence(lead), [f.citation for f in result.facts[:2]])
    else:
        forward = [f for f in maps if "ICD-10-CM to ICD-9-CM" in f.text] or maps
        lead = f"In the 2018 GEMs, **{result.data.get('code')}** maps: " + "; ".join(
            escape(_arrow(f.text)) for f in forward[:3]
        )
        yield writer.paragraph(sentence(lead), [f.citation for f in forward[:1]])
    yield writer.facts(result.facts, "General Equivalence Mappings" if first else None, 12)


def _arrow(text: str) -> str:
    """ "GEM ICD-9-CM to ICD-10-CM: 250.00 → E11.9 Type 2 ... (approximate)." -> after the
    colon."""
    return text.split(": ", 1)[-1].rstrip(".")


async def plan_search(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    query = intent.words or intent.question
    system = intent.system_hint if intent.system_hint in (CM, PCS, HCPCS, CPT) else None
    result = await writer.tool("search_codes", query=query, system=system, limit=MAX_HITS)
    hits = result.data.get("hits") or []
    if not result.ok or not hits or result.data.get("partial"):
        async for piece in plan_unknown(writer, intent, tried=hits):
            yield piece
        return
    top = hits[0]
    lead = (
        f"The best match for “{escape(query)}” is **{top['display']}** *{escape(top['title'])}* "
        f"({top['system'].upper() if top['system'] != HCPCS else 'HCPCS'}, {top['status']})."
    )
    yield writer.paragraph(lead, result.citations[:1])
    yield writer.facts(result.facts, "Codes that match")
    if top.get("system") == CM:
        notes = await writer.tool("instructional_notes", code=top["display"])
        inherited = ("Inherited from chapter", "Inherited from block")
        near = [f for f in notes.facts if not f.text.startswith(inherited)]
        yield writer.facts(near, f"Notes that apply to {top['display']}", MAX_NOTES)
    yield writer.emit(f"[All results for “{escape(query)}”]({search_link(query, system)})\n\n")


async def plan_unknown(
    writer: Writer, intent: Intent, tried: list[dict[str, Any]] | None = None
) -> AsyncIterator[str]:
    query = intent.words or intent.question
    yield writer.emit(
        "I don't know: CasePilot answers only from the portal's code data, and nothing in it "
        f"answers “{escape(intent.question)}”.\n\n"
    )
    if tried:
        yield writer.emit(
            "The search found no code that matches every word; its nearest results are on the "
            "search page.\n\n"
        )
    yield writer.emit(
        f"Try [a search for “{escape(query)}”]({search_link(query)}), or "
        f"[send a consult]({CONSULT_URL}) and a coding expert will answer.\n"
    )
