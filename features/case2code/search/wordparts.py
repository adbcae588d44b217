"""Medical words read from their parts, for the words the catalog does not use.

Coders type "nephrectomy", "splenectomy", "laryngoplegia", "enterostenosis"; ICD-10-PCS says
"Resection of Right Kidney", ICD-10-CM "Paralysis of vocal cords and larynx", "Other intestinal
obstruction". A word made of a combining form (nephr-o-, laryng-o-) and an ending (-ectomy,
-plegia), or of a combining form and a word the catalog knows (entero-stenosis,
cerebro-venous), is read as the words its parts mean. Only a word the index does not hold is
read this way, into words it does hold; the table below is this project's, from the standard
medical terminology of combining forms.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

Name = tuple[str, ...]

# Combining form (without its linking vowel) -> what the catalog calls the part.
# fmt: off
FORMS: dict[str, tuple[str, ...]] = {
    "aden": ("gland",), "angi": ("vessel",), "arteri": ("artery",), "arthr": ("joint",),
    "blephar": ("eyelid",), "bronch": ("bronchus",), "cardi": ("heart",),
    "cerebr": ("cerebral",), "cervic": ("cervix",), "cholangi": ("bile duct",),
    "cholecyst": ("gallbladder",), "chondr": ("cartilage",), "col": ("colon",),
    "colon": ("colon",), "colp": ("vagina",), "cost": ("rib",), "crani": ("skull",),
    "cyst": ("bladder",), "dacryocyst": ("lacrimal sac",), "derm": ("skin",),
    "dermat": ("skin",), "duoden": ("duodenum",), "encephal": ("brain",),
    "enter": ("intestine", "intestinal"), "esophag": ("esophagus",), "gastr": ("stomach",),
    "gingiv": ("gingiva",), "gloss": ("tongue",), "hepat": ("liver",), "herni": ("hernia",),
    "hyster": ("uterus",),
    "ile": ("ileum",), "jejun": ("jejunum",), "kerat": ("cornea",),
    "lapar": ("abdominal",), "laryng": ("larynx",), "mast": ("breast",),
    "mamm": ("breast",), "mening": ("meninges",), "nephr": ("kidney",), "neur": ("nerve",),
    "ocul": ("eye",), "onych": ("nail",), "oophor": ("ovary",), "ophthalm": ("eye",),
    "orchi": ("testis",), "oste": ("bone",), "pancreat": ("pancreas",),
    "pharyng": ("pharynx",), "phleb": ("vein",), "pneum": ("lung",), "pneumon": ("lung",),
    "proct": ("rectum",), "prostat": ("prostate",), "pyel": ("renal pelvis",),
    "rhin": ("nose",), "salping": ("fallopian tube",), "splen": ("spleen",),
    "spondyl": ("vertebra",), "stomat": ("mouth",), "thorac": ("thorax",),
    "thyroid": ("thyroid",), "tonsill": ("tonsil",), "trache": ("trachea",),
    "ureter": ("ureter",), "urethr": ("urethra",), "uter": ("uterus",), "ven": ("vein",),
    "vesic": ("bladder",), "micr": ("hypoplasia",), "myel": ("spinal cord",),
}
# Ending -> what the catalog calls the operation or the condition.
ENDINGS: dict[str, tuple[str, ...]] = {
    "ectomy": ("resection", "excision"), "otomy": ("incision", "drainage"),
    "ostomy": ("bypass",), "plasty": ("repair", "replacement"), "rrhaphy": ("repair",),
    "pexy": ("reposition",), "scopy": ("inspection",), "centesis": ("drainage",),
    "lysis": ("release",), "tripsy": ("fragmentation",), "algia": ("pain",),
    "plegia": ("paralysis",), "paresis": ("paralysis",), "megaly": ("enlargement",),
    "pathy": ("disease", "disorder"), "rrhagia": ("hemorrhage",), "rrhage": ("hemorrhage",),
    "lithiasis": ("calculus",), "stenosis": ("stenosis", "obstruction"),
    "cele": ("prolapse", "hernia"),
}
# fmt: on
LINKING = ("o", "i", "")
MIN_REST = 4  # the known word after a combining form: "penis", not "is"
MAX_ALTERNATIVES = 4
MIN_KIND = 6  # a word left when a form is left out: "pyothorax", not "itis"


def _forms(part: str) -> tuple[str, ...] | None:
    """What a run of letters names when it is one combining form (with its linking vowel)."""
    for vowel in LINKING:
        if vowel and part.endswith(vowel) and part[: -len(vowel)] in FORMS:
            return FORMS[part[: -len(vowel)]]
    return FORMS.get(part)


def decompose(word: str, known: Callable[[str], bool]) -> list[Name]:
    """The names `word` stands for, read from its parts, whose words are all `known`; []
    when it does not come apart so."""
    found: list[Name] = _without_a_form(word, known)
    for ending in sorted(ENDINGS, key=len, reverse=True):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            root = _forms(word[: -len(ending)])
            if root:
                found.extend(_names(root, ENDINGS[ending]))
            break
    for cut in range(len(word) - MIN_REST, 2, -1):
        head, rest = word[:cut], word[cut:]
        if known(rest) and (forms := _forms(head)):
            found.extend(_names(forms, (rest,)))
            break
    kept: list[Name] = []
    for name in found:
        if name not in kept and all(known(w) for w in name):
            kept.append(name)
    return kept[:MAX_ALTERNATIVES]


def _without_a_form(word: str, known: Callable[[str], bool]) -> list[Name]:
    """The known words `word` is with one of its inner combining forms left out: the kind of
    thing it is ("pyopneumothorax" is a pyothorax, "encephalomyelocele" an encephalocele). A
    leading form is read, not dropped: "cerebrovenous" is cerebral venous, not any venous."""
    found: list[Name] = []
    for form in FORMS:
        for vowel in LINKING:
            part = form + vowel
            at = word.find(part, 1)
            while at >= 0:
                rest = word[:at] + word[at + len(part) :]
                if len(rest) >= MIN_KIND and (rest,) not in found and known(rest):
                    found.append((rest,))
                at = word.find(part, at + 1)
    return found


def _names(parts: tuple[str, ...], meanings: tuple[str, ...]) -> list[Name]:
    return [
        (*part.split(), *meaning.split()) for part, meaning in itertools.product(parts, meanings)
    ]
