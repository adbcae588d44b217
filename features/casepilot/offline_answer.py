"""How the offline engine writes: Markdown pieces built only from tool results, each fact with
the number of its source, and the "Sources" list at the end.

A `Writer` keeps what an answer used (tools called, their results, citations in first-use
order) so the engine can stream each piece as soon as it is written and build the final Answer
from the same record.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

from features.casepilot import tools
from features.casepilot.facts import Citation, Fact, ToolResult
from features.casepilot.intents import CM, HCPCS, ICD9, ICD9_PCS, PCS, CodeRef, Intent

CONSULT_URL = "/consultant"
MAX_SEARCH_WORDS = 120
MAX_CODES = 3  # codes one answer covers in depth
MAX_NOTES = 8
MAX_CHILDREN = 12
MAX_HITS = 5
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def escape(text: str) -> str:
    """Text from the data, safe inside Markdown (titles hold brackets and asterisks)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def search_link(query: str, system: str | None = None) -> str:
    from features.casepilot.tools_common import search_url

    words = " ".join(query.split())[:MAX_SEARCH_WORDS] or "codes"
    return search_url(words, system)


class Writer:
    """One answer being written."""

    def __init__(self) -> None:
        self.sources: list[Citation] = []
        self.results: list[ToolResult] = []
        self.tools: list[str] = []
        self.pieces: list[str] = []

    # -- tools ------------------------------------------------------------------------------

    async def tool(self, name: str, **arguments: Any) -> ToolResult:
        """Run a tool through `tools.call` (bad input or a fault reads as "not found")."""
        args = {k: v for k, v in arguments.items() if v is not None and v != ""}
        result = await tools.call(name, args)
        self.tools.append(name)
        self.results.append(result)
        return result

    # -- citations --------------------------------------------------------------------------

    def cite(self, citations: Iterable[Citation]) -> str:
        """ " [1][2]": the sources' numbers, each citation listed once in the Sources."""
        marks = []
        for citation in dict.fromkeys(citations):
            if citation not in self.sources:
                self.sources.append(citation)
            marks.append(f"[{self.sources.index(citation) + 1}]")
        return (" " + "".join(marks)) if marks else ""

    # -- pieces -----------------------------------------------------------------------------

    def emit(self, text: str) -> str:
        self.pieces.append(text)
        return text

    def paragraph(self, text: str, citations: Iterable[Citation] = ()) -> str:
        return self.emit(f"{text.rstrip()}{self.cite(citations)}\n\n")

    def facts(
        self,
        facts: Sequence[Fact],
        title: str | None = None,
        limit: int | None = None,
        more: str | None = None,
    ) -> str:
        """A bulleted list of facts, each with its source; nothing when there are none."""
        chosen = list(dict.fromkeys(facts))
        if not chosen:
            return ""
        shown = chosen[:limit] if limit else chosen
        lines = [f"**{title}**\n\n"] if title else []
        lines += [f"- {escape(f.text)}{self.cite([f.citation])}\n" for f in shown]
        if limit and len(chosen) > limit:
            lines.append(f"- {more or f'… and {len(chosen) - limit} more'}\n")
        return self.emit("".join(lines) + "\n")

    def lines(self, items: Sequence[tuple[str, Sequence[Citation]]], title: str | None) -> str:
        """Bullets written by the engine from tool data, each with the sources it came from."""
        if not items:
            return ""
        out = [f"**{title}**\n\n"] if title else []
        out += [f"- {text}{self.cite(cites)}\n" for text, cites in items]
        return self.emit("".join(out) + "\n")

    def next_steps(self, query: str, system: str | None = None, consult: bool = True) -> str:
        links = [f"[search the codes for “{escape(query)}”]({search_link(query, system)})"]
        if consult:
            links.append(f"[send a consult]({CONSULT_URL}) to a coding expert")
        return self.emit(f"Next: {' or '.join(links)}.\n\n")

    def sources_block(self) -> str:
        if not self.sources:
            return ""
        lines = ["**Sources**\n\n"]
        for n, c in enumerate(self.sources, 1):
            release = f" — {escape(c.release)}" if c.release else ""
            lines.append(f"{n}. [{escape(c.label)}]({c.url}){release}\n")
        return self.emit("".join(lines))

    @property
    def text(self) -> str:
        return "".join(self.pieces).rstrip() + "\n"

    def trusted(self) -> set[tuple[str, str]]:
        """Codes the tool results name: in `codes`, and any written in their facts."""
        from features.casepilot.code_check import find_codes

        trusted = {pair for r in self.results for pair in r.codes}
        for result in self.results:
            for fact in result.facts:
                for mention in find_codes(fact.text):
                    trusted.update((system, mention.code) for system in mention.systems)
        return trusted


def sample_title(title: str, result: ToolResult) -> str:
    """A section title that says "sample data" when the release it comes from is a sample."""
    sample = any("sample" in c.release.lower() for c in result.citations)
    return f"{title} (sample data)" if sample else title


def citations_of(results: Iterable[ToolResult]) -> list[Citation]:
    return [c for r in results for c in r.citations]


# -- what every plan shares ---------------------------------------------------------------------

Plan = Callable[[Writer, Intent], AsyncIterator[str]]


def code_args(ref: CodeRef, intent: Intent) -> dict[str, Any]:
    """A code and, when the question or page settles it, its system (else the tool guesses)."""
    system = ref.system if len(ref.systems) == 1 else None
    if system is None and intent.system_hint in ref.systems:
        system = intent.system_hint
    return {"code": ref.written if system in (ICD9, ICD9_PCS) else ref.code, "system": system}


def sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!", ":")) else text + "."


def is_found(result: ToolResult) -> bool:
    return result.ok and not result.data.get("malformed")


def not_found(writer: Writer, intent: Intent, result: ToolResult) -> list[str]:
    """What a failed lookup says, the nearby codes it found, and where to go next."""
    pieces = [writer.paragraph(escape(result.facts[0].text), [result.facts[0].citation])]
    if len(result.facts) > 1:
        pieces.append(writer.facts(result.facts[1:], "What the data has instead"))
    typed = [c.written for c in intent.codes if not c.from_context]
    query = " ".join(typed) or intent.words or intent.question
    pieces.append(writer.next_steps(query))
    return pieces


def pick_codes(intent: Intent, *systems: str) -> list[CodeRef]:
    chosen = intent.codes_in(*systems) if systems else list(intent.codes)
    return chosen[:MAX_CODES]


def code_summary(data: dict[str, Any]) -> str:
    label = {CM: "ICD-10-CM", PCS: "ICD-10-PCS", HCPCS: "HCPCS Level II"}.get(
        str(data.get("system")), str(data.get("system"))
    )
    title = escape(str(data.get("title") or "").rstrip("."))
    status = escape(str(data.get("status") or ("billable" if data.get("billable") else "")))
    noun = {"category": "category", "subcategory": "subcategory"}.get(str(data.get("kind")), "code")
    text = f"**{data['display']}** is the {label} {noun} for *{title}*"
    if data.get("kind") == "modifier":
        text = f"**{data['display']}** is the {label} modifier *{title}*"
    release = escape(str(data.get("release") or ""))
    return f"{text} ({release}): {status}." if status else f"{text} ({release})."


def fee_sentence(fee: ToolResult) -> str:
    d = fee.data
    code = f"{d.get('code')}-{d['modifier']}" if d.get("modifier") else d.get("code")
    bits = [f"status {d.get('status_code')}"]
    if d.get("non_facility_payment") is not None or d.get("facility_payment") is not None:
        non = d.get("non_facility_payment")
        fac = d.get("facility_payment")
        money = " / ".join(
            part
            for part in (
                f"${non:,.2f} non-facility" if non is not None else "",
                f"${fac:,.2f} facility" if fac is not None else "",
            )
            if part
        )
        bits.append(f"a national payment of {money}")
    if d.get("work_rvu") is not None:
        bits.append(f"work RVU {d['work_rvu']}")
    if d.get("global_days"):
        bits.append(f"global period {d['global_days']}")
    return f"In the {escape(str(d.get('release')))}, {code} has {', '.join(bits)}."
