"""CasePilot's tools over the catalog: the only source of facts for the answer engines and the
consult analysis. Each tool is `async def name(...) -> ToolResult`; bad input gives ok=False
with a fact that says what was wrong or not found, never an exception.

`TOOLS` describes each tool for function calling (a JSON Schema per tool, OpenAI style) and
`call(name, arguments)` runs one from JSON arguments, checking and coercing them first.

The tools live in tools_codes.py (lookup_code, search_codes, hierarchy), tools_pcs.py
(pcs_decode), tools_icd.py (instructional_notes, seventh_characters, drg_facts), tools_gems.py
(crosswalk), tools_billing.py (hcpcs_indicators, modifier, place_of_service), tools_ncci.py
(ncci_check, mue), tools_fee.py (fee) and tools_refs.py (lcd_search, guidelines); what they
share is in tools_common.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from features.casepilot.facts import ToolResult
from features.casepilot.tools_billing import hcpcs_indicators, modifier, place_of_service
from features.casepilot.tools_codes import hierarchy, lookup_code, search_codes
from features.casepilot.tools_common import bad_input
from features.casepilot.tools_fee import fee
from features.casepilot.tools_gems import crosswalk
from features.casepilot.tools_icd import drg_facts, instructional_notes, seventh_characters
from features.casepilot.tools_ncci import mue, ncci_check
from features.casepilot.tools_pcs import pcs_decode
from features.casepilot.tools_refs import guidelines, lcd_search

log = structlog.get_logger("casepilot.tools")

SYSTEM_ENUM = ["icd-10-cm", "icd-10-pcs", "hcpcs", "cpt"]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON Schema object, as function calling takes it
    run: Callable[[dict[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    required: bool = False


def _text(name: str, description: str, required: bool = False, **more: Any) -> Param:
    return Param(name, {"type": "string", "description": description, **more}, required)


def _count(name: str, description: str, low: int, high: int) -> Param:
    schema = {"type": "integer", "description": description, "minimum": low, "maximum": high}
    return Param(name, schema, False)


def _codes(name: str, description: str) -> Param:
    schema = {
        "type": "array",
        "items": {"type": "string"},
        "description": description,
        "minItems": 1,
        "maxItems": 20,
    }
    return Param(name, schema, True)


class ArgumentError(ValueError):
    """JSON arguments a tool cannot take; the message says which and why."""


def _string(param: Param, value: Any) -> str:
    # Engines often write codes as numbers (99213): take them as the text they are.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ArgumentError(f"{param.name} must be a string")
    # An enum is a hint for the model: the tools also take "ICD-10-CM", "CPT" and such, and
    # say what they take when a system is unknown.
    return str(value)


def _integer(param: Param, value: Any) -> int:
    if isinstance(value, bool):
        raise ArgumentError(f"{param.name} must be a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ArgumentError(f"{param.name} must be a whole number")
    low, high = param.schema["minimum"], param.schema["maximum"]
    if not low <= value <= high:
        raise ArgumentError(f"{param.name} must be between {low} and {high}")
    return value


def _array(param: Param, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;]+", value) if v]
    if not isinstance(value, list) or not value:
        raise ArgumentError(f"{param.name} must be a list of codes")
    if len(value) > param.schema["maxItems"]:
        raise ArgumentError(f"{param.name} takes at most {param.schema['maxItems']} codes")
    item = Param(f"each of {param.name}", {"type": "string"})
    return [_string(item, v) for v in value]


_COERCE: dict[str, Callable[[Param, Any], Any]] = {
    "string": _string,
    "integer": _integer,
    "array": _array,
}


def coerce(params: tuple[Param, ...], arguments: object) -> dict[str, Any]:
    """Keyword arguments for the tool from JSON arguments, or ArgumentError."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ArgumentError(f"the arguments are not JSON ({exc.msg})") from exc
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ArgumentError("the arguments must be a JSON object")
    known = {p.name: p for p in params}
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise ArgumentError(
            f"unknown argument {', '.join(map(str, unknown))}; it takes {', '.join(known)}"
        )
    kwargs: dict[str, Any] = {}
    for param in params:
        value = arguments.get(param.name)
        if value is None or value == "":
            if param.required:
                raise ArgumentError(f"{param.name} is required")
            continue
        kwargs[param.name] = _COERCE[param.schema["type"]](param, value)
    return kwargs


def _spec(
    name: str,
    description: str,
    tool: Callable[..., Awaitable[ToolResult]],
    *params: Param,
) -> ToolSpec:
    schema = {
        "type": "object",
        "properties": {p.name: p.schema for p in params},
        "required": [p.name for p in params if p.required],
        "additionalProperties": False,
    }

    async def run(arguments: dict[str, Any]) -> ToolResult:
        try:
            kwargs = coerce(params, arguments)
        except ArgumentError as exc:
            return bad_input(name, f"Bad arguments for {name}: {exc}.")
        try:
            return await tool(**kwargs)
        except Exception:
            # A tool fault must not end the engine's answer: it reads as "not known". Arguments
            # may quote the question (a search's words): log their names, never their values.
            log.exception("casepilot tool failed", tool=name, arguments=sorted(kwargs))
            return bad_input(name, f"The {name} tool failed on this input; nothing was found.")

    return ToolSpec(name, description, schema, run)


_CODE = "A code as written, with or without its dot: E11.9, S93.402A, 0DTJ4ZZ, J1100, 99213."
_SYSTEM = "The code system, when known; detected from the code's shape when left out."

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "lookup_code",
            "What a code is: title, billable or why not (header, needs a 7th character), "
            "parent, release. CPT codes without a licensed descriptor give public MPFS facts.",
            lookup_code,
            _text("code", _CODE, required=True),
            _text("system", _SYSTEM, enum=SYSTEM_ENUM),
        ),
        _spec(
            "search_codes",
            "Search the code catalog by words or a code prefix; returns the best codes.",
            search_codes,
            _text("query", "Words (a condition, procedure, supply) or a code prefix.", True),
            _text("system", "Limit to one code system.", enum=SYSTEM_ENUM),
            _count("limit", "How many codes to return.", 1, 20),
        ),
        _spec(
            "instructional_notes",
            "ICD-10-CM instructional notes that apply to a code (includes, inclusion terms, "
            "excludes1, excludes2, code first, use additional code, code also), its own and "
            "inherited from its ancestors, block and chapter, each labelled with its level.",
            instructional_notes,
            _text("code", "An ICD-10-CM code.", required=True),
        ),
        _spec(
            "hierarchy",
            "Where a code sits: ICD-10-CM chapter, block, ancestors and children; ICD-10-PCS "
            "section and table; HCPCS/CPT range.",
            hierarchy,
            _text("code", _CODE, required=True),
            _text("system", _SYSTEM, enum=SYSTEM_ENUM),
        ),
        _spec(
            "seventh_characters",
            "The 7th characters an ICD-10-CM code takes (A, D, S ...) and the placeholder X rule.",
            seventh_characters,
            _text("code", "An ICD-10-CM code, e.g. S93.402.", required=True),
        ),
        _spec(
            "crosswalk",
            "2018 GEMs: ICD-10-CM <-> ICD-9-CM and ICD-9 procedures -> ICD-10-PCS, with flags "
            "(approximate, no map, combination).",
            crosswalk,
            _text(
                "code",
                "An ICD-10-CM, ICD-10-PCS, ICD-9-CM (250.00) or ICD-9 procedure (47.01) code.",
                required=True,
            ),
            _text(
                "system",
                "icd-10-cm, icd-10-pcs, icd-9-cm or icd-9-pcs; detected when left out.",
                enum=[*SYSTEM_ENUM[:2], "icd-9-cm", "icd-9-pcs"],
            ),
        ),
        _spec(
            "hcpcs_indicators",
            "A HCPCS Level II code's indicators from the CMS HCPCS file (coverage, pricing, "
            "BETOS, type of service, ASC group, processing notes ...), with meanings.",
            hcpcs_indicators,
            _text("code", "A HCPCS Level II code, e.g. J1100.", required=True),
        ),
        _spec(
            "modifier",
            "A modifier: its HCPCS Level II title, the MPFS rows priced with it (26, TC, 53) "
            "and NCCI edits that name it. CPT modifier descriptors (25, 59) are AMA text, "
            "not in the data.",
            modifier,
            _text("modifier", "Two characters, e.g. 25, 59, LT, XS.", required=True),
        ),
        _spec(
            "ncci_check",
            "NCCI procedure-to-procedure edits among CPT/HCPCS codes billed together (either "
            "order), the modifier indicator's meaning, and each code's MUE. The NCCI data "
            "here is a hand-written SAMPLE, not CMS files.",
            ncci_check,
            _codes("codes", 'Two or more CPT/HCPCS codes, e.g. ["99213", "20610"].'),
        ),
        _spec(
            "mue",
            "A CPT/HCPCS code's medically unlikely edit (units per day or line) per setting "
            "(SAMPLE data).",
            mue,
            _text("code", "A CPT or HCPCS code.", required=True),
        ),
        _spec(
            "fee",
            "Medicare Physician Fee Schedule: national non-facility and facility payment, RVUs, "
            "status, global period, PC/TC indicator; by locality when one is given.",
            fee,
            _text("code", "A CPT or HCPCS code (99213, or 71046-26).", required=True),
            _text("modifier", "26, TC or 53 for the component rows."),
            _text(
                "locality",
                "A state (NY), a locality name (MANHATTAN) or a 7-digit "
                "contractor+locality key (1320201).",
            ),
        ),
        _spec(
            "drg_facts",
            "MS-DRG: whether an ICD-10-CM code is a CC or MCC (with its exclusions), or an "
            "MS-DRG's title, MDC, type and weight when given a DRG number.",
            drg_facts,
            _text("code", "An ICD-10-CM code, or an MS-DRG number such as 291.", required=True),
        ),
        _spec(
            "place_of_service",
            "CMS place-of-service codes: a code's name, or the codes named by words.",
            place_of_service,
            _text("code_or_words", "A place-of-service code (11) or words (office).", True),
        ),
        _spec(
            "lcd_search",
            "Medicare LCDs and billing articles (CMS coverage database list) by title words or "
            "id, optionally of one contractor. The list names no codes.",
            lcd_search,
            _text("keyword", "Title words (vitamin D) or an id (L36692).", required=True),
            _text("contractor", "A contractor name (Noridian, Palmetto, NGS ...)."),
            _count("limit", "How many documents to return.", 1, 25),
        ),
        _spec(
            "pcs_decode",
            "The seven characters of an ICD-10-PCS code, each axis and its meaning; an invalid "
            "code is read against its table and the character that does not fit is named.",
            pcs_decode,
            _text("code", "A seven-character ICD-10-PCS code, e.g. 0DTJ4ZZ.", required=True),
        ),
        _spec(
            "guidelines",
            "Guideline text the data holds that matches the topic: ICD-10-PCS guidelines and "
            "root operations, ICD-10-CM chapter and block notes. The ICD-10-CM Official "
            "Guidelines and CPT/E&M guidelines are NOT in the data.",
            guidelines,
            _text("topic", "The topic in words, e.g. excision vs resection.", required=True),
        ),
    )
}


async def call(name: str, arguments: dict[str, Any]) -> ToolResult:
    """Run a tool by name with JSON arguments; an unknown tool or bad arguments give ok=False."""
    spec = TOOLS.get(name) if isinstance(name, str) else None
    if spec is None:
        return bad_input(
            str(name)[:40],
            f"There is no CasePilot tool “{str(name)[:40]}”; the tools are {', '.join(TOOLS)}.",
        )
    return await spec.run(arguments)


__all__ = [
    "TOOLS",
    "ToolSpec",
    "call",
    "crosswalk",
    "drg_facts",
    "fee",
    "guidelines",
    "hcpcs_indicators",
    "hierarchy",
    "instructional_notes",
    "lcd_search",
    "lookup_code",
    "modifier",
    "mue",
    "ncci_check",
    "pcs_decode",
    "place_of_service",
    "search_codes",
    "seventh_characters",
]
