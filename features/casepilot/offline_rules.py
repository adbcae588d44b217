"""Offline engine plans about coding rules: guidelines (what the data holds, and plainly what it
does not), compliance questions, modifiers, NCCI edits and MUEs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from features.casepilot.facts import Citation, ToolResult
from features.casepilot.intents import CM, CPT, HCPCS, PCS, Intent
from features.casepilot.offline_answer import (
    MAX_CODES,
    MAX_NOTES,
    Writer,
    citations_of,
    code_args,
    escape,
    is_found,
    pick_codes,
    sample_title,
)

_EM = re.compile(
    r"\be/?m\b|\be&m\b|evaluation and management|office visits?|\bmdm\b|"
    r"medical decision|leveling",
    re.I,
)


# Conventions the tabular prints as notes: the answer shows what the note says where it applies,
# read from one code the convention is printed at (looked up through the tools).
CONVENTIONS = (
    (re.compile(r"code first", re.I), "Code first", "E08"),
    (re.compile(r"use additional", re.I), "Use additional code", "E11"),
    (re.compile(r"code also", re.I), "Code also", "I10"),
    (re.compile(r"excludes ?1", re.I), "Excludes1", "E11"),
    (re.compile(r"excludes ?2", re.I), "Excludes2", "I10"),
    (re.compile(r"7th|seventh|placeholder", re.I), "7th character", "S52.501"),
)


_GUIDE_NOISE = re.compile(
    r"\b(?:guidelines?|rules?|official|coding|conventions?|icd-?10(?:-?cm|-?pcs)?|pcs|cpt|"
    r"what|are|the|for|on|of|about|is|a|an|how|do|does|i|we|code|services?|mean|means|"
    r"meaning|define|definition|explain|sequence|sequencing|and|or|with)\b",
    re.I,
)


def _topic(intent: Intent) -> str:
    words = _GUIDE_NOISE.sub(" ", intent.words or intent.question)
    return " ".join(re.sub(r"[?!.,;:]", " ", words).split())


async def plan_guidelines(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    if _EM.search(intent.question):
        async for piece in _em_guidelines(writer, intent):
            yield piece
        return
    for pattern, label, example in CONVENTIONS:
        if pattern.search(intent.question):
            async for piece in _convention(writer, intent, label, example):
                yield piece
            return
    topic = _topic(intent)
    held = await writer.tool("guidelines", topic=topic or intent.question)
    pcs = [f for f in held.facts if f.text.startswith("ICD-10-PCS")]
    cm = [f for f in held.facts if f.text.startswith("ICD-10-CM")]
    missing = [f for f in held.facts if f not in pcs and f not in cm]
    if pcs and (intent.system_hint in (None, PCS)):
        first = pcs[0]
        yield writer.paragraph(
            f"The ICD-10-PCS guidelines the portal holds answer this: {escape(first.text)}",
            [first.citation],
        )
        yield writer.facts(pcs[1:], "More ICD-10-PCS guidelines on the topic")
        yield writer.facts(cm, "ICD-10-CM chapter and block notes on the topic")
        yield writer.facts(missing, "Not in the data")
        return
    if cm and len(topic) >= 5:  # an abbreviation ("NEC") is in many notes: none is about it
        yield writer.paragraph(
            f"The official guideline text for “{escape(topic)}” is not loaded; the ICD-10-CM "
            "chapter and block notes that mention it are below.",
            citations_of([held])[-1:],
        )
        yield writer.facts(cm, "ICD-10-CM chapter and block notes")
        yield writer.facts(missing, "Not in the data")
    else:
        yield writer.paragraph(
            f"I don't know: the guideline text on “{escape(topic or intent.question)}” is not "
            "in the portal's data, so I cannot quote it.",
            held.citations[:1],
        )
    async for piece in _topic_codes(writer, topic):
        yield piece
    yield writer.next_steps(topic or intent.question)


async def _topic_codes(writer: Writer, topic: str) -> AsyncIterator[str]:
    """The codes a topic names, with the notes of the first: what the tabular says about it."""
    if len(topic) < 5:
        return  # "NEC", "MDM": an abbreviation searched alone finds titles, not the topic
    hits = await writer.tool("search_codes", query=topic, limit=3)
    if not hits.ok or hits.data.get("partial"):
        return
    # Keep the codes whose title names the topic: a match on an inclusion term alone
    # ("sepsis pneumonia" -> melioidosis) is not what a coder asked about.
    words = [w[:5] for w in re.findall(r"[a-z]{4,}", topic.lower())]
    on_topic = [
        (fact, hit)
        for fact, hit in zip(hits.facts, hits.data.get("hits") or [], strict=False)
        if any(w in str(hit.get("title", "")).lower() for w in words)
    ]
    if not on_topic:
        return
    yield writer.facts([f for f, _ in on_topic], f"Codes on “{escape(topic)}”")
    top = on_topic[0][1]
    if top.get("system") == CM:
        notes = await writer.tool("instructional_notes", code=top["display"])
        near = [f for f in notes.facts if not f.text.startswith("Inherited from chapter")]
        yield writer.facts(near, f"Notes that apply to {top['display']}", MAX_NOTES)


async def _em_guidelines(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    """E/M: the guideline text is AMA/CMS text not loaded; the data's E/M facts are."""
    missing = await writer.tool("guidelines", topic="evaluation and management")
    codes = await writer.tool("search_codes", query="office visit", system=CPT, limit=10)
    hits = [h for h in codes.data.get("hits") or [] if h.get("system") == CPT]
    anchor = hits[0]["display"] if hits else None
    section = await writer.tool("hierarchy", code=anchor, system=CPT) if anchor else None
    range_fact = (
        next((f for f in section.facts if "Evaluation and Management" in f.text), None)
        if section and section.ok
        else None
    )
    not_loaded = next((f for f in missing.facts if "not in the loaded data" in f.text), None)
    lead = (
        "The official E/M guideline text (the CPT Evaluation and Management guidelines and the "
        "CMS documentation guidelines) is not loaded in the portal, so I cannot quote it"
    )
    cites: list[Citation] = [not_loaded.citation] if not_loaded else []
    if range_fact:
        lead += f"; what the data holds is below: the CPT E/M {escape(range_fact.text.rstrip('.'))}"
        cites.append(range_fact.citation)
    yield writer.paragraph(lead + ".", cites)
    if not_loaded:
        yield writer.facts([not_loaded], "What is and is not loaded")
    if range_fact:
        yield writer.facts([range_fact], "The CPT E/M section")
    if hits:
        yield writer.facts(codes.facts, "Office visit codes (CPT)")
        rows = []
        for hit in hits[:10]:
            fee = await writer.tool("fee", code=hit["display"])
            if fee.ok:
                rows.append((_fee_line(fee), [fee.facts[0].citation]))
        yield writer.lines(rows, "Medicare Physician Fee Schedule, office visits")
        mue = await writer.tool("mue", code=anchor)
        if mue.ok:
            yield writer.facts(mue.facts[:1], sample_title("Medically unlikely edits", mue))
    rule = await writer.tool("modifier", modifier="25")
    ncci = [f for f in rule.facts if f.text.startswith("In the ")]
    yield writer.facts(ncci, "E/M with a procedure the same day (NCCI sample)")
    yield writer.next_steps("evaluation and management", CPT)


def _fee_line(fee: ToolResult) -> str:
    d = fee.data
    parts = [f"status {d.get('status_code')}", f"work RVU {d.get('work_rvu')}"]
    if d.get("non_facility_payment") is not None:
        parts.append(f"${d['non_facility_payment']:,.2f} non-facility")
    if d.get("facility_payment") is not None:
        parts.append(f"${d['facility_payment']:,.2f} facility")
    parts.append(f"global {d.get('global_days')}")
    return f"{d.get('code')}: {', '.join(parts)}"


async def _convention(
    writer: Writer, intent: Intent, label: str, example: str
) -> AsyncIterator[str]:
    missing = await writer.tool("guidelines", topic=label)
    not_loaded = next((f for f in missing.facts if "not in the loaded data" in f.text), None)
    if label == "7th character":
        shown = await writer.tool("seventh_characters", code=example)
        facts = list(shown.facts) if shown.ok else []
    else:
        shown = await writer.tool("instructional_notes", code=example)
        facts = [f for f in shown.facts if f"— {label}" in f.text] if shown.ok else []
    cites = [not_loaded.citation] if not_loaded else []
    lead = (
        f"The ICD-10-CM Official Guidelines text on the “{label}” convention is not loaded, so "
        "I cannot quote the rule"
    )
    meaning = _CONVENTION_MEANING.get(label)
    if facts:
        lead += (
            f"; the tabular prints it as a note where it applies ({meaning})"
            if meaning
            else "; the tabular prints it as a note where it applies"
        )
        cites.append(facts[0].citation)
    yield writer.paragraph(lead + ".", cites)
    yield writer.facts(facts, f"Example from the tabular: {label} notes", MAX_NOTES)
    if not_loaded:
        yield writer.facts([not_loaded], "What is and is not loaded")
    yield writer.next_steps(label)


# Plain restatements of what each tabular note type says on its face, as the tools label them
# (tools_icd.NOTE_LABELS): no guideline text is quoted.
_CONVENTION_MEANING = {
    "Excludes1": "an Excludes1 note names conditions never coded together with the code",
    "Excludes2": "an Excludes2 note names conditions not included here that may be coded "
    "together with it",
    "Code first": "a Code first note names the condition to sequence before this code",
    "Use additional code": "a Use additional code note names a further code to add",
    "Code also": "a Code also note names another code that may be needed",
    "7th character": "a 7th character note lists the characters a category's codes take",
}


async def plan_compliance(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    topic = _topic(intent)
    held = await writer.tool("guidelines", topic=topic or intent.question)
    pcs = [f for f in held.facts if f.text.startswith("ICD-10-PCS guideline")]
    not_loaded = next((f for f in held.facts if "not in the loaded data" in f.text), None)
    cites = [not_loaded.citation] if not_loaded else held.citations[:1]
    if pcs and (intent.system_hint == PCS or re.search(r"\bprocedur", intent.question, re.I)):
        yield writer.paragraph(
            f"The ICD-10-PCS guidelines the portal holds say: {escape(pcs[0].text)}",
            [pcs[0].citation],
        )
        yield writer.facts(pcs[1:3], "More ICD-10-PCS guideline text")
        if not_loaded:
            yield writer.facts([not_loaded], "What is and is not loaded")
        yield writer.next_steps(topic or intent.question)
        return
    yield writer.paragraph(
        "I don't know from the portal's data: this is answered by the ICD-10-CM Official "
        "Guidelines for Coding and Reporting (and payer policy), whose text is not loaded, so "
        "I will not guess. A coding expert can answer it through a consult.",
        cites,
    )
    if pcs:
        yield writer.facts(pcs[:2], "Related ICD-10-PCS guideline text the data does hold")
    if not_loaded:
        yield writer.facts([not_loaded], "What is and is not loaded")
    for ref in pick_codes(intent):
        looked = await writer.tool("lookup_code", **code_args(ref, intent))
        if is_found(looked):
            yield writer.facts(looked.facts, f"What the data says about {looked.data['display']}")
    yield writer.next_steps(topic or intent.question)


async def plan_modifier(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    mods = list(intent.modifiers)[:MAX_CODES]
    if not mods:
        yield writer.paragraph(
            "Which modifier? Name it with two characters, for example “What is modifier 25?” "
            "or “What is modifier RT?”."
        )
        yield writer.next_steps("modifier", HCPCS, consult=False)
        return
    for n, mod in enumerate(mods):
        result = await writer.tool("modifier", modifier=mod)
        d = result.data
        if d.get("hcpcs_title"):
            lead = (
                f"Modifier **{mod}** is the HCPCS Level II modifier *{escape(d['hcpcs_title'])}*."
            )
        elif d.get("cpt_modifier"):
            lead = (
                f"Modifier **{mod}** is a CPT modifier: its descriptor is AMA text that needs a "
                "CPT licence, so I cannot quote it"
            )
            ncci = [f for f in result.facts if f.text.startswith("In the ")]
            lead += (
                f"; the loaded NCCI edits use it, e.g. “{escape(_rationale(ncci[0].text))}”."
                if ncci and _rationale(ncci[0].text)
                else "."
            )
        else:
            lead = escape(result.facts[-1].text) if result.facts else f"{mod}: nothing found."
        cites = [result.facts[0].citation] if result.facts else []
        if d.get("cpt_modifier") and len(result.facts) > 1:
            cites.append(result.facts[-1].citation)
        yield writer.paragraph(lead, cites)
        yield writer.facts(result.facts, f"Modifier {mod}")
        if n == 0:
            for ref in pick_codes(intent, CPT, HCPCS)[:1]:
                fee = await writer.tool("fee", code=ref.code, modifier=mod)
                if fee.ok:
                    yield writer.facts(fee.facts[:3], f"{ref.code} with modifier {mod} (MPFS)")
    if not any(r.ok for r in writer.results):
        yield writer.next_steps(f"modifier {mods[0]}", HCPCS)


def _rationale(text: str) -> str:
    quoted = re.search(r"“([^”]+)”", text)
    return quoted.group(1) if quoted else ""


async def plan_ncci(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    codes = [c.code for c in intent.codes if c.procedure][:6]
    if len(codes) < 2:
        if codes:
            yield writer.paragraph(
                f"An NCCI procedure-to-procedure edit is between two codes: ask “Can {codes[0]} "
                "be billed with …?”. What the loaded NCCI data holds for "
                f"{codes[0]} alone is its medically unlikely edit, below."
            )
            async for piece in plan_mue(writer, intent):
                yield piece
        else:
            yield writer.paragraph(
                "Which codes? An NCCI edit is between two CPT or HCPCS codes: ask “Can … "
                "be billed with …?”."
            )
            yield writer.next_steps(intent.words or "ncci", consult=False)
        return
    result = await writer.tool("ncci_check", codes=codes)
    edits = result.data.get("edits") or []
    edit_facts = [f for f in result.facts if f.text.startswith("NCCI PTP edit")]
    none_facts = [f for f in result.facts if f.text.startswith("No NCCI PTP edit")]
    sample = " (SAMPLE data, not the CMS NCCI files)" if result.data.get("sample") else ""
    release = escape(str(result.data.get("release") or "the NCCI data"))
    if edits:
        e = edits[0]
        indicator = e.get("modifier_indicator")
        verdict = {
            0: "they are not paid together, and no modifier bypasses the edit",
            1: "both may be paid only with an appropriate modifier when the documentation "
            "supports it",
            9: "the edit does not apply",
        }.get(indicator, "the indicator is not given")
        lead = (
            f"There is an NCCI edit for this pair: the {release}{sample} has column 1 "
            f"**{e['column1']}** with column 2 **{e['column2']}**, modifier indicator "
            f"{indicator}: {verdict}."
        )
        if e.get("rationale"):
            lead += f" Rationale: {escape(e['rationale'])}."
        yield writer.paragraph(lead, [edit_facts[0].citation] if edit_facts else [])
    else:
        lead = f"No edit pairs {' and '.join(codes)} in the {release}{sample}. " + (
            "The sample is a small hand-written set, so a pair missing here may still have "
            "an edit in the CMS files."
            if result.data.get("sample")
            else ""
        )
        yield writer.paragraph(lead, [none_facts[0].citation] if none_facts else [])
    yield writer.facts(edit_facts + none_facts, "NCCI procedure-to-procedure edits")
    mue_facts = [f for f in result.facts if f.text.startswith("MUE")]
    yield writer.facts(mue_facts, "Medically unlikely edits")
    for mod in intent.modifiers[:1]:
        rule = await writer.tool("modifier", modifier=mod)
        yield writer.facts(rule.facts[:2], f"Modifier {mod}")


async def plan_mue(writer: Writer, intent: Intent) -> AsyncIterator[str]:
    refs = pick_codes(intent, CPT, HCPCS)
    if not refs:
        yield writer.paragraph("Which code? Name the CPT or HCPCS code: “MUE for …”.")
        yield writer.next_steps(intent.words or "MUE", consult=False)
        return
    for ref in refs:
        result = await writer.tool("mue", code=ref.code)
        rows = result.data.get("rows") or []
        if not rows:
            yield writer.paragraph(escape(result.facts[0].text), result.citations[:1])
            continue
        values = sorted({(r.get("value"), r.get("setting")) for r in rows}, key=str)
        per = ", ".join(f"{v} unit(s) ({s})" for v, s in values)
        sample = (
            " (SAMPLE data, not the CMS files)" if "sample" in result.facts[0].text.lower() else ""
        )
        lead = (
            f"The MUE for **{ref.code}**{sample} is {per} — "
            f"{escape(str(rows[0].get('adjudication') or ''))}."
        )
        if rows[0].get("rationale"):
            lead += f" Rationale: {escape(rows[0]['rationale'])}."
        yield writer.paragraph(lead, result.citations[:1])
        yield writer.facts(result.facts, "Medically unlikely edits")
