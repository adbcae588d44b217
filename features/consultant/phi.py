"""PHI guard: find and redact personal health information in a submitted case before it is stored.

`redact(text)` returns the text with each finding replaced by a typed placeholder ("[NAME]",
"[DOB]", ...) and the findings themselves. `summary(redaction)` turns the findings into short
lines for the submitter ("2 names", "1 date of birth").

What a Finding holds, and why: its kind, a human label and the start/end offsets in the ORIGINAL
text. It never holds the value, nor a masked hint of it: partial masks (initials, the year of a
date of birth, the last four of an SSN) are identifying in combination, and a Finding may be
stored or logged next to the redacted case. The submitter still has their own text in the form,
so the UI can highlight what was taken out from the offsets, and otherwise shows the placeholders
in the redacted text plus `summary()` counts.

Design: rule-based, tuned to clinical and coding text. Every detector leans towards a label or an
unambiguous shape (an SSN, an email), because over-redacting codes, doses or lab values would
spoil the case for coding. What it cannot catch is listed in the module's "Limits" below.

Limits (it will miss):
- names with no cue: not after a patient/name label, "pt"/"patient", Mr/Mrs/Ms or "Re:" (two
  words there), and not a repeat of a name found that way ("John was taken to the OR" alone);
  relatives' names in prose ("his wife, Mary"); an all-capitals name with no label;
- providers' and facilities' names (not the patient's identifiers, kept on purpose);
- dates with month and year only ("March 2024"), bare years, month/day with no year unless after
  "on"/"dated"/"DOS" ("3/14" alone could be a ratio), and ages (including over 89);
- numbers with no label: an MRN, account, policy or member ID that is just a number;
- unlabelled phone numbers without separators ("5551234567"), unlabelled 7-digit local numbers,
  and non-US formats;
- addresses without a house number and a street suffix, a "City, ST 12345" tail, a P.O. box or
  an "Address:" label; a ZIP code on its own; non-US postcodes;
- other identifiers: URLs, IP addresses, licence, device and vehicle numbers, photos.
(Attachment file names are not guarded here: features/consultant/filenames.py keeps only their
document words, since a name there has no cue at all.)
It also over-redacts on purpose in one way: once a name is found, every other occurrence of its
words is redacted, so a patient called Bell turns "Bell's palsy" into "[NAME]'s palsy".
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# kind -> (singular label, plural label). The order is the order of summary lines.
_LABELS: dict[str, tuple[str, str]] = {
    "name": ("name", "names"),
    "dob": ("date of birth", "dates of birth"),
    "mrn": ("medical record number", "medical record numbers"),
    "account": ("account number", "account numbers"),
    "ssn": ("social security number", "social security numbers"),
    "phone": ("phone number", "phone numbers"),
    "email": ("email address", "email addresses"),
    "address": ("street address", "street addresses"),
    "date": ("date", "dates"),
}

# When two candidate spans overlap, the earlier kind here wins: a labelled identifier is surer
# than a shape (an account number that looks like a date is an account number).
_PRECEDENCE = ("email", "ssn", "mrn", "account", "dob", "phone", "address", "date", "name")

PLACEHOLDERS: dict[str, str] = {kind: f"[{kind.upper()}]" for kind in _LABELS}


@dataclass(frozen=True)
class Finding:
    """One redacted span: where it was in the original text and what kind it was, never the
    value itself."""

    kind: str
    start: int
    end: int
    label: str

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


@dataclass(frozen=True)
class Redaction:
    text: str
    findings: tuple[Finding, ...]

    @property
    def found(self) -> bool:
        return bool(self.findings)


_Span = tuple[str, int, int]

_SP = r"[^\S\n]"  # whitespace that stays on the line: labels and values share a line
_SEP = rf"{_SP}*(?:(?:is|was|of){_SP}+)?[:#=]?{_SP}*#?{_SP}*"

# --- simple shapes ---------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

_SSN_BARE = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_SSN_LABELLED = re.compile(
    rf"(?i:\b(?:SSN|SS{_SP}*#|SS{_SP}*No\b\.?|social{_SP}+security(?:{_SP}+(?:number|no\b\.?|\#))?)){_SEP}"
    r"(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4}|[X*]{3}-[X*]{2}-\d{4})(?![\w-])"
)

_EXT = rf"(?:{_SP}*(?:x|ext\.?){_SP}*\d{{1,5}})?"
_PHONE_BARE = (
    re.compile(rf"(?<![\w+])(?:\+?1[ .-]?)?\(\d{{3}}\){_SP}?\d{{3}}[ .-]\d{{4}}(?!\d){_EXT}"),
    re.compile(rf"(?<![\w.+-])(?:\+?1[ .-])?\d{{3}}[.-]\d{{3}}[.-]\d{{4}}(?![\w-]){_EXT}"),
    re.compile(rf"(?<![\w+])\+1[ .-]?\d{{3}}[ .-]?\d{{3}}[ .-]?\d{{4}}(?!\d){_EXT}"),
)
_PHONE_LABELLED = re.compile(
    rf"(?i:\b(?:phone|ph|tel|telephone|cell|mobile|home|work|fax|contact){_SP}*\.?"
    rf"(?:{_SP}*(?:\#|no\b\.?|number|phone))?){_SEP}"
    rf"(?P<v>(?:\+?1[ .-]?)?(?:\(\d{{3}}\){_SP}?|\d{{3}}[ .-]?)?\d{{3}}[ .-]?\d{{4}})(?!\d){_EXT}"
)

# --- labelled numbers ------------------------------------------------------------------------

# A value must hold a digit so "MRN pending" or "claim number unknown" stay as they are. Groups
# of three or more digits after it belong to it ("MRN 123 456 789"); "MRN 123456 55 y/o" keeps
# the age.
_ID_VALUE = (
    rf"(?P<v>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{{2,24}}(?:{_SP}\d{{3,6}}(?!\w)){{0,4}})"
    r"(?![\w-])"
)

_MRN = re.compile(
    rf"(?i:\bMRN\b|\bMR{_SP}*\#|\bMR{_SP}*(?:No|Num(?:ber)?)\b\.?"
    rf"|\bmedical{_SP}+record(?:{_SP}+(?:number|num|no\b\.?|\#))?"
    rf"|\bchart{_SP}*(?:\#|no\b\.?|number\b)|\b(?:patient|pt){_SP}*(?:ID\b|\#)"
    rf"|\bunit{_SP}+(?:number|no\b\.?)|\bhealth{_SP}+record{_SP}+(?:number|\#))"
    rf"{_SEP}{_ID_VALUE}"
)

_ACCOUNT = re.compile(
    r"(?i:\b(?:acct|account|claim|policy|member|subscriber|beneficiary|insurance|encounter"
    r"|medicare|medicaid|MBI|HICN"
    rf"|billing|invoice|visit|FIN|HAR|CSN|ICN|DCN)\.?{_SP}*(?:\#|no\b\.?|num(?:ber)?\b|id\b)"
    rf"|\bacct\b\.?|\baccount(?={_SP}*:)|\b(?:FIN|HAR|CSN|MBI|HICN)\b){_SEP}{_ID_VALUE}"
)

# --- dates -----------------------------------------------------------------------------------

_MONTH_NAMES = (
    "January February March April May June July August September October November December"
)
_MONTHS = _MONTH_NAMES.split()


def _month_pattern(*, upper_abbr: bool) -> str:
    """Title-case names and abbreviations, upper-case full names; upper-case abbreviations only
    where the shape is strict ("02-JAN-2024"), because "MAR" is also the medication record."""
    forms: list[str] = []
    for full in _MONTHS:
        forms += [full, full.upper(), full[:3]]
        if upper_abbr:
            forms.append(full[:3].upper())
    forms += ["Sept", "SEPT"] if upper_abbr else ["Sept"]
    forms.sort(key=len, reverse=True)
    return "(?:" + "|".join(forms) + r")\b\.?"


_MON = _month_pattern(upper_abbr=False)
_MON_STRICT = _month_pattern(upper_abbr=True)
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<y>(?:1[89]|20)\d\d)"
_NOT_AMOUNT = r"(?![\d:.,]\d|\d|" + _SP + r"*(?:mg|mcg|ml|mL|units?|tabs?|%)\b)"

_DATES_NAMED = (
    # March 3, 1960 / Jan 2 2024 / on March 3
    re.compile(
        rf"\b{_MON}{_SP}+{_DAY}\b(?:(?:,{_SP}*|{_SP}+){_YEAR}\b)?" + _NOT_AMOUNT,
    ),
    # 2 January 2024 / 3rd of March, 1960
    re.compile(rf"\b{_DAY}{_SP}+(?:of{_SP}+)?{_MON}(?:,?{_SP}+){_YEAR}\b"),
    # the 2nd of January (no year, but the ordinal and "of" make it a date)
    re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th){_SP}+of{_SP}+{_MON}"),
    # 02-JAN-2024, 2 Jan 24
    re.compile(rf"\b{_DAY}[- ]{_MON_STRICT}[- ](?P<y>\d{{4}}|\d{{2}})\b"),
)
# The same separator twice ("1/2/24", "1-2-24"); the guards keep "E11.9", "140/90" and versions.
_DATE_MDY = re.compile(
    r"(?<![\w/.-])(?P<a>\d{1,2})(?P<s>[/.-])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?![\w/]|\.\d)"
)
_DATE_YMD = re.compile(
    r"(?<![\w/.-])(?P<y>(?:19|20)\d\d)(?P<s>[/.-])(?P<a>\d{1,2})(?P=s)(?P<b>\d{1,2})(?![\d/]|\.\d)"
)
# Month/day without a year only right after "on"/"dated"/"DOS": bare "3/4" is strength or a dose.
_DATE_MD = re.compile(
    rf"(?i:\b(?:on|dated|DOS:?|date{_SP}+of{_SP}+service:?)){_SP}+"
    rf"(?P<v>(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}}))(?![\d/]|\.\d|{_SP}*(?:tabs?|tablets?|caps?|of|strength|pain|scale)\b)"
)
_DOB_CUE = re.compile(
    rf"(?i:(?:\bDOB|\bD\.O\.B\.?|\bdate{_SP}+of{_SP}+birth|\bbirth{_SP}*date|\bbirthday"
    rf"|\bborn(?:{_SP}+on)?|\bb\.){_SP}*[:#-]?{_SP}*(?:(?:is|of){_SP}+)?)$"
)

# --- addresses -------------------------------------------------------------------------------

_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
)
_STATE = "(?:" + "|".join(_STATE_CODES.split()) + ")"
_ZIP = r"\d{5}(?:-\d{4})?"
# "Path", "Loop" and "CT"/"DR" in capitals are left out: "88305 Surgical Path", "74177 ABDOMEN
# PELVIS CT" are a code and its descriptor, not an address.
# "Dr" before a capitalised word is a title ("Office Visit Dr Lee"), unless the word is a unit.
_DR = rf"Dr(?!\.?{_SP}+(?!(?:Apt|Unit|Suite|Ste)\b)[A-Z])"
_SUFFIX_TITLE = (
    rf"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|{_DR}"
    r"|Lane|Ln|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Trail|Trl"
    r"|Square|Sq|Pike|Alley|Plaza)\b\.?"
)
_SUFFIX_CAPS = (
    r"(?:STREET|ST|AVENUE|AVE|ROAD|RD|BOULEVARD|BLVD|DRIVE|LANE|LN|COURT|WAY|PLACE|PL|TERRACE"
    r"|CIRCLE|CIR|PARKWAY|PKWY|HIGHWAY|HWY|TRAIL|SQUARE|PIKE|PLAZA)\b\.?"
)
_UNIT = (
    rf"(?:,?{_SP}*(?:(?:Apt|APT|Apartment|Unit|UNIT|Suite|STE|Ste|Bldg|Fl|Floor|Rm|Room)\b\.?|\#)"
    rf"{_SP}*\#?{_SP}*[A-Za-z0-9-]+)?"
)
_HOUSE = r"(?<![\w.,/#:-])\d{1,6}[A-Z]?"
_DIRECTION = rf"(?:{_SP}+(?:[NSEW]|NE|NW|SE|SW|North|South|East|West)\.?)?"
_CITY_TITLE = rf"[A-Z][a-z]+(?:{_SP}+[A-Z][a-z]+){{0,2}}"
_CITY_CAPS = rf"[A-Z]{{2,}}(?:{_SP}+[A-Z]{{2,}}){{0,2}}"


def _street(word: str, suffix: str, city: str) -> re.Pattern[str]:
    tail = rf"(?:,{_SP}*{city},?{_SP}+{_STATE}\b(?:{_SP}+{_ZIP})?)?"
    return re.compile(
        rf"{_HOUSE}{_DIRECTION}(?:{_SP}+(?:\d{{1,3}}(?:st|nd|rd|th|ST|ND|RD|TH)|{word})){{1,4}}"
        rf"{_SP}+{suffix}{_UNIT}{tail}"
    )


_STREETS = (
    _street(r"[A-Z][a-z][A-Za-z'’-]*", _SUFFIX_TITLE, _CITY_TITLE),
    _street(r"[A-Z][A-Z'’-]+", _SUFFIX_CAPS, _CITY_CAPS),
)
_CITY_STATE_ZIP = re.compile(rf"\b(?:{_CITY_TITLE}|{_CITY_CAPS}),{_SP}*{_STATE}{_SP}+{_ZIP}\b")
_PO_BOX = re.compile(rf"(?i:\bP\.?{_SP}?O\.?{_SP}+Box{_SP}+\d+\b)")
_ADDRESS_LABEL = re.compile(
    rf"(?im:(?<![\w-])(?:(?:home|street|mailing|patient|pt|residential){_SP}+)?(?:address|addr\.?){_SP}*:{_SP}*"
    rf"(?P<v>[^\n]{{3,160}}?)(?={_SP}*(?:$|[;|]|\b(?:phone|tel|cell|e-?mail|DOB|MRN|SSN)\b)))"
)
_NOT_STREET_ADDRESS = re.compile(rf"(?i:\b(?:e-?mail|ip|web|mac|url){_SP}*$)")

# --- names -----------------------------------------------------------------------------------

# Capitalised words that follow a name cue in clinical text but are not names. Compared in
# lower case. A word directly followed by ":" is treated as the next label whatever it is.
_NOT_NAME_WORDS = """
    a an and or the of in on at to with without for from by as is was has had have who which that
    this he she they his her their it its not no yes none unknown pending na n/a self
    name names full first last middle legal preferred number id record records medical chart
    dob d.o.b mrn ssn dos age sex gender male female man woman boy girl m f y/o yo yr yrs year years
    old month months day days week weeks date time room bed unit floor account acct phone address
    email contact emergency kin relationship insurance insured plan member group policy claim
    medicare medicaid payer subscriber guarantor primary secondary
    presents presented presenting reports reported reporting denies denied states stated complains
    tolerated tolerates underwent undergoes returns returned arrived arrives admitted discharged
    seen here there now today transferred taken brought placed positioned prepped draped
    identified identification identity verified consented consent education history information
    instructions position positioning status type class care safety label note notes complaint
    summary plan assessment diagnosis diagnoses procedure procedures surgeon surgery anesthesia
    provider physician doctor dr nurse rn np pa md do hospital clinic facility department
    signature signed level visit encounter alert awake oriented stable unstable critical
    controlled analgesia evaluation exam examination history physical hpi ros chief cc
    left right bilateral anterior posterior lateral medial upper lower
    mr mrs ms miss mx re regarding case redacted anonymous deidentified de-identified patient pt
    portal location demographics weight height allergies medications self-pay comfort measures
    rights satisfaction experience advocate transport fwd fw op
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_LETTER = r"[^\W\d_]"  # any script's letter: "José" must not leave "é" behind
# A name word: "O'Brien", "Garcia-Lopez"; a possessive "'s" is not part of it.
_WORD = rf"{_LETTER}(?:{_LETTER}|['’-](?={_LETTER})(?![sS]\b))*"
_NAME_TOKEN = re.compile(rf"{_WORD}\.?")
_HONORIFIC = re.compile(rf"(?:Mr|Mrs|Ms|Miss|Mx)\.?{_SP}+")
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Endings of English words ("Patient Stated", "Patient Education"), checked after a bare
# "patient"/"pt" cue or "Re:", where a capitalised verb or noun is likelier than after a label.
_ENGLISH_ENDING = re.compile(
    r"(?:.{4}ed|tion|sion|ment|ness|ity|ive|ous|ful|ally|ing"
    r"|scopy|ectomy|otomy|ostomy|plasty|itis|osis|graphy|gram|algia|emia|pathy|oma)$"
)
# Topics that follow "Re:" or "patient" in title case ("Re: Knee Pain") but are not names. Kept
# apart from _NOT_NAMES so that a labelled "Patient: John Hand" is still a name.
_TOPIC_TEXT = """
    knee hip shoulder spine back neck chest abdomen heart lung liver kidney skin eye ear head hand
    foot ankle wrist elbow arm leg breast colon cardiac pain fracture injury office new established
    consult consultation question questions coding code codes modifier denial appeal billing
    inpatient outpatient emergency urgent wellness annual preventive will
"""
_TOPIC_WORDS = frozenset(_TOPIC_TEXT.split())

_LABELLED, _TITLED, _CUED, _SUBJECT = "labelled", "titled", "cued", "subject"

_NAME_LABEL = re.compile(
    rf"(?:\b(?:[Pp]atient|PATIENT)(?:['’]s)?(?:{_SP}+(?:(?:[Ff]ull|[Ll]egal){_SP}+)?(?:[Nn]ame|NAME))?"
    rf"|\b(?:[Pp]t|PT){_SP}*\.?{_SP}*(?:[Nn]ame|NAME)|\b[Pp]t\.?"
    rf"|(?i:\b(?:(?:full|first|last|middle|legal|preferred){_SP}+name|name"
    rf"|(?:member|insured|subscriber|guarantor){_SP}+name|insured|subscriber|guarantor|guardian"
    rf"|next{_SP}+of{_SP}+kin|emergency{_SP}+contact|responsible{_SP}+party)\b)){_SP}*:{_SP}*"
)
_NAME_CUE = re.compile(
    rf"\b(?:[Pp]atient|PATIENT|[Pp]t\.?)(?:{_SP}+[Nn]ame)?(?:,?{_SP}+|{_SP}*,{_SP}*)(?={_LETTER})"
)
_NAME_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?{_SP}+(?={_LETTER})")
# A mail subject or a letter's "Re:" line often names the patient ("Re: John Smith's op note").
# Title-case topics are common there too ("Re: Office Visit"), so two name words are required.
_NAME_SUBJECT = re.compile(rf"(?:^|(?<=\s))(?:Re|RE|Fwd|FWD|Fw|FW){_SP}*:{_SP}*(?={_LETTER})")
# "Procedure name:", "Surgeon name:" are not the patient's; only these may stand before "name:".
_NAME_OWNERS = frozenset(
    {"patient", "patient's", "pt", "full", "first", "last", "middle", "legal", "preferred"}
    | {"member", "insured", "subscriber", "guarantor"}
)
_WORD_BEFORE = re.compile(rf"({_LETTER}[^\W\d_'’]*){_SP}*$")
_NAME_GAP = re.compile(rf"{_SP}+|,{_SP}*")


def _scan_name(text: str, pos: int, mode: str) -> tuple[int, int] | None:
    """The span of a person's name starting at pos (after an optional Mr/Mrs/Ms), or None."""
    honorific = _HONORIFIC.match(text, pos)
    start = cursor = honorific.end() if honorific else pos
    end, words, used_comma = None, 0, False
    while words < 4:
        token = _NAME_TOKEN.match(text, cursor)
        if token is None or not _is_name_word(text, token, mode):
            break
        bare = token.group().rstrip(".")
        keeps_dot = len(bare) == 1 or bare.lower() in _SUFFIXES
        end = token.end() if keeps_dot else token.start() + len(bare)
        words += len(bare) > 1
        gap = _NAME_GAP.match(text, end)
        if gap is None:
            break
        if "," in gap.group():
            # Only "Doe, Jane" (one word then a comma) is a name; "John Smith, DOB ..." is not.
            if used_comma or words != 1:
                break
            used_comma = True
        cursor = gap.end()
    enough = 2 if mode == _SUBJECT else 1
    return (start, end) if end is not None and words >= enough else None


def _is_name_word(text: str, token: re.Match[str], mode: str) -> bool:
    bare = token.group().rstrip(".")
    after = text[token.start() + len(bare) : token.start() + len(bare) + 1]
    if not bare[0].isupper() or after == ":":
        return False
    if len(bare) == 1:
        # An initial ("SMITH, JOHN A"); a bare M or F after a name is more likely the sex.
        return bare not in "MF" or token.group().endswith(".")
    if bare.lower() in _NOT_NAMES:
        return False
    if bare.isupper():
        # Capitals are names only under a label ("Patient: SMITH, JOHN"); elsewhere "pt NPO".
        return mode == _LABELLED
    if mode in (_LABELLED, _TITLED):
        return True
    return bare.lower() not in _TOPIC_WORDS and not _ENGLISH_ENDING.search(bare.lower())


def _names(text: str) -> Iterator[_Span]:
    cues = (
        (_NAME_LABEL, _LABELLED),
        (_NAME_CUE, _CUED),
        (_NAME_TITLE, _TITLED),
        (_NAME_SUBJECT, _SUBJECT),
    )
    for pattern, mode in cues:
        for match in pattern.finditer(text):
            if mode == _LABELLED and _owned_by_someone_else(text, match):
                continue
            span = _scan_name(text, match.end(), mode)
            if span:
                yield "name", span[0], span[1]


def _owned_by_someone_else(text: str, match: re.Match[str]) -> bool:
    label = match.group().strip(" \t:").lower()
    if label != "name":
        return False
    line_start = text.rfind("\n", 0, match.start()) + 1
    before = _WORD_BEFORE.search(text, line_start, match.start())
    return before is not None and before.group(1).lower() not in _NAME_OWNERS


def _name_repeats(text: str, names: Iterable[_Span]) -> Iterator[_Span]:
    """Every other place a found name's words appear: "Mr. Smith" later in the note."""
    words: set[str] = set()
    for _, start, end in names:
        for word in re.findall(_WORD, text[start:end]):
            if len(word) < 2 or word.lower() in _NOT_NAMES or word.lower() in _SUFFIXES:
                continue
            words |= {word, word.upper(), word.capitalize() if word.isupper() else word}
    if not words:
        return
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternation})(?:{_SP}+(?:{alternation}))*\b")
    for match in pattern.finditer(text):
        yield "name", match.start(), match.end()


# --- detectors -------------------------------------------------------------------------------


def _value_spans(kind: str, pattern: re.Pattern[str], text: str) -> Iterator[_Span]:
    for match in pattern.finditer(text):
        yield kind, match.start("v"), match.end("v")


def _whole_spans(kind: str, patterns: Iterable[re.Pattern[str]], text: str) -> Iterator[_Span]:
    for pattern in patterns:
        for match in pattern.finditer(text):
            yield kind, match.start(), match.end()


def _phones(text: str) -> Iterator[_Span]:
    yield from _whole_spans("phone", _PHONE_BARE, text)
    for match in _PHONE_LABELLED.finditer(text):
        yield "phone", match.start("v"), match.end()


def _addresses(text: str) -> Iterator[_Span]:
    yield from _whole_spans("address", (*_STREETS, _CITY_STATE_ZIP, _PO_BOX), text)
    for match in _ADDRESS_LABEL.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _NOT_STREET_ADDRESS.search(text, line_start, match.start()):
            continue
        yield "address", match.start("v"), match.end("v")


def _plausible_day_month(a: int, b: int) -> bool:
    """US month/day first, but a day-first date (25/12/2024) is a date too."""
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


def _dates(text: str) -> Iterator[_Span]:
    for match in _DATE_MDY.finditer(text):
        dotted_short = match.group("s") == "." and len(match.group("y")) == 2
        if not dotted_short and _plausible_day_month(int(match["a"]), int(match["b"])):
            yield _date_or_dob(text, match.start(), match.end())
    for match in _DATE_YMD.finditer(text):
        if 1 <= int(match["a"]) <= 12 and 1 <= int(match["b"]) <= 31:
            yield _date_or_dob(text, match.start(), match.end())
    for match in _DATE_MD.finditer(text):
        if _plausible_day_month(int(match["a"]), int(match["b"])):
            yield _date_or_dob(text, match.start("v"), match.end("v"))
    for pattern in _DATES_NAMED:
        for match in pattern.finditer(text):
            if 1 <= int(match["d"]) <= 31:
                yield _date_or_dob(text, match.start(), match.end())


def _date_or_dob(text: str, start: int, end: int) -> _Span:
    before = text[max(0, start - 40) : start]
    return ("dob" if _DOB_CUE.search(before) else "date"), start, end


def _candidates(text: str) -> Iterator[_Span]:
    yield from _whole_spans("email", (_EMAIL,), text)
    yield from _whole_spans("ssn", (_SSN_BARE,), text)
    yield from _value_spans("ssn", _SSN_LABELLED, text)
    yield from _value_spans("mrn", _MRN, text)
    yield from _value_spans("account", _ACCOUNT, text)
    yield from _phones(text)
    yield from _addresses(text)
    yield from _dates(text)
    yield from _names(text)


def _resolve(spans: Iterable[_Span]) -> list[_Span]:
    """Keep non-overlapping spans, preferring the surer kind, then the longer span."""
    rank = {kind: i for i, kind in enumerate(_PRECEDENCE)}
    ordered = sorted(set(spans), key=lambda s: (rank[s[0]], s[1] - s[2], s[1]))
    # Kept spans never overlap, so sorted by start they are sorted by end too: a new span need
    # only be checked against its two neighbours (a long note can have thousands of findings).
    kept: list[_Span] = []
    starts: list[int] = []
    for span in ordered:
        _, start, end = span
        at = bisect.bisect_right(starts, start)
        if (
            start >= end
            or (at and kept[at - 1][2] > start)
            or (at < len(kept) and kept[at][1] < end)
        ):
            continue
        kept.insert(at, span)
        starts.insert(at, start)
    return kept


# --- public API ------------------------------------------------------------------------------


def redact(text: str) -> Redaction:
    """Find PHI in text and replace each finding with its placeholder."""
    found = _resolve(_candidates(text))
    names = [span for span in found if span[0] == "name"]
    if names:
        # A second pass so that repeats ("Smith tolerated ...") never outrank a surer finding.
        found = _resolve([*found, *_name_repeats(text, names)])
    pieces: list[str] = []
    cursor = 0
    for kind, start, end in found:
        pieces += [text[cursor:start], PLACEHOLDERS[kind]]
        cursor = end
    pieces.append(text[cursor:])
    findings = tuple(Finding(kind, start, end, _LABELS[kind][0]) for kind, start, end in found)
    return Redaction(text="".join(pieces), findings=findings)


def summary(redaction: Redaction) -> list[str]:
    """Human lines for the submitter, one per kind found: ["2 names", "1 date of birth"]."""
    counts = Counter(finding.kind for finding in redaction.findings)
    lines: list[str] = []
    for kind, (singular, plural) in _LABELS.items():
        if counts[kind]:
            lines.append(f"{counts[kind]} {singular if counts[kind] == 1 else plural}")
    return lines
