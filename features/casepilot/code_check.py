"""The code check: every code an answer names is looked up in the catalog before it is shown.

`find_codes` spots code-like tokens in free text (no database), `check` looks them up and says
which ones the catalog does not back as written, and `mark` puts a visible marker beside each
flagged code in the Markdown.

Detection rule, in short: a token whose shape can only be a code (E11.9, S93.402A, 0FT44ZZ,
J1100, 0001F) is a *certain* mention; a token that is often something else (a bare 5-digit
number, a 7-digit number, a bare 3-character category such as B12, a letter and five digits
such as the LCD id L33831) is an *uncertain* mention, made certain by its context: a system name
or the word "code(s)" right before it, a modifier after it (99213-25), a list or table row it
opens, or a list it shares with a certain mention. Uncertain mentions are only flagged when the
catalog knows them (not billable, wrong system), never as unknown. Money ($12345), decimals
(1.92), ZIP codes (MA 02115, 02115-1234), LCD/NCD ids and anything inside a URL are skipped.
Letters must be upper case: models and coders write codes that way, and it keeps words out.
Codes the text calls ICD-9 are left out (the catalog holds ICD-9 for the GEMs only; dotted
numbers such as 250.00 are never taken for codes), and codes a tool result named pass whatever
system they are in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from features.casepilot.engine import CodeFlag

ICD10CM, ICD10PCS, HCPCS, CPT = "icd-10-cm", "icd-10-pcs", "hcpcs", "cpt"
ICD9 = "icd-9-cm"  # only recognised to be left out: the catalog has ICD-9 for the GEMs alone
_LABELS = {ICD10CM: "ICD-10-CM", ICD10PCS: "ICD-10-PCS", HCPCS: "HCPCS Level II", CPT: "CPT"}
_MARKERS = {"unknown": "not a valid code", "not billable": "not billable"}
_PCS_SECTIONS = frozenset("0123456789BCDFGHX")

Problem = Literal["unknown", "not billable", "wrong system"]


@dataclass(frozen=True)
class Mention:
    """A code-like token of the text."""

    text: str  # as written: "E11.9"
    code: str  # as the catalog keys it: upper case, no dot ("E119")
    start: int
    end: int
    systems: tuple[str, ...]  # the systems it could belong to, likeliest first
    declared: str | None = None  # the system the text names for it ("CPT 99213" -> "cpt")
    certain: bool = True  # False: may be a plain number or word (see the module's rule)


# A maximal run of letters and digits, with dotted parts ("E11.9", "1.92"); the look-behind
# keeps out the middle of words, money ($12345), numbers (1,234) and anchors (#x). A slash is
# allowed: NCCI pairs are written 99213/36415.
_TOKEN = re.compile(r"(?<![\w$.,#@&=%+\\])[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")
# Where codes are not prose: URLs, Markdown link targets and site paths (/codes/cpt/99213).
# Blanked before scanning.
_URL = re.compile(
    r"https?://[^\s)>\]]+|\]\([^)\s]*\)|<[a-z]+://[^>]*>|(?<![\w/])/[\w.-]+(?:/[\w.%?=&-]*)+",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)

_ICD_DOTTED = re.compile(r"([A-Z][0-9][0-9AB])\.([0-9A-Z]{1,4})")
_ICD_BARE = re.compile(r"[A-Z][0-9][0-9AB][0-9A-Z]{1,4}")
_ICD_CATEGORY = re.compile(r"[A-Z][0-9][0-9AB]")
_LETTER_FIVE_DIGITS = re.compile(r"[A-Z][0-9]{5}")  # E11649, but also LCD L33831, article A52458
_HCPCS = re.compile(r"[A-V][0-9]{4}")
_CPT_OTHER = re.compile(r"[0-9]{4}[FTU]")  # category II, III and PLA codes: never a number
_FIVE_DIGITS = re.compile(r"[0-9]{5}")
_SEVEN_DIGITS = re.compile(r"[0-9]{7}")
_PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")

# Context, read just before or after a token (same line).
_SYSTEM_NAME = (
    r"(?<![\w-])(?P<system>ICD-?10-?CM|ICD-?10-?PCS|ICD-?9(?:-?CM)?|HCPCS(?:\s+Level\s+II)?|CPT)"
    r"(?:®|\(R\))?"
)
_DECLARED_BEFORE = re.compile(
    _SYSTEM_NAME + r"(?:\s+(?:codes?|category|categories))?\s*:?\s*\(?$", re.IGNORECASE
)
_DECLARED_AFTER = re.compile(r"^\s*\(\s*" + _SYSTEM_NAME + r"(?:\s+codes?)?\s*\)", re.IGNORECASE)
_CODE_WORD_BEFORE = re.compile(r"\b(?:codes?|category|categories)\s*:?\s*\(?$", re.IGNORECASE)
_MODIFIER_AFTER = re.compile(r"^-[0-9A-Z]{2}\b")
# A list item or the first cell of a table row, opened by the token ("- 99213: office visit").
_ROW_START = re.compile(r"[ \t]*(?:[-*+][ \t]+|\d{1,2}[.)][ \t]+|\|[ \t]*)(?:\*\*|`)?")
_LIST_SEPARATOR = re.compile(
    r"\s*(?:[,;/&()]|-|–|—|\band\b|\bor\b|\bto\b|\bthrough\b|\*\*|`|\s)*\s*", re.IGNORECASE
)
_NOT_A_CODE_BEFORE = re.compile(
    r"\b(?:zip(?:\s+code)?|postal\s+code|LCD|LCA|NCD|article|phone|fax|tel|NPI|claim|ID|no\.)"
    r"\s*[:#]?\s*$",
    re.IGNORECASE,
)
_STATES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
        "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP",
    )
)
_STATE_BEFORE = re.compile(r"(?<![\w-])([A-Z]{2}),?\s+$")  # "Boston, MA 02115"
_ZIP_PLUS_FOUR_AFTER = re.compile(r"^-[0-9]{4}\b")
_LOOK = 48  # how far back context is read: a system name and a few filler words


def _system_slug(name: str) -> str:
    folded = name.upper().replace("-", "")
    if folded.startswith("ICD10CM"):
        return ICD10CM
    if folded.startswith("ICD10PCS"):
        return ICD10PCS
    if folded.startswith("ICD9"):
        return ICD9
    return HCPCS if folded.startswith("HCPCS") else CPT


def _shape(token: str) -> tuple[str, tuple[str, ...], bool] | None:
    """(catalog code, candidate systems, certain) for a token shaped like a code, else None."""
    if "." in token:
        dotted = _ICD_DOTTED.fullmatch(token)
        return (dotted[1] + dotted[2], (ICD10CM,), True) if dotted else None
    if _CPT_OTHER.fullmatch(token):
        return token, (CPT,), True
    if _FIVE_DIGITS.fullmatch(token):
        return token, (CPT,), False
    if _SEVEN_DIGITS.fullmatch(token):
        return token, (ICD10PCS,), False  # 0016070 is a PCS code; so could a phone number be
    if _HCPCS.fullmatch(token):
        return token, (HCPCS, ICD10CM), True  # E1165: a HCPCS code or E11.65 without its dot
    if _ICD_CATEGORY.fullmatch(token):
        return token, (ICD10CM,), False  # E11, but also vitamin B12 and the T12 vertebra
    if _ICD_BARE.fullmatch(token):
        systems = (ICD10CM, ICD10PCS) if len(token) == 7 and _is_pcs(token) else (ICD10CM,)
        return token, systems, not _LETTER_FIVE_DIGITS.fullmatch(token)
    if _is_pcs(token) and re.search(r"[0-9]", token) and re.search(r"[A-Z]", token):
        return token, (ICD10PCS,), True
    return None


def _is_pcs(token: str) -> bool:
    return bool(_PCS.fullmatch(token)) and token[0] in _PCS_SECTIONS


def _masked(text: str) -> str:
    """The text with URLs blanked out, offsets kept."""
    return _URL.sub(lambda m: " " * len(m.group()), text)


def _line_before(text: str, start: int) -> str:
    """The text from the start of the token's line to the token."""
    return text[text.rfind("\n", 0, start) + 1 : start]


def _declared(text: str, start: int, end: int) -> str | None:
    before = _DECLARED_BEFORE.search(_line_before(text, start)[-_LOOK:])
    if before:
        return _system_slug(before["system"])
    after = _DECLARED_AFTER.match(text[end : end + _LOOK])
    return _system_slug(after["system"]) if after else None


def _skipped(text: str, start: int, end: int, code: str) -> bool:
    """Numbers that only look like codes: ZIP codes, ids named as such."""
    if not code.isdigit() and not _LETTER_FIVE_DIGITS.fullmatch(code):
        return False
    before = _line_before(text, start)[-_LOOK:]
    if _ZIP_PLUS_FOUR_AFTER.match(text[end : end + 6]):
        return True
    state = _STATE_BEFORE.search(before)
    if state and state[1] in _STATES:
        return True
    return bool(_NOT_A_CODE_BEFORE.search(before))


def _context_makes_certain(text: str, mention: Mention) -> bool:
    before = _line_before(text, mention.start)
    after = text[mention.end : mention.end + 4]
    return bool(
        mention.declared
        or _CODE_WORD_BEFORE.search(before[-_LOOK:])
        or _ROW_START.fullmatch(before)
        or (mention.systems[0] in (CPT, HCPCS) and _MODIFIER_AFTER.match(after))
    )


def _listed_together(text: str, a: Mention, b: Mention) -> bool:
    between = text[a.end : b.start]
    return "\n" not in between and bool(_LIST_SEPARATOR.fullmatch(between))


def _spread_through_lists(text: str, mentions: list[Mention]) -> list[Mention]:
    """In "CPT 99213, 99214 and 99215" the later numbers are codes of the system the first one
    has: certainty and the declared system pass to list neighbours, both ways, until stable."""
    changed = True
    while changed:
        changed = False
        for i in range(len(mentions) - 1):
            a, b = mentions[i], mentions[i + 1]
            if not _listed_together(text, a, b):
                continue
            for src, dst, j in ((a, b, i + 1), (b, a, i)):
                same_shape = src.systems == dst.systems
                merged = replace(
                    dst,
                    certain=dst.certain or src.certain,
                    declared=dst.declared or (src.declared if same_shape else None),
                )
                if merged != dst:
                    mentions[j] = merged
                    changed = True
    return mentions


def find_codes(text: str) -> list[Mention]:
    """Code-like tokens of `text`, in order (the module's docstring has the rule)."""
    scanned = _masked(text or "")
    mentions: list[Mention] = []
    for match in _TOKEN.finditer(scanned):
        token, start, end = match.group(), match.start(), match.end()
        if token != token.upper():
            continue
        shaped = _shape(token)
        if shaped is None:
            continue
        code, systems, certain = shaped
        declared = _declared(scanned, start, end)
        if declared is None and _skipped(scanned, start, end, code):
            continue
        mention = Mention(token, code, start, end, systems, declared, certain)
        if not certain and _context_makes_certain(scanned, mention):
            mention = replace(mention, certain=True)
        mentions.append(mention)
    spread = _spread_through_lists(scanned, mentions)
    return [m for m in spread if m.declared != ICD9]


# --- the catalog lookup -------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    system: str
    billable: bool
    kind: str
    needs_seventh: bool = False
    terminated: bool = False


async def _lookup(system: str, code: str) -> _Found | None:
    # Imported here: the catalog pulls in the ORM tables, which find_codes and mark never need.
    from features.case2code import catalog
    from features.case2code.systems import system_for

    shape = system_for(system)
    if shape is not None and not shape.pattern.fullmatch(code):
        return None  # e.g. J1100 as CPT: the fee schedule would know it, but as HCPCS
    view = await catalog.get_code(system, code)
    if view is None and system == CPT:
        view = await catalog.cpt_without_licence(code)
    if view is None:
        return None
    return _Found(
        system,
        view.billable,
        view.kind,
        needs_seventh=view.needs_seventh,
        terminated=bool(view.details.get("terminated")),
    )


def _search_order(mention: Mention) -> list[str]:
    first = [mention.declared] if mention.declared else []
    return list(dict.fromkeys([*first, *mention.systems]))


def _flag(mention: Mention, problem: Problem, system: str | None, note: str) -> CodeFlag:
    return CodeFlag(code=mention.text, system=system, problem=problem, note=note)


def _not_billable_note(mention: Mention, found: _Found) -> str:
    label = _LABELS.get(found.system, found.system)
    if found.terminated:
        return f"{mention.text} is a terminated {label} code: it cannot be reported."
    if found.kind == "modifier":
        return f"{mention.text} is a {label} modifier, not a code."
    if found.needs_seventh:
        return f"{mention.text} needs a 7th character before it can be reported."
    return (
        f"{mention.text} is a {label} heading, not a billable code: "
        "a more specific code under it must be reported."
    )


async def _find(
    system: str,
    code: str,
    trusted: frozenset[tuple[str, str]] | set[tuple[str, str]],
    cache: dict[tuple[str, str], _Found | None],
) -> _Found | None:
    if (system, code) in trusted:
        # A tool result named it: the answer may discuss it as the tool described it (even a
        # heading), so it passes as if billable.
        return _Found(system, billable=True, kind="trusted")
    if (system, code) not in cache:
        cache[(system, code)] = await _lookup(system, code)
    return cache[(system, code)]


async def _check_one(
    mention: Mention,
    trusted: frozenset[tuple[str, str]] | set[tuple[str, str]],
    cache: dict[tuple[str, str], _Found | None],
) -> CodeFlag | None:
    named_in = {system for system, code in trusted if code == mention.code}
    if named_in and (mention.declared is None or mention.declared in named_in):
        return None  # a tool named it, maybe in a system the shape does not suggest (ICD-9)
    for system in _search_order(mention):
        found = await _find(system, mention.code, trusted, cache)
        if found is None:
            continue
        if mention.declared and system != mention.declared:
            said, real = _LABELS[mention.declared], _LABELS.get(system, system)
            note = f"{mention.text} is not a {said} code; it is a {real} code."
            return _flag(mention, "wrong system", mention.declared, note)
        if found.billable:
            return None
        return _flag(mention, "not billable", system, _not_billable_note(mention, found))
    if not mention.certain:
        return None  # probably a plain number or word, not a code at all
    system = mention.declared or mention.systems[0]
    note = f"{mention.text} is not a code in the portal's {_LABELS[system]} release."
    return _flag(mention, "unknown", system, note)


async def check(
    text: str, trusted: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
) -> tuple[CodeFlag, ...]:
    """Flags for the codes of `text` the catalog does not back as written, one per code as
    written (and declared system). `trusted` holds (system, code without dot) pairs that tool
    results already named: they pass without a lookup."""
    flags: list[CodeFlag] = []
    seen: set[tuple[str, str | None]] = set()
    cache: dict[tuple[str, str], _Found | None] = {}
    for mention in find_codes(text):
        if (mention.text, mention.declared) in seen:
            continue
        seen.add((mention.text, mention.declared))
        flag = await _check_one(mention, trusted, cache)
        if flag is not None and flag not in flags:
            flags.append(flag)
    return tuple(flags)


# --- marking ------------------------------------------------------------------------------

_CLOSING_MARKUP = re.compile(r"(?:[*_`~]+|\]\([^)\s]*\)|\])*")


def _marker(flag: CodeFlag) -> str:
    if flag.problem == "wrong system":
        return f"not a {_LABELS.get(flag.system or '', 'valid')} code"
    return _MARKERS[flag.problem]


def _flag_for(mention: Mention, flags: Sequence[CodeFlag]) -> CodeFlag | None:
    for flag in flags:
        if flag.code != mention.text:
            continue
        # A wrong-system flag is about the code as declared there ("CPT J1100"), not about
        # every J1100 of the answer.
        if flag.problem != "wrong system" or flag.system == mention.declared:
            return flag
    return None


def _in_ranges(position: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in ranges)


def mark(text: str, flags: Sequence[CodeFlag]) -> str:
    """`text` with a marker after each flagged code (`E11.99 **[not a valid code]**`). The marker
    goes after any emphasis, code span or link the code sits in, so the Markdown stays whole;
    inside a fenced block it is plain text. Marking twice adds nothing."""
    if not flags:
        return text
    fences = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    inserts: dict[int, str] = {}
    for mention in find_codes(text):
        flag = _flag_for(mention, flags)
        if flag is None:
            continue
        at = mention.end + len(_CLOSING_MARKUP.match(text, mention.end).group())
        fenced = _in_ranges(mention.start, fences)
        marker = f" [{_marker(flag)}]" if fenced else f" **[{_marker(flag)}]**"
        if text.startswith(marker, at) or at in inserts:
            continue
        inserts[at] = marker
    out, last = [], 0
    for at in sorted(inserts):
        out.extend((text[last:at], inserts[at]))
        last = at
    out.append(text[last:])
    return "".join(out)
