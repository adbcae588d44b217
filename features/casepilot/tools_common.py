"""What the CasePilot tools share: reading a typed code, citations, release names and
not-found facts (word matching is in tools_text.py).

The tools read the catalog through features.case2code.catalog (its public service). The one
exception is `records_of_kind`: whole small kinds (GPCI, POS, LCD, PCS guidelines) that the
catalog has no call for, read from its Record table.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from features.case2code import catalog
from features.case2code.catalog import CodeView, RecordView, ReleaseRef
from features.case2code.systems import SYSTEMS, CodeFormatError
from features.case2code.tables import Record
from features.casepilot.facts import Citation, Fact, ToolResult

CM, PCS, HCPCS, CPT = "icd-10-cm", "icd-10-pcs", "hcpcs", "cpt"
ICD9, ICD9_PCS = "icd-9-cm", "icd-9-pcs"
CODE_SYSTEMS = (CM, PCS, HCPCS, CPT)
# Short names for citation labels ("ICD-10-CM E11.9") and full names for sentences.
LABELS = {
    CM: "ICD-10-CM",
    PCS: "ICD-10-PCS",
    HCPCS: "HCPCS",
    CPT: "CPT",
    ICD9: "ICD-9-CM",
    ICD9_PCS: "ICD-9-CM procedure",
}
NAMES = {**LABELS, HCPCS: "HCPCS Level II"}
NO_RELEASE = "no release loaded"

_ALIASES = {
    "icd10cm": CM,
    "icd10": CM,
    "cm": CM,
    "icd10pcs": PCS,
    "pcs": PCS,
    "hcpcs": HCPCS,
    "hcpcslevelii": HCPCS,
    "hcpcslevel2": HCPCS,
    "hcpcsii": HCPCS,
    "cpt": CPT,
    "cpt4": CPT,
    "icd9": ICD9,
    "icd9cm": ICD9,
    "icd9pcs": ICD9_PCS,
    "icd9proc": ICD9_PCS,
    "icd9procedure": ICD9_PCS,
    "icd9procedures": ICD9_PCS,
    "icd9cmprocedure": ICD9_PCS,
    "icd9cmprocedures": ICD9_PCS,
    "icd9sg": ICD9_PCS,
}
# Stricter than the systems' own patterns, to guess a system for a bare token: an ICD-10-CM
# code has a digit second, so "HELLO" is no code at all rather than "HEL.LO not found".
_SHAPES = (
    (CM, re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")),
    (HCPCS, re.compile(r"[A-V][0-9]{4}|[0-9A-Z]{2}")),
    (CPT, re.compile(r"[0-9]{4}[0-9A-Z]")),
    (PCS, re.compile(r"[0-9A-HJ-NP-Z]{7}")),
)
_HCPCS_CODE = re.compile(r"[A-V][0-9]{4}")
EXPECTED = (
    "a code of ICD-10-CM (e.g. E11.9 or S93.402A), ICD-10-PCS (seven characters, e.g. "
    "0DTJ4ZZ), HCPCS Level II (a letter and four digits, e.g. J1100, or a modifier such as LT) "
    "or CPT (five characters, e.g. 99213)"
)


def system_slug(raw: object) -> str | None:
    """A system as an engine may write it ("ICD-10-CM", "icd10pcs", "CPT") -> its slug."""
    if not isinstance(raw, str):
        return None
    return _ALIASES.get(re.sub(r"[^a-z0-9]", "", raw.lower()))


def shown(raw: object, limit: int = 24) -> str:
    """A typed value, safe to quote back in a sentence."""
    text = " ".join(str(raw).split())
    return text if len(text) <= limit else text[:limit] + "…"


def dotted(system: str, code: str) -> str:
    """The printed form of a normalised code (ICD dots), as code pages spell it."""
    if system == CM:
        return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
    if system == ICD9:
        cut = 4 if code.startswith("E") else 3
        return code if len(code) <= cut else f"{code[:cut]}.{code[cut:]}"
    if system == ICD9_PCS:
        return code if len(code) <= 2 else f"{code[:2]}.{code[2:]}"
    return code


def procedure_system(code: str) -> str:
    """Where a CPT/HCPCS code has its page: HCPCS Level II codes start with a letter."""
    return HCPCS if code[:1].isalpha() else CPT


def code_url(system: str, display: str, section: str | None = None) -> str:
    # Code page sections are rendered inside gated blocks whose ids are "gated-<section>".
    anchor = f"#gated-{section}" if section else ""
    return f"/codes/{system}/{display}{anchor}"


def search_url(query: str, system: str | None = None) -> str:
    params = {"q": query, "system": system or ""}
    return "/case2code?" + urlencode({k: v for k, v in params.items() if v})


def release_label(ref: ReleaseRef | str | None) -> str:
    if isinstance(ref, str):
        return ref
    return ref.label if ref is not None and ref.name else NO_RELEASE


async def current_label(code_set: str) -> str:
    return release_label(await catalog.current_release(code_set))


def cite(label: str, url: str, release: ReleaseRef | str | None) -> Citation:
    return Citation(label=label, url=url, release=release_label(release))


def fact(text: str, label: str, url: str, release: ReleaseRef | str | None) -> Fact:
    return Fact(text=text, citation=cite(label, url, release))


def view_label(view: CodeView) -> str:
    return f"{LABELS.get(view.system, view.system)} {view.display}"


def view_fact(text: str, view: CodeView, section: str | None = None) -> Fact:
    """A fact about a code, cited to (a section of) its page."""
    return fact(text, view_label(view), code_url(view.system, view.display, section), view.release)


def fail(
    tool: str,
    text: str,
    label: str,
    url: str,
    release: ReleaseRef | str | None,
    data: dict[str, Any] | None = None,
) -> ToolResult:
    return ToolResult(tool, False, (fact(text, label, url, release),), data or {})


def bad_input(tool: str, text: str, data: dict[str, Any] | None = None) -> ToolResult:
    """A refusal of the input itself: no data was read, so no release is named."""
    facts = (fact(text, f"CasePilot {tool}", "/casepilot", ""),)
    return ToolResult(tool, False, facts, {"error": text, **(data or {})})


def unique_codes(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(pairs))


def view_codes(views: Iterable[CodeView | None]) -> tuple[tuple[str, str], ...]:
    return unique_codes((v.system, v.code) for v in views if v is not None)


@dataclass(frozen=True)
class Found:
    """The code a tool works on; `others`: the same token found in further systems."""

    view: CodeView
    others: tuple[CodeView, ...] = ()


def likely_systems(typed: str) -> list[str]:
    """The systems a bare token could be a code of, most likely first."""
    token = typed.strip().upper()
    bare = token.replace(".", "", 1)
    if "." in token:
        return [CM] if _SHAPES[0][1].fullmatch(token) else []
    if _HCPCS_CODE.fullmatch(bare):
        return [HCPCS, CM]  # J1100 is far likelier than a 5-character ICD-10-CM code
    return [slug for slug, shape in _SHAPES if shape.fullmatch(bare)]


def text_arg(raw: object) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def int_arg(raw: object, default: int, low: int, high: int) -> int:
    """A count an engine gave, kept within bounds (a bad one means the default)."""
    value = default
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            value = int(raw)
        except ValueError:
            value = default
    return max(low, min(value, high))


async def find_view(system: str, code: str) -> CodeView | None:
    view = await catalog.get_code(system, code)
    if view is None and system == CPT:
        view = await catalog.cpt_without_licence(code)
    return view


async def resolve(
    tool: str, raw: object, system: object = None, allowed: Sequence[str] = CODE_SYSTEMS
) -> Found | ToolResult:
    """The catalog code a typed code names, or a failed ToolResult that says why not."""
    typed = text_arg(raw)
    if not typed:
        return bad_input(tool, f"No code was given: enter {EXPECTED}.")
    if system is not None and system != "":
        slug = system_slug(system)
        if slug is None:
            return bad_input(
                tool,
                f"“{shown(system)}” is not a code system: use one of {', '.join(allowed)}.",
            )
        if slug not in allowed:
            names = ", ".join(NAMES[s] for s in allowed)
            return bad_input(tool, f"{tool} works on {names} codes, not {NAMES[slug]} codes.")
        slugs = [slug]
    else:
        slugs = [s for s in likely_systems(typed) if s in allowed]
    parsed, errors = _parse(typed, slugs)
    if not parsed:
        text = errors[0] if len(errors) == 1 else f"“{shown(typed)}” is not {EXPECTED}."
        return await _malformed(tool, text, slugs)
    found = [v for v in [await find_view(s, c) for s, c in parsed] if v is not None]
    if found:
        return Found(found[0], tuple(found[1:]))
    return await not_found(tool, parsed)


def _parse(typed: str, slugs: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    parsed: list[tuple[str, str]] = []
    errors: list[str] = []
    for slug in slugs:
        try:
            parsed.append((slug, SYSTEMS[slug].normalise(typed)))
        except CodeFormatError as exc:
            errors.append(str(exc))
    return parsed, errors


async def _malformed(tool: str, text: str, slugs: Sequence[str]) -> ToolResult:
    if len(slugs) == 1:
        slug = slugs[0]
        release = await catalog.current_release(SYSTEMS[slug].code_set)
        return fail(tool, text, NAMES[slug], f"/codes/{slug}", release, {"malformed": True})
    return bad_input(tool, text, {"malformed": True})


async def not_found(tool: str, parsed: Sequence[tuple[str, str]]) -> ToolResult:
    """The fact "X is not a <system> code in <release>.", and the nearest codes that exist."""
    releases = {s: await catalog.current_release(SYSTEMS[s].code_set) for s, _ in parsed}
    slug, code = parsed[0]
    display = dotted(slug, code)
    if len(parsed) == 1 and slug == CPT:
        mpfs = await current_label("mpfs")
        text = (
            f"{display} is not a CPT code in the loaded data: neither "
            f"{release_label(releases[slug])} nor {mpfs} lists it."
        )
    elif len(parsed) == 1:
        text = (
            f"{display} is not {SYSTEMS[slug].article} {NAMES[slug]} code in "
            f"{release_label(releases[slug])}."
        )
    else:
        where = " or ".join(f"{NAMES[s]} ({release_label(releases[s])})" for s, _ in parsed)
        text = f"{display} is not a code in {where}."
    facts = [fact(text, f"{LABELS[slug]} {display}", code_url(slug, display), releases[slug])]
    nearby: list[CodeView] = []
    suggestion = await placeholder_suggestion(code) if slug == CM else None
    if suggestion is not None:
        nearby.append(suggestion)
        facts.append(
            view_fact(
                f"Did you mean {suggestion.display}? A code shorter than six characters takes "
                "the placeholder X in each empty place before its 7th character.",
                suggestion,
            )
        )
    if slug in (CM, PCS, HCPCS):
        # Only codes of the same category, table or range: "0ZZZZZZ" is near nothing.
        near = [
            v
            for v in await catalog.nearest(slug, code, limit=5)
            if v not in nearby and _shared(v.code, code) >= 3
        ]
        if near:
            nearby += near
            listed = "; ".join(f"{v.display} {v.title}" for v in near)
            facts.append(
                fact(
                    f"Codes that do exist near {display}: {listed}.",
                    f"{LABELS[slug]} {display}",
                    code_url(slug, display),
                    releases[slug],
                )
            )
    data = {
        "query": display,
        "systems": [s for s, _ in parsed],
        "found": False,
        "nearest": [{"system": v.system, "code": v.display, "title": v.title} for v in nearby],
    }
    return ToolResult(tool, False, tuple(facts), data, view_codes(nearby))


def _shared(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


async def placeholder_suggestion(code: str) -> CodeView | None:
    """S32.9A typed for S32.9XXA: the same 7th character after the placeholder X."""
    if len(code) < 4 or len(code) >= 7:
        return None
    base = code[:-1].rstrip("X")
    padded = base.ljust(6, "X") + code[-1]
    if padded == code:
        return None
    return await catalog.get_code(CM, padded)


_KINDS: dict[str, tuple[float, int | None, list[RecordView]]] = {}
_KINDS_TTL_S = 300.0


async def records_of_kind(kind: str, code_set: str) -> list[RecordView]:
    """Every record of a small kind, kept until the code set's current release changes."""
    current = await catalog.current_release(code_set)
    release_id = current.id if current else None
    hit = _KINDS.get(kind)
    if hit and hit[1] == release_id and time.monotonic() - hit[0] < _KINDS_TTL_S:
        return hit[2]
    rows = (
        await Record.select().where(Record.kind == kind).order_by(Record.id).output(load_json=True)
    )
    refs = await catalog.releases({r["release"] for r in rows})
    views = [
        RecordView(
            r["kind"],
            r["key"],
            r["key2"],
            r["data"] or {},
            refs.get(r["release"]) or ReleaseRef(r["release"], code_set, "", False),
        )
        for r in rows
    ]
    _KINDS[kind] = (time.monotonic(), release_id, views)
    return views


async def count_by_key2(kind: str, key2: str, examples: int = 5) -> tuple[int, list[str]]:
    """How many records of a kind have this key2, and the first few keys."""
    where = (Record.kind == kind) & (Record.key2 == key2)
    count = await Record.count().where(where)
    rows = await Record.select(Record.key).where(where).order_by(Record.key).limit(examples)
    return count, [r["key"] for r in rows]


def money(value: Any) -> str:
    return f"${float(value):,.2f}"


async def known_code(code: str) -> bool:
    """Whether the catalog backs a code (ToolResult.codes lists only such codes)."""
    system = procedure_system(code)
    if await catalog.get_code(system, code) is not None:
        return True
    return system == CPT and await catalog.cpt_without_licence(code) is not None
