"""Abbreviations and lay words coders type, and what the code titles call them.

Two sources: a curated list (below: the abbreviations of daily coding and the lay names patients
use), and abbreviations the data spells out itself, "Human immunodeficiency virus [HIV] disease",
"Chronic obstructive pulmonary disease (COPD)", harvested from titles and inclusion terms when
the letters are the initials of the words before them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from features.case2code.search.text import fold, words

# typed (folded, as words) -> what to search instead (or as well); several alternatives with "|".
CURATED: dict[str, str] = {
    # abbreviations
    "htn": "essential primary hypertension|hypertension|hypertensive",
    "hbp": "essential primary hypertension|hypertension|hypertensive",
    "hypertension": "essential primary hypertension|hypertension",
    # Guideline I.C.4.a.2: diabetes of undocumented type defaults to type 2 (E11.-).
    "diabetes": "diabetes|type 2 diabetes mellitus",
    "dm": "diabetes mellitus",
    "dm1": "type 1 diabetes mellitus",
    "dm 1": "type 1 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "iddm": "type 1 diabetes mellitus",
    "dm2": "type 2 diabetes mellitus",
    "dm 2": "type 2 diabetes mellitus",
    "t2dm": "type 2 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus",
    "dmii": "type 2 diabetes mellitus",
    "ckd": "chronic kidney disease",
    "esrd": "end stage renal disease",
    "aki": "acute kidney failure",
    "arf": "acute kidney failure",
    "copd": "chronic obstructive pulmonary disease",
    "chf": "heart failure",
    "hf": "heart failure",
    "cad": "atherosclerotic heart disease of native coronary artery",
    "ashd": "atherosclerotic heart disease",
    "mi": "myocardial infarction",
    "ami": "acute myocardial infarction",
    "stemi": "st elevation myocardial infarction",
    "nstemi": "non st elevation myocardial infarction",
    "afib": "atrial fibrillation",
    "a fib": "atrial fibrillation",
    "af": "atrial fibrillation",
    "aflutter": "atrial flutter",
    "svt": "supraventricular tachycardia",
    "dvt": "deep vein thrombosis|embolism and thrombosis of deep veins",
    "pe": "pulmonary embolism",
    "cva": "cerebral infarction",
    "tia": "transient cerebral ischemic attack",
    "uti": "urinary tract infection",
    "uri": "acute upper respiratory infection",
    "gerd": "gastro esophageal reflux disease",
    "gi bleed": "gastrointestinal hemorrhage",
    "ibs": "irritable bowel syndrome",
    "ibd": "inflammatory bowel disease|crohn disease|ulcerative colitis",
    "bph": "benign prostatic hyperplasia",
    "osa": "obstructive sleep apnea",
    "ra": "rheumatoid arthritis",
    "oa": "osteoarthritis",
    "djd": "osteoarthritis",
    "sle": "systemic lupus erythematosus",
    "ms": "multiple sclerosis",
    "als": "amyotrophic lateral sclerosis",
    "adhd": "attention deficit hyperactivity disorder",
    "add": "attention deficit disorder",
    "ocd": "obsessive compulsive disorder",
    "ptsd": "post traumatic stress disorder",
    "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder",
    "bmi": "body mass index",
    "hld": "hyperlipidemia",
    "hlp": "hyperlipidemia",
    "pvd": "peripheral vascular disease",
    "pad": "peripheral vascular disease",
    "aaa": "abdominal aortic aneurysm",
    "hiv": "human immunodeficiency virus",
    "rsv": "respiratory syncytial virus",
    "covid": "covid 19",
    "covid19": "covid 19",
    "sob": "shortness of breath",
    "cp": "chest pain",
    "ha": "headache",
    "n v": "nausea with vomiting",
    "abd": "abdominal",
    "lbp": "low back pain",
    "fx": "fracture",
    "lac": "laceration",
    "bx": "biopsy",
    "ca": "malignant neoplasm",
    "hx": "personal history",
    "fh": "family history",
    "sx": "symptom",
    "dx": "diagnosis",
    "tx": "treatment",
    "rx": "drug",
    "etoh": "alcohol",
    "lt": "left",
    "rt": "right",
    "bilat": "bilateral",
    "init": "initial",
    "subseq": "subsequent",
    "pna": "pneumonia",
    "cap": "pneumonia",
    "ards": "acute respiratory distress syndrome",
    "oud": "opioid dependence",
    "aud": "alcohol dependence",
    "cmp": "cardiomyopathy",
    "hocm": "obstructive hypertrophic cardiomyopathy",
    "tka": "knee replacement|presence of artificial knee joint",
    "tha": "hip replacement|presence of artificial hip joint",
    "cabg": "coronary artery bypass",
    "egd": "esophagogastroduodenoscopy",
    "ekg": "electrocardiogram",
    "ecg": "electrocardiogram",
    "mri": "magnetic resonance imaging",
    "ct": "computed tomography",
    "cpap": "continuous positive airway pressure",
    "dme": "durable medical equipment",
    "pt": "physical therapy",
    "ot": "occupational therapy",
    # lay names
    "heart attack": "myocardial infarction",
    "high blood pressure": "essential primary hypertension|hypertension",
    "high cholesterol": "hypercholesterolemia|hyperlipidemia",
    "low blood sugar": "hypoglycemia",
    "high blood sugar": "hyperglycemia",
    "sugar diabetes": "diabetes mellitus",
    "broken": "fracture",
    "broke": "fracture",
    "break": "fracture",
    "wrist": "wrist|carpal|radius lower end",
    "stroke": "cerebral infarction",
    "mini stroke": "transient cerebral ischemic attack",
    "kidney stone": "calculus of kidney",
    "kidney stones": "calculus of kidney",
    "gallstones": "calculus of gallbladder|cholelithiasis",
    "gallstone": "calculus of gallbladder|cholelithiasis",
    "pink eye": "conjunctivitis",
    "flu": "influenza",
    "strep throat": "streptococcal pharyngitis",
    "sore throat": "pharyngitis",
    "heartburn": "heartburn|gastro esophageal reflux disease",
    "acid reflux": "gastro esophageal reflux disease",
    "reflux": "reflux|gastro esophageal reflux disease",
    "chickenpox": "varicella",
    "chicken pox": "varicella",
    "shingles": "zoster",
    "mono": "infectious mononucleosis",
    "whooping cough": "pertussis",
    "lockjaw": "tetanus",
    "german measles": "rubella",
    "bed sore": "pressure ulcer",
    "bedsore": "pressure ulcer",
    "bed sores": "pressure ulcer",
    "sprained": "sprain",
    "twisted ankle": "sprain of ankle",
    "slipped disc": "intervertebral disc displacement",
    "herniated disc": "intervertebral disc displacement",
    "water on the knee": "effusion knee",
    "tennis elbow": "lateral epicondylitis",
    "golfer elbow": "medial epicondylitis",
    "black eye": "contusion of eyelid and periocular area",
    "nosebleed": "epistaxis",
    "nose bleed": "epistaxis",
    "hives": "urticaria",
    "rash": "rash",
    "itching": "pruritus",
    "itchy": "pruritus",
    "hay fever": "allergic rhinitis",
    "cold sore": "herpesviral vesicular dermatitis",
    "common cold": "acute nasopharyngitis",
    "head cold": "acute nasopharyngitis",
    "stomach flu": "gastroenteritis",
    "stomach ache": "abdominal pain",
    "stomachache": "abdominal pain",
    "belly pain": "abdominal pain",
    "tummy ache": "abdominal pain",
    "throwing up": "vomiting",
    "threw up": "vomiting",
    "upset stomach": "dyspepsia",
    "indigestion": "dyspepsia",
    "constipated": "constipation",
    "piles": "hemorrhoids",
    "ear infection": "otitis media",
    "swimmer ear": "otitis externa",
    "sinus infection": "sinusitis",
    "bladder infection": "cystitis",
    "yeast infection": "candidiasis",
    "blood clot": "thrombosis|embolism",
    "blood clot in lung": "pulmonary embolism",
    "clot in leg": "deep vein thrombosis",
    "irregular heartbeat": "cardiac arrhythmia",
    "fast heartbeat": "tachycardia",
    "slow heartbeat": "bradycardia",
    "enlarged prostate": "benign prostatic hyperplasia",
    "underactive thyroid": "hypothyroidism",
    "overactive thyroid": "hyperthyroidism",
    "low thyroid": "hypothyroidism",
    "weak bones": "osteoporosis",
    "brittle bones": "osteoporosis",
    "memory loss": "memory deficit|amnesia",
    "dizziness": "dizziness and giddiness",
    "dizzy": "dizziness and giddiness",
    "fainting": "syncope and collapse",
    "fainted": "syncope and collapse",
    "passed out": "syncope and collapse",
    "seizure": "seizure|epilepsy",
    "fits": "seizure|epilepsy",
    "shortness of breath": "shortness of breath|dyspnea",
    "short of breath": "shortness of breath|dyspnea",
    "trouble breathing": "dyspnea",
    "chest tightness": "chest pain",
    "runny nose": "rhinorrhea",
    "stuffy nose": "nasal congestion",
    "fever": "fever",
    "tired": "fatigue",
    "tiredness": "fatigue",
    "sleeplessness": "insomnia",
    "cant sleep": "insomnia",
    "overweight": "overweight|obesity",
    "obese": "obesity",
    "morbid obesity": "morbid obesity",
    "pregnant": "pregnancy",
    "miscarriage": "spontaneous abortion",
    "morning sickness": "hyperemesis gravidarum|vomiting of pregnancy",
    "hearing loss": "hearing loss",
    "deaf": "deafness|hearing loss",
    "blind": "blindness",
    "pink eyes": "conjunctivitis",
    "lazy eye": "amblyopia",
    "cross eyed": "strabismus",
    "nearsighted": "myopia",
    "farsighted": "hypermetropia",
    "dog bite": "bitten by dog",
    "cat bite": "bitten by cat",
    "bee sting": "contact with hornets wasps and bees",
    "car accident": "motor vehicle accident|car occupant injured",
    "fell": "fall",
    "fall from ladder": "fall from ladder",
    "sunburn": "sunburn",
    "frostbite": "frostbite",
    "concussion": "concussion",
    "whiplash": "sprain of ligaments of cervical spine",
    "torn acl": "sprain of anterior cruciate ligament",
    "acl tear": "sprain of anterior cruciate ligament",
    "rotator cuff tear": "rotator cuff tear or rupture",
    "pulled muscle": "strain of muscle",
    "back pain": "back pain|dorsalgia",
    "lower back pain": "low back pain",
    "neck pain": "cervicalgia",
    "joint pain": "pain in joint",
    "knee pain": "pain in knee",
    "hip pain": "pain in hip",
    "shoulder pain": "pain in shoulder",
    "migraine headache": "migraine",
    "bad headache": "headache",
    "depressed": "depression|depressive",
    "depression": "depression|major depressive disorder",
    "anxious": "anxiety",
    "drunk": "alcohol intoxication",
    "alcoholism": "alcohol dependence",
    "smoker": "nicotine dependence",
    "smoking": "nicotine dependence|tobacco use",
    "vaping": "nicotine dependence",
    "overdose": "poisoning",
    "poisoned": "poisoning",
    "wheelchair": "wheelchair",
    "walker": "walker",
    "crutches": "crutches",
    "oxygen": "oxygen",
    "flu shot": "influenza virus vaccine",
    "flu vaccine": "influenza virus vaccine",
    "checkup": "general adult medical examination",
    "check up": "general adult medical examination",
    "physical exam": "general adult medical examination",
    "well child": "routine child health examination",
}


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(words(text))


def curated() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """The curated list as word tuples: ("heart", "attack") -> [("myocardial", "infarction")]."""
    return {
        _phrase(typed): [_phrase(alt) for alt in expansion.split("|")]
        for typed, expansion in CURATED.items()
    }


_SPELLED_OUT = re.compile(r"([A-Za-z][A-Za-z\- ,']{3,}?)\s*[\[(]([A-Z][A-Za-z0-9]{1,7})[\])]")


def _initials_match(abbreviation: str, long_form: list[str]) -> tuple[str, ...] | None:
    """The last words of `long_form` whose initials spell `abbreviation` ("HIV" <- human
    immunodeficiency virus), small words allowed in between; None when they do not."""
    letters = [c for c in abbreviation.lower() if c.isalpha()]
    if len(letters) < 2:
        return None
    i, picked = len(letters) - 1, []
    for word in reversed(long_form):
        if i < 0:
            break
        if word[0] == letters[i]:
            picked.append(word)
            i -= 1
        elif word in ("of", "and", "the", "in", "to", "with") and picked:
            picked.append(word)
        else:
            return None
    return tuple(reversed(picked)) if i < 0 else None


def harvest(texts: Iterable[str]) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """Abbreviations the data spells out: "... virus [HIV]" -> {("hiv",): [("human", ...)]}."""
    found: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for text in texts:
        if "[" not in text and "(" not in text:
            continue
        for long_form, abbreviation in _SPELLED_OUT.findall(text):
            if not abbreviation.isupper() and not abbreviation[:-1].isupper():
                continue
            expansion = _initials_match(abbreviation, words(long_form))
            if expansion:
                key = (fold(abbreviation),)
                alternatives = found.setdefault(key, [])
                if expansion not in alternatives and len(alternatives) < 4:
                    alternatives.append(expansion)
    return found
