"""Offline engine plans about Medicare: the fee schedule, coverage indicators, LCDs, place of
service and MS-DRG."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from features.casepilot.intents import CM, CPT, HCPCS, Intent
from features.casepilot.offline_answer import (
    Writer,
    code_args,
    code_summary,
    escape,
    fee_sentence,
    is_found,
    not_found,
    pick_codes,
    sentence,
)


async def plan_fee(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent, CPT, HCPCS)
    if not refs:
        yield writer.paragraph(
            "Which code? The fee schedule is by CPT or HCPCS code: ask “What is the Medicare "
            "fee for …?”, with a state or locality if you need one."
        )
        yield writer.next_steps(intent.words or "fee", consult=False)
        return
    mod = intent.modifiers[0] if intent.modifiers else None
    for ref in refs:
        result = await writer.tool("fee", code=ref.code, modifier=mod, locality=intent.locality)
        if not result.ok:
            for piece in not_found(writer, intent, result):
                yield piece
            continue
        lead = fee_sentence(result)
        cites = [result.facts[0].citation]
        local = next((f for f in result.facts if f.text.startswith("In MPFS locality")), None)
        if local is not None:
            lead += f" {escape(local.text.split(' = ')[0])}."
            cites.append(local.citation)
        elif intent.locality:
            choice = next(
                (f for f in result.facts if "localities" in f.text or "No MPFS locality" in f.text),
                None,
            )
            if choice is not None:
                lead += f" {escape(choice.text.split('; name one:')[0])}"
                lead += "; name one (the list is below)." if "name one" in choice.text else ""
                cites.append(choice.citation)
        yield writer.paragraph(lead, cites)
        yield writer.facts(result.facts, "Medicare Physician Fee Schedule")


async def plan_coverage(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent)
    for ref in refs:
        looked = await writer.tool("lookup_code", **code_args(ref, intent))
        if not is_found(looked):
            for piece in not_found(writer, intent, looked):
                yield piece
            continue
        system = looked.data.get("system")
        code = str(looked.data["display"])
        if system == HCPCS:
            indicators = await writer.tool("hcpcs_indicators", code=code)
            fee = await writer.tool("fee", code=code)
            coverage = next(
                (f for f in indicators.facts if f.text.startswith("Coverage code")), None
            )
            lead = code_summary(looked.data).rstrip(".")
            cites = [looked.facts[0].citation]
            if coverage:
                lead += f". Medicare {escape(coverage.text.rstrip('.').lower())}"
                cites.append(coverage.citation)
            if fee.ok:
                lead += f". {fee_sentence(fee)}"
                cites.append(fee.facts[0].citation)
            yield writer.paragraph(sentence(lead), cites)
            yield writer.facts(indicators.facts[1:], "HCPCS indicators")
            if fee.ok:
                yield writer.facts(fee.facts[:4], "Medicare Physician Fee Schedule")
        elif system == CPT:
            fee = await writer.tool("fee", code=code)
            if fee.ok:
                yield writer.paragraph(fee_sentence(fee), [fee.facts[0].citation])
                yield writer.facts(fee.facts, "Medicare Physician Fee Schedule")
            else:
                yield writer.facts(looked.facts, "The code")
        else:
            yield writer.paragraph(code_summary(looked.data), looked.citations[:1])
            yield writer.facts(looked.facts[1:], "The code")
    yield writer.paragraph(
        "Coverage for a particular patient also depends on national and local coverage "
        "determinations (NCDs, LCDs); ask “LCDs for …” to list the LCDs on a topic."
    )


_LCD_NOISE = re.compile(
    r"\b(?:lcds?|lcas?|local|coverage|determinations?|articles?|billing|medicare|policy|"
    r"policies|covers?|covered|does|mac|macs|contractors?|jurisdictions?|list|show|me|find|"
    r"from|by|about|on|for|any|there|what|which|are|is|the|a|an|of|in|with|noridian|palmetto|"
    r"novitas|first coast|cgs|wps|ngs|national government services)\b",
    re.I,
)


async def plan_lcd(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    keyword = " ".join(_LCD_NOISE.sub(" ", re.sub(r"[?!.,;:'’]", " ", intent.question)).split())
    if not keyword and not intent.contractor:
        yield writer.paragraph(
            "Which topic? Name it, e.g. “LCDs for vitamin D testing” or “Noridian LCDs for "
            "urine drug testing”."
        )
        return
    result = await writer.tool(
        # The tool drops the word "LCD" from title words: alone it means "all of them".
        "lcd_search",
        keyword=keyword or "LCD",
        contractor=intent.contractor,
        limit=10,
    )
    if not result.ok:
        yield writer.paragraph(escape(result.facts[0].text), result.citations[:1])
        yield writer.next_steps(keyword or intent.question)
        return
    docs = result.data.get("documents") or []
    lcds = [d for d in docs if d.get("type") == "LCD"]
    total = result.data.get("total", len(docs))
    by = f" of {escape(intent.contractor)}" if intent.contractor else ""
    lead = f"{total} Medicare LCDs and articles{by}"
    lead += f" match “{escape(keyword)}”" if keyword else " are in the list"
    if total > len(docs):
        lead += f" (the first {len(docs)} are listed)"
    if lcds:
        first = lcds[0]
        who = (first.get("contractors") or [{}])[0].get("name", "")
        lead += f"; the first LCD is LCD {first['id']} *{escape(first['title'])}* ({escape(who)})"
    yield writer.paragraph(sentence(lead), result.citations[:1])
    yield writer.facts(result.facts, "LCDs and articles")
    if re.search(r"\bcover", intent.question, re.I):
        yield writer.paragraph(
            "National coverage determinations (NCDs) are not loaded in the portal: whether "
            "Medicare covers a service nationally is in the CMS NCD manual, not in this list."
        )


async def plan_pos(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    words = re.sub(r"['’]s\b|[?!.,]", " ", intent.question)
    query = intent.pos or " ".join(
        re.sub(
            r"\b(?:pos|place of service|code|codes|what|which|is|for|the|a|an|used|use|do|"
            r"i|we|should|to|bill|billing)\b",
            " ",
            words,
            flags=re.I,
        ).split()
    )
    result = await writer.tool("place_of_service", code_or_words=query or intent.question)
    if not result.ok:
        yield writer.paragraph(escape(result.facts[0].text), result.citations[:1])
        yield writer.next_steps(query or intent.question, consult=False)
        return
    rows = result.data.get("rows") or []
    listed = "; ".join(f"{r['code']} {escape(r.get('name', ''))}" for r in rows[:4])
    lead = f"Place of service {listed}." if len(rows) == 1 else f"Places of service: {listed}."
    yield writer.paragraph(lead, result.citations[:1])
    yield writer.facts(result.facts, "CMS place-of-service codes")


async def plan_drg(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    targets = [intent.drg] if intent.drg else [c.code for c in pick_codes(intent, CM)]
    if not targets:
        yield writer.paragraph(
            "Which code or DRG? Ask “Is … a CC or MCC?” or “What is the weight of DRG …?”."
        )
        return
    for target in targets:
        if target is None:
            continue
        result = await writer.tool("drg_facts", code=target)
        if not result.ok:
            for piece in not_found(writer, intent, result):
                yield piece
            continue
        yield writer.paragraph(escape(result.facts[0].text), [result.facts[0].citation])
        yield writer.facts(result.facts[1:], "MS-DRG")
