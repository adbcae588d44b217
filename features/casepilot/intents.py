"""The offline engine's router: a question (and the page it was asked from) -> one Intent.

Deterministic and data-free: it reads the words and the code-shaped tokens only. Whether a code
exists is the tools' business; the router gives each code the systems it could belong to, most
likely first, and the engine tries them in that order.

Seven topics (codes, guidelines, modifiers, crosswalks, ncci, compliance, coverage) plus a plain
search and "unknown". The intent names, in the order the rules try them, are in INTENTS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from features.case2code.systems import SYSTEMS, CodeFormatError
from features.casepilot.engine import Context

CM, PCS, HCPCS, CPT = "icd-10-cm", "icd-10-pcs", "hcpcs", "cpt"
ICD9, ICD9_PCS = "icd-9-cm", "icd-9-pcs"

# name -> topic. Topics group the evaluation; names pick what the engine does.
INTENTS: dict[str, str] = {
    "describe": "codes",  # what is X / describe X / X alone
    "billable": "codes",  # is X billable / valid / can I report X
    "seventh": "codes",  # the 7th characters of X
    "hierarchy": "codes",  # parent, children, chapter of X
    "notes": "codes",  # excludes, includes, code first ... of X
    "guidelines": "guidelines",  # guidelines / rules / conventions for a topic
    "modifier": "modifiers",  # what is modifier 25
    "crosswalk": "crosswalks",  # ICD-9 <-> ICD-10 GEMs
    "ncci": "ncci",  # can X be billed with Y
    "mue": "ncci",  # the MUE of X
    "compliance": "compliance",  # problem lists, uncertain diagnoses, queries ...
    "fee": "coverage",  # MPFS RVUs, payment, global period, locality
    "coverage": "coverage",  # HCPCS coverage / pricing indicators
    "lcd": "coverage",  # LCDs by topic or contractor
    "pos": "coverage",  # place-of-service codes
    "drg": "coverage",  # CC/MCC designation, MS-DRG weights
    "search": "search",  # a condition or procedure in words
    "unknown": "unknown",
}


@dataclass(frozen=True)
class CodeRef:
    """A code-shaped token of the question (or the page's code)."""

    code: str  # normalised: upper case, no dot
    written: str  # as typed
    systems: tuple[str, ...]  # the systems it may belong to, most likely first
    from_context: bool = False

    @property
    def system(self) -> str:
        return self.systems[0]

    @property
    def procedure(self) -> bool:
        """Could be a CPT or HCPCS code (what NCCI edits, MUEs and fees are keyed by)."""
        return bool({CPT, HCPCS} & set(self.systems))


@dataclass(frozen=True)
class Intent:
    name: str
    question: str
    codes: tuple[CodeRef, ...] = ()
    words: str = ""  # the question without its codes and question words: a search or topic
    modifiers: tuple[str, ...] = ()
    system_hint: str | None = None  # a system the question names ("ICD-10-PCS guidelines")
    locality: str | None = None  # "AL", "ALABAMA", "locality 01", "manhattan"
    contractor: str | None = None  # an LCD contractor the question names
    pos: str | None = None  # a place-of-service code ("11")
    drg: str | None = None  # an MS-DRG number ("291")
    follow_up: bool = False  # took its intent from the turn before ("what about 99214?")

    @property
    def topic(self) -> str:
        return INTENTS[self.name]

    @property
    def from_context(self) -> bool:
        return any(c.from_context for c in self.codes)

    def codes_in(self, *systems: str) -> list[CodeRef]:
        return [c for c in self.codes if set(c.systems) & set(systems)]


# -- tokens ---------------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"(?<![\w.\-/])([A-Za-z0-9]{2,8}(?:\.[A-Za-z0-9]{1,4})?)(?![\w/]|\.\w)")
_CODE_DASH_MOD = re.compile(r"\b([0-9]{4}[0-9FTU]|[A-Va-v][0-9]{4})-([0-9A-Za-z]{2})\b")
_MODIFIER_WORD = re.compile(r"\bmodifiers?\b", re.I)
_MOD_BEFORE = re.compile(r"(?<![\w\-])-?([0-9A-Za-z]{2})\s+modifiers?\b", re.I)
_MOD_FIRST = re.compile(r"\s*(?:[:#]\s*)?-?([0-9A-Za-z]{2})\b")
_MOD_NEXT = re.compile(
    r"\s*(?:,|/|&|\band\b|\bor\b|\bvs\.?|\bversus\b)\s*-?([0-9A-Za-z]{2})\b", re.I
)
_DRG = re.compile(r"\b(?:ms-?)?drg\s*(?:#|no\.?|number)?\s*([0-9]{1,3})\b", re.I)
_POS = re.compile(r"\b(?:pos|place of service)(?:\s+code)?\s*#?\s*([0-9]{1,2})\b", re.I)
_LOCALITY_NUM = re.compile(r"\blocality\s*(?:#|no\.?|number)?\s*([0-9]{1,2})\b", re.I)

# Two-letter words that sit next to "modifier" in English, never modifiers.
_NOT_MODIFIERS = frozenset(
    [
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "go",
        "he",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "no",
        "of",
        "on",
        "or",
        "so",
        "to",
        "up",
        "us",
        "we",
        "am",
    ]
)
# Clinical shorthand shaped like ICD-10-CM categories: a lab or vitamin, not a code.
_NOT_CODES = frozenset({"A1C", "B12", "H1N1", "H5N1", "B6", "D3", "K2", "T2DM", "CO2", "HBA1C"})

_ICD9_HINT = re.compile(r"\bicd[\s-]?9(?:[\s-]?cm)?\b", re.I)
_PCS_HINT = re.compile(r"\bicd[\s-]?10[\s-]?pcs\b|\bpcs\b|\bprocedure coding system\b", re.I)
_CM_HINT = re.compile(r"\bicd[\s-]?10(?![\s-]?pcs)(?:[\s-]?cm)?\b|\bdiagnosis codes?\b", re.I)
_CPT_HINT = re.compile(r"\bcpt\b", re.I)
_HCPCS_HINT = re.compile(r"\bhcpcs\b|\blevel ii\b", re.I)
_PROCEDURE_WORD = re.compile(r"\bprocedures?\b", re.I)

_ICD9_DX = re.compile(r"[0-9]{3}(?:\.[0-9]{1,2})?|V[0-9]{2}(?:\.[0-9]{1,2})?|E[0-9]{3}(?:\.[0-9])?")
_ICD9_SG = re.compile(r"[0-9]{2}\.[0-9]{1,2}")
_CPT = re.compile(r"[0-9]{4}[0-9FTU]")
_PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}")
_CM = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
_HCPCS = re.compile(r"[A-V][0-9]{4}")


@dataclass(frozen=True)
class _Hints:
    icd9: bool
    pcs: bool
    cm: bool
    cpt: bool
    hcpcs: bool
    procedure: bool

    @classmethod
    def read(cls, text: str) -> _Hints:
        return cls(
            icd9=bool(_ICD9_HINT.search(text)),
            pcs=bool(_PCS_HINT.search(text)),
            cm=bool(_CM_HINT.search(text)),
            cpt=bool(_CPT_HINT.search(text)),
            hcpcs=bool(_HCPCS_HINT.search(text)),
            procedure=bool(_PROCEDURE_WORD.search(text)),
        )

    @property
    def system(self) -> str | None:
        for flag, slug in (
            (self.pcs, PCS),
            (self.icd9, ICD9),
            (self.cpt, CPT),
            (self.hcpcs, HCPCS),
            (self.cm, CM),
        ):
            if flag:
                return slug
        return None


def classify(token: str, hints: _Hints | None = None) -> CodeRef | None:
    """The systems a code-shaped token could belong to, or None when it is not code-shaped."""
    ref = _classify(token, hints)
    if ref is None:
        return None
    # The code pages' own format rules have the last word on the four systems they serve.
    systems = tuple(s for s in ref.systems if _valid_format(s, ref.code))
    return replace(ref, systems=systems) if systems else None


def _valid_format(slug: str, code: str) -> bool:
    system = SYSTEMS.get(slug)
    if system is None:
        return True  # ICD-9: no code pages, its shapes are checked above
    try:
        return system.normalise(code) == code
    except CodeFormatError:
        return False


def _classify(token: str, hints: _Hints | None) -> CodeRef | None:
    hints = hints or _Hints(False, False, False, False, False, False)
    typed = token.strip().upper()
    if typed in _NOT_CODES or typed.replace(".", "") in _NOT_CODES:
        return None
    bare = typed.replace(".", "")
    # ICD-10 codes never start with a digit, so "250.00" is ICD-9-CM even without a hint.
    if re.fullmatch(r"[0-9]{3}\.[0-9]{1,2}", typed):
        if hints.icd9 and hints.procedure and not hints.cm:
            return CodeRef(bare, token, (ICD9, ICD9_PCS))
        return CodeRef(bare, token, (ICD9,))
    if hints.icd9 and _ICD9_SG.fullmatch(typed) and hints.procedure:
        return CodeRef(bare, token, (ICD9_PCS,))
    if hints.icd9 and not hints.cpt and re.fullmatch(r"[0-9]{2,5}", typed):
        # "ICD-9 486", "ICD-9 procedure 4701": digits alone are no ICD-10 code.
        if hints.procedure and len(typed) <= 4:
            return CodeRef(typed, token, (ICD9_PCS, ICD9))
        return CodeRef(typed, token, (ICD9, ICD9_PCS)) if len(typed) >= 3 else None
    if hints.icd9 and "." in typed and _ICD9_DX.fullmatch(typed):
        return CodeRef(bare, token, (ICD9,))
    if "." not in typed and _CPT.fullmatch(typed):
        return CodeRef(typed, token, (CPT,))
    if "." not in typed and len(typed) == 7 and _PCS.fullmatch(typed) and re.search(r"\d", typed):
        if typed[0].isdigit():
            return CodeRef(typed, token, (PCS,))
        if _CM.fullmatch(typed):
            return CodeRef(typed, token, (PCS, CM) if hints.pcs else (CM, PCS))
        return CodeRef(typed, token, (PCS,))
    if "." not in typed and _HCPCS.fullmatch(typed):
        prefer_cm = hints.cm and not hints.hcpcs
        return CodeRef(typed, token, (CM, HCPCS) if prefer_cm else (HCPCS, CM))
    if _CM.fullmatch(typed) and (typed.find(".") in (-1, 3)):
        if hints.icd9 and _ICD9_DX.fullmatch(typed) and not hints.cm:
            return CodeRef(bare, token, (ICD9, CM))
        return CodeRef(bare, token, (CM,))
    return None


@dataclass
class _Scan:
    codes: list[CodeRef] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # text consumed by the above

    def taken(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.spans)

    def add_modifier(self, mod: str) -> None:
        mod = mod.upper()
        if mod not in self.modifiers:
            self.modifiers.append(mod)


def _modifiers_after_word(text: str, scan: _Scan) -> None:
    """ "modifier 25", "modifiers 59, XE and XU", "modifier -RT" """
    for word in _MODIFIER_WORD.finditer(text):
        m = _MOD_FIRST.match(text, word.end())
        while m is not None and m.group(1).lower() not in _NOT_MODIFIERS:
            scan.add_modifier(m.group(1))
            scan.spans.append(m.span(1))
            m = _MOD_NEXT.match(text, m.end())


def _scan(text: str, hints: _Hints) -> _Scan:
    scan = _Scan()
    for m in _CODE_DASH_MOD.finditer(text):
        ref = classify(m.group(1), hints)
        if ref is not None:
            scan.codes.append(ref)
            scan.add_modifier(m.group(2))
            scan.spans.append(m.span())
    _modifiers_after_word(text, scan)
    for m in _MOD_BEFORE.finditer(text):
        mod = m.group(1)
        if mod.lower() in _NOT_MODIFIERS or (mod.isalpha() and not mod.isupper()):
            continue
        scan.add_modifier(mod)
        scan.spans.append(m.span(1))
    for pattern in (_DRG, _POS, _LOCALITY_NUM):
        for m in pattern.finditer(text):
            scan.spans.append(m.span(1))
    for m in _TOKEN.finditer(text):
        if scan.taken(*m.span(1)):
            continue
        ref = classify(m.group(1), hints)
        if ref is not None and all(ref.code != c.code for c in scan.codes):
            scan.codes.append(ref)
            scan.spans.append(m.span(1))
    # In the order written, whatever rule found them.
    scan.codes.sort(key=lambda c: text.upper().find(c.written.upper()))
    return scan


# -- places and contractors -----------------------------------------------------------------------

STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "puerto rico": "PR", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "virgin islands": "VI", "guam": "GU",
}  # fmt: skip
# Longest first: "west virginia" before "virginia", "new york" before "york".
_STATE_NAMES = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, STATES), key=len, reverse=True)) + r")\b", re.I
)
_CITY = re.compile(
    r"\b(?:in|for|at)\s+((?:[A-Z][a-z]+\s?){1,3})(?:,|\?|\.|$|\s+(?:locality|area|county))"
)
CONTRACTORS: dict[str, str] = {
    "noridian": "Noridian",
    "palmetto": "Palmetto",
    "novitas": "Novitas",
    "first coast": "First Coast",
    "cgs": "CGS",
    "wps": "WPS",
    "national government services": "National Government Services",
    "ngs": "National Government Services",
}
_CONTRACTOR = re.compile(r"\b(" + "|".join(map(re.escape, CONTRACTORS)) + r")\b", re.I)


def _locality(text: str) -> str | None:
    if m := _LOCALITY_NUM.search(text):
        return m.group(1).zfill(2)
    if m := _STATE_NAMES.search(text):
        return STATES[m.group(1).lower()]
    m = re.search(r"\b(?:in|for)\s+([A-Z]{2})\b(?!-)", text)
    if m and m.group(1) in STATES.values():
        return m.group(1)
    if m := _CITY.search(text):
        return m.group(1).strip()  # "in Manhattan": the fee tool reads locality names
    return None


# -- the rules ------------------------------------------------------------------------------------


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.I) is not None


_POS_WORDS = r"\bplace of service\b|\bpos\b"
_LCD_WORDS = (
    r"\blcds?\b|\blcas?\b|local coverage|coverage determination|billing articles?"
    r"|\bmacs?\b|\bcontractors?\b"
)
_DRG_WORDS = (
    r"\b(?:ms-?)?drgs?\b|\bmcc\b|\bcc\b|\bcc/mcc\b|complication or comorbidity"
    r"|major complication|relative weight|\bgmlos\b|length of stay"
)
_MUE_WORDS = (
    r"\bmues?\b|medically unlikely|max(?:imum)? (?:number of )?units|how many units"
    r"|units of service|units per day"
)
_NCCI_WORDS = (
    r"\bncci\b|\bcci\b|\bptp\b|procedure[- ]to[- ]procedure|\bbundl|unbundl"
    r"|(?:billed?|report(?:ed)?|code[ds]?|submit(?:ted)?|claim(?:ed)?) (?:together|with|alongside)"
    r"|same (?:day|date|session|encounter)|column (?:one|two|1|2)|mutually exclusive"
    r"|\bedits? (?:between|for)\b|\bpair\b"
)
_CROSSWALK_WORDS = (
    r"\bicd[\s-]?9\b|\bgems?\b|general equivalence|cross-?walk|\bmap(?:s|ping|ped)?\b"
    r"|\bconvert|equivalen|\btranslat|\bold code\b"
)
_FEE_WORDS = (
    r"\bfees?\b|fee schedule|\brvus?\b|relative value|\bpay(?:s|ment|ed|able)?\b|\bpaid\b"
    r"|reimburs|allowable|allowed amount|how much|\bgpcis?\b|global (?:period|days|surgery)"
    r"|conversion factor|\bmpfs\b|pc/tc|professional component|technical component"
    r"|status (?:code|indicator)|\blocality\b|\bprice|\bcost|work rvu|\bpfs\b|\brate\b"
    r"|multiple procedure|bilateral (?:surgery|indicator)|assistant (?:at )?surgery|co-?surgeons?"
)
_COVERAGE_WORDS = (
    r"\bcover(?:ed|age|s)?\b|\bbetos\b|pricing indicator|coverage code|\basc\b|\bstatute\b"
    r"|\bnon-?covered\b|\bmedicare\b"
)
_SEVENTH_WORDS = (
    r"\b7th\b|\bseventh\b|\bextensions?\b|episode of care|initial encounter"
    r"|subsequent encounter|\bsequela\b|\bplaceholder\b"
)
_HIERARCHY_WORDS = (
    r"\bparent\b|hierarch|\bchildren\b|\bchild codes?\b|sub-?codes?|subcategor|more specific"
    r"|codes? (?:under|below|beneath)|\bbelongs?\b|\bchapter\b|\bblock\b|\bsiblings?\b"
    r"|which category|what category|\btree\b"
)
_NOTES_WORDS = (
    r"\bexcludes\s?[12]?\b|\bnotes?\b|\bincludes\b|inclusion terms?|code first|use additional"
    r"|code also|instructional|\bconventions?\b|\bexcluded\b"
)
_BILLABLE_WORDS = (
    r"\bbillable\b|\bvalid\b|\breportable\b|\bnon-?billable\b|header code"
    r"|can (?:i|we|you) (?:bill|report|use|code|submit)(?! (?:it |them )?(?:with|together))"
    r"|specific enough|is it complete|complete code|\bspecific\b\?|\bdeleted\b|\bactive\b"
)
_COMPLIANCE_WORDS = (
    r"problem list|\bquery\b|\bqueries\b|\bqueried\b|uncertain|rule[sd]? out|\bprobable\b"
    r"|\bsuspected\b"
    r"|\bpossible\b|\blikely\b|upcod|\baudit|compliance|compliant|medical necessity|\babns?\b"
    r"|advance beneficiary|\blegal\b|\bfraud|\babuse\b|signature|\bscribe|clon(?:e|ing)"
    r"|copy[- ]paste|incident[- ]to|split/shared|split or shared|without documentation"
    r"|not documented|documentation|\bassume\b|radiology report|pathology report"
    r"|lab results?|\bsuperbill|\bcheat sheet|\boig\b|\bhipaa\b|\bphi\b"
)
_GUIDELINE_WORDS = (
    r"guidelines?|\brules?\b|\bconventions?\b|sequenc|principal (?:diagnosis|procedure)"
    r"|first[- ]listed|official guidance|coding clinic|\bhow (?:do|should|would|can) "
    r"(?:i|we|you) (?:choose|select|sequence|report)|\bwhen (?:do|should|can) (?:i|we|you)"
    r"|\bcode first\b|\buse additional\b|\bcode also\b|\bexcludes ?[12]\b|\bnec\b|\bnos\b"
    r"|\bleveling\b|\be/m\b|\bevaluation and management\b|\bmdm\b|medical decision making"
    r"|\bbiopsy\b|root operation|\bapproach\b"
)
_SEARCH_LEAD = re.compile(
    r"^\s*(?:please\s+)?(?:(?:what|which)(?:'s|\s+is|\s+are)?\s+(?:the\s+)?"
    r"(?:right\s+|correct\s+|best\s+|proper\s+)?(?:icd[\s-]?10(?:[\s-]?cm|[\s-]?pcs)?\s+|cpt\s+"
    r"|hcpcs\s+|pcs\s+|diagnosis\s+|dx\s+|procedure\s+|billing\s+)?codes?\s+"
    r"(?:(?:do|should|would|can)\s+(?:i|we|you)\s+use\s+)?(?:for|of|to use for)\s+"
    r"|(?:how\s+(?:do|should|would|can)\s+(?:i|we|you)\s+code|how\s+to\s+code"
    r"|(?:icd[\s-]?10(?:[\s-]?cm|[\s-]?pcs)?|cpt|hcpcs|dx|diagnosis)\s+(?:codes?\s+)?for"
    r"|codes?\s+(?:for|of)|find\s+(?:me\s+)?(?:a\s+|the\s+)?codes?\s+for|look\s?up"
    r"|search(?:\s+for)?|i\s+need\s+(?:a\s+|the\s+)?codes?\s+for|coding)\s+)",
    re.I,
)
_OFF_TOPIC = (
    r"\bweather\b|\bjoke\b|\bstocks?\b|\brecipe\b|\bmovie\b|\bfootball\b|\bsoccer\b"
    r"|\bpresident\b|\bcapital of\b|\bsong\b|\bpoem\b|\bpassword\b|\blottery\b|\bbitcoin\b"
    r"|\bhoroscope\b|\bwho are you\b|\bmeaning of life\b|\bsports?\b|\bnews\b|\btime is it\b"
    # Greetings and thanks: the search would read "hello" as HELLP syndrome.
    r"|^\W*(?:hello|hi|hey|thanks|thank you|thx|good (?:morning|afternoon|evening)|bye|"
    r"goodbye|how are you|ok|okay|cool|great)\b[\s\w]{0,12}\W*$"
)
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|and what about|same for|also|now)\b", re.I
)
_THIS_CODE = re.compile(
    r"\bthis(?: code)?\b|\bthat(?: code)?\b|\bit\b|\bits\b|\bthe code\b|\bthe same code\b", re.I
)
_QUESTION_WORDS = re.compile(
    r"(?<![\w'’])(?:what['’]s|whats|what|which|is|are|the|a|an|of|for|to|in|on|do|does|i|we|you|can|could"
    r"|should|would|please|tell|me|about|describe|explain|code|codes|coding|icd|icd-10|icd10"
    r"|icd-10-cm|icd-10-pcs|cpt|hcpcs|pcs|cm|find|search|look|up|how|with|there|any|my)\b",
    re.I,
)


def _name(lower: str, scan: _Scan, drg: str | None, pos: str | None) -> str:
    codes = scan.codes
    procedures = [c for c in codes if c.procedure]
    if pos or _has(_POS_WORDS, lower):
        return "pos"
    if _has(_LCD_WORDS, lower) or _CONTRACTOR.search(lower):
        return "lcd"
    if drg or _has(_DRG_WORDS, lower):
        return "drg"
    if _has(_MUE_WORDS, lower):
        return "mue"
    if (_has(_NCCI_WORDS, lower) and (codes or _has(r"\bncci\b|\bptp\b|bundl", lower))) or (
        len(procedures) >= 2 and not _has(_FEE_WORDS, lower)
    ):
        return "ncci"
    if _has(_CROSSWALK_WORDS, lower) or any(c.system in (ICD9, ICD9_PCS) for c in codes):
        return "crosswalk"
    if codes and _has(_FEE_WORDS, lower):
        return "fee"  # "RVUs of 71046-26": the priced row, modifier and all
    if scan.modifiers or _MODIFIER_WORD.search(lower):
        return "modifier"
    if _has(_FEE_WORDS, lower):
        return "fee"
    if codes and _has(_SEVENTH_WORDS, lower):
        return "seventh"
    if codes and _has(_HIERARCHY_WORDS, lower):
        return "hierarchy"
    if codes and _has(_NOTES_WORDS, lower):
        return "notes"
    if codes and _has(_BILLABLE_WORDS, lower):
        return "billable"
    if codes and _has(_COVERAGE_WORDS, lower):
        return "coverage"
    if _has(_COMPLIANCE_WORDS, lower) and not _SEARCH_LEAD.match(lower):
        return "compliance"
    if not codes and _has(_SEVENTH_WORDS, lower):
        return "guidelines"
    if _has(r"\bbillable\b|\bnon-?billable\b|\bheader codes?\b", lower):
        return "compliance"
    if codes:
        return "describe"
    if _SEARCH_LEAD.match(lower):
        return "search"
    if _has(_GUIDELINE_WORDS, lower):
        return "guidelines"
    if _has(_COVERAGE_WORDS, lower):
        return "lcd"  # "does Medicare cover acupuncture": the LCDs on the topic
    if _has(_OFF_TOPIC, lower):
        return "unknown"
    return "search" if _content_words(lower) else "unknown"


def _content_words(text: str) -> str:
    words = _QUESTION_WORDS.sub(" ", text)
    words = re.sub(r"[?!.,;:\"“”()]+", " ", words)
    return _SPACE.sub(" ", words).strip()


def _words(text: str, scan: _Scan, name: str) -> str:
    """What to search for or which topic is meant: the question without codes and asking."""
    if name == "search" and (m := _SEARCH_LEAD.match(text)):
        rest = text[m.end() :]
    else:
        rest = text
        for code in scan.codes:
            rest = re.sub(re.escape(code.written), " ", rest, flags=re.I)
        rest = _content_words(rest)
    rest = re.sub(r"[?!]+$|\.$", "", rest.strip())
    return _SPACE.sub(" ", rest).strip(" ,;:")


def route(question: str, context: Context | None = None) -> Intent:
    context = context or Context()
    text = _SPACE.sub(" ", (question or "").strip())
    if not text:
        return Intent("unknown", question or "")
    hints = _Hints.read(text)
    scan = _scan(text, hints)
    lower = text.lower()
    drg = m.group(1).zfill(3) if (m := _DRG.search(text)) else None
    pos = m.group(1).zfill(2) if (m := _POS.search(text)) else None
    name = _name(lower, scan, drg, pos)

    follow_up = False
    previous = _previous_question(context)
    if previous is not None and _FOLLOW_UP.match(text) and name in ("describe", "search"):
        before = route(previous, replace(context, history=()))
        if before.name not in ("unknown", "search"):
            name, follow_up = before.name, True
            # "what about 20611?" after "can 99213 be billed with 20610?": keep the first code.
            keep = 1 if before.name == "ncci" and len(scan.codes) == 1 else len(before.codes)
            if not scan.codes or before.name == "ncci":
                carried = [
                    c for c in before.codes[:keep] if c.code not in {s.code for s in scan.codes}
                ]
                scan.codes[:0] = carried
            if not scan.modifiers:
                scan.modifiers.extend(before.modifiers)

    if context.code and not follow_up:
        name = _with_page_code(text, lower, scan, name, context.code, drg, pos)
    contractor = CONTRACTORS[m.group(1).lower()] if (m := _CONTRACTOR.search(text)) else None
    return Intent(
        name=name,
        question=text,
        codes=tuple(scan.codes),
        words=_words(text, scan, name),
        modifiers=tuple(scan.modifiers),
        system_hint=hints.system,
        locality=_locality(text) if name in ("fee", "lcd") else None,
        contractor=contractor,
        pos=pos,
        drg=drg,
        follow_up=follow_up,
    )


def _with_page_code(
    text: str,
    lower: str,
    scan: _Scan,
    name: str,
    page_code: tuple[str, str],
    drg: str | None,
    pos: str | None,
) -> str:
    """Adds the page's code to `scan` when the question is about it; the intent, re-read."""
    system, code = page_code
    page = CodeRef(code.upper(), code, (system,), from_context=True)
    mentions_page = _THIS_CODE.search(text) is not None
    if any(c.code == page.code for c in scan.codes):
        return name
    if scan.codes and not mentions_page:
        return name  # about other codes: "what is E11.8?" asked from E11.9's page
    if not mentions_page and (
        name in ("guidelines", "lcd", "pos", "compliance", "modifier")
        or (name == "search" and _SEARCH_LEAD.match(lower))
    ):
        return name  # a question of its own that happens to be asked from a code page
    scan.codes.insert(0, page)
    renamed = _name(lower, scan, drg, pos)
    return "describe" if renamed in ("search", "unknown") else renamed


def _previous_question(context: Context) -> str | None:
    for turn in reversed(context.history):
        if turn.role == "user":
            return turn.text
    return None
