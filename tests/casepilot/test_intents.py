"""The offline engine's router: phrasings to intents, codes and their systems, the page's code,
follow-ups. Pure text: no database."""

from __future__ import annotations

import pytest

from features.casepilot.engine import Context, Turn
from features.casepilot.intents import INTENTS, classify, route

TOPICS = {"codes", "guidelines", "modifiers", "crosswalks", "ncci", "compliance", "coverage"}


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        # codes
        ("What is CPT code 99213?", "describe"),
        ("Describe E11.9", "describe"),
        ("e11.9", "describe"),
        ("What does 0DTJ4ZZ mean?", "describe"),
        ("What is HCPCS J1100?", "describe"),
        ("Is E11 billable?", "billable"),
        ("Can I report E11.99 on a claim?", "billable"),
        ("Is E11.9 valid in FY2026?", "billable"),
        ("What 7th character do I use for S52.501?", "seventh"),
        ("what's the 7th char for S72.001?", "seventh"),
        ("What is the parent of E11.65?", "hierarchy"),
        ("What chapter is I10 in?", "hierarchy"),
        ("What are the excludes1 notes for J45.909?", "notes"),
        ("Code also notes for I10", "notes"),
        # guidelines
        ("Guidelines for E/M services", "guidelines"),
        ("PCS guidelines for biopsy", "guidelines"),
        ("What is the code first rule?", "guidelines"),
        ("What does Excludes1 mean?", "guidelines"),
        ("What does the PCS root operation Excision mean?", "guidelines"),
        # modifiers
        ("What is modifier 25?", "modifier"),
        ("When do I use modifier 59 vs XS?", "modifier"),
        ("RT modifier", "modifier"),
        # crosswalks
        ("ICD-9 250.00 to ICD-10", "crosswalk"),
        ("GEM for E11.9", "crosswalk"),
        ("Map I10 to ICD-9", "crosswalk"),
        ("Crosswalk ICD-9 486", "crosswalk"),
        ("ICD-9 procedure 47.01 to ICD-10-PCS", "crosswalk"),
        # NCCI
        ("Can 99213 be billed with 20610?", "ncci"),
        ("Can 99213-25 be billed with 20610 on the same day?", "ncci"),
        ("Are 29881 and 29877 bundled?", "ncci"),
        ("is 99214 separately payable with 96372 same day", "ncci"),
        ("What is the MUE for 20610?", "mue"),
        ("MUE 99213", "mue"),
        # compliance
        ("Can I code from a problem list?", "compliance"),
        ("Can I code a probable diagnosis in the outpatient setting?", "compliance"),
        ("Is it OK to code a rule out diagnosis?", "compliance"),
        ("Should the physician be queried when PCS documentation is incomplete?", "compliance"),
        # coverage
        ("What is the Medicare fee for 99213?", "fee"),
        ("RVUs for 99214 in Alabama", "fee"),
        ("What is the global period for 27447?", "fee"),
        ("what's the RVU of 71046-26", "fee"),
        ("Is J1100 covered by Medicare?", "coverage"),
        ("LCDs for urine drug testing", "lcd"),
        ("Noridian LCDs about vitamin D", "lcd"),
        ("Is acupuncture covered by Medicare?", "lcd"),
        ("What is place of service 11?", "pos"),
        ("Which POS for telehealth in the patient's home?", "pos"),
        ("Is I50.9 a CC or MCC?", "drg"),
        ("What is the weight of DRG 291?", "drg"),
        # search and unknown
        ("code for type 2 diabetes with CKD", "search"),
        ("type 2 diabetes with chronic kidney disease", "search"),
        ("How do I code a1c of 7.5?", "search"),
        ("pnuemonia", "search"),
        ("What's the weather tomorrow?", "unknown"),
        ("Tell me a joke", "unknown"),
        ("", "unknown"),
        ("   ?  ", "unknown"),
    ],
)
def test_phrasings_route_to_their_intent(question: str, intent: str) -> None:
    assert route(question).name == intent


def test_every_intent_has_a_topic_and_the_seven_topics_are_covered() -> None:
    assert set(INTENTS.values()) >= TOPICS
    assert route("What is modifier 25?").topic == "modifiers"
    assert route("Can 99213 be billed with 20610?").topic == "ncci"


@pytest.mark.parametrize(
    ("token", "code", "systems"),
    [
        ("E11.9", "E119", ("icd-10-cm",)),
        ("e11.9", "E119", ("icd-10-cm",)),
        ("E119", "E119", ("icd-10-cm",)),
        ("S93.402A", "S93402A", ("icd-10-cm",)),
        ("99213", "99213", ("cpt",)),
        ("0591T", "0591T", ("cpt",)),
        ("0DTJ4ZZ", "0DTJ4ZZ", ("icd-10-pcs",)),
        ("J1100", "J1100", ("hcpcs", "icd-10-cm")),
        ("250.00", "25000", ("icd-9-cm",)),
        ("U07.1", "U071", ("icd-10-cm",)),
    ],
)
def test_code_tokens_get_their_systems(token: str, code: str, systems: tuple[str, ...]) -> None:
    ref = classify(token)
    assert ref is not None
    assert (ref.code, ref.systems) == (code, systems)


@pytest.mark.parametrize("token", ["2025", "A1C", "B12", "H1N1", "hello", "E/M", "25", "FY2026"])
def test_words_and_numbers_are_not_codes(token: str) -> None:
    assert classify(token) is None


def test_codes_are_found_in_order_with_their_modifiers() -> None:
    intent = route("Can 99213-25 be billed with 20610 on the same day?")
    assert [c.code for c in intent.codes] == ["99213", "20610"]
    assert intent.modifiers == ("25",)
    assert all(c.procedure for c in intent.codes)


def test_modifier_lists_and_modifiers_before_the_word() -> None:
    assert route("When do I use modifiers 59, XS and XU?").modifiers == ("59", "XS", "XU")
    assert route("What does the RT modifier mean?").modifiers == ("RT",)
    assert route("Is modifier -25 needed?").modifiers == ("25",)
    # English two-letter words beside "modifier" are not modifiers.
    assert route("What is a modifier in CPT?").modifiers == ()


def test_system_words_decide_ambiguous_codes() -> None:
    assert route("What is HCPCS J1100?").codes[0].systems == ("hcpcs", "icd-10-cm")
    assert route("ICD-10-CM code J1100?").codes[0].systems == ("icd-10-cm", "hcpcs")
    assert route("Convert ICD-9 428.0 to ICD-10").codes[0].systems == ("icd-9-cm",)
    assert route("ICD-9 procedure 47.01 to PCS").codes[0].systems == ("icd-9-pcs",)
    assert route("Crosswalk ICD-9 486").codes[0].code == "486"


def test_drg_pos_locality_and_contractor_are_read() -> None:
    assert route("What is the weight of DRG 291?").drg == "291"
    assert route("MS-DRG 65 weight").drg == "065"
    assert route("What is place of service 2?").pos == "02"
    assert route("Fee for 99213 in Alabama").locality == "AL"
    assert route("Fee for 99213 in New York").locality == "NY"
    assert route("Fee for 99213 in locality 1").locality == "01"
    assert route("Noridian LCDs about vitamin D").contractor == "Noridian"
    assert route("LCDs for vitamin D from NGS").contractor == "National Government Services"


def test_search_words_drop_the_asking() -> None:
    assert route("code for type 2 diabetes with CKD").words == "type 2 diabetes with CKD"
    assert route("What is the ICD-10 code for essential hypertension?").words == (
        "essential hypertension"
    )
    assert route("How do I code acute bronchitis?").words == "acute bronchitis"


def test_the_page_code_fills_in_this_code() -> None:
    page = Context(code=("icd-10-cm", "E1122"))
    intent = route("What does this code mean?", page)
    assert intent.name == "describe"
    assert intent.codes[0].code == "E1122" and intent.codes[0].from_context
    assert route("Is it billable?", page).name == "billable"
    assert route("What are the excludes notes?", page).name == "notes"
    assert route("What is its parent?", page).name == "hierarchy"


def test_the_page_code_joins_a_pair_and_stays_out_of_other_questions() -> None:
    page = Context(code=("cpt", "20610"))
    pair = route("Can this be billed with 99213?", page)
    assert pair.name == "ncci"
    assert [c.code for c in pair.codes] == ["20610", "99213"]
    # A question about another code, or about no code, is not about the page's code.
    assert [c.code for c in route("What is E11.8?", page).codes] == ["E118"]
    assert route("Guidelines for E/M services", page).codes == ()
    assert route("code for type 2 diabetes with CKD", page).name == "search"


def test_a_follow_up_keeps_the_intent_before_it() -> None:
    history = Context(history=(Turn("user", "What is the Medicare fee for 99213?"),))
    follow = route("What about 99214?", history)
    assert follow.name == "fee" and follow.follow_up
    assert [c.code for c in follow.codes] == ["99214"]
    pair = Context(history=(Turn("user", "Can 99213 be billed with 20610?"),))
    assert [c.code for c in route("And 20611?", pair).codes] == ["99213", "20611"]
    same = route("And in New York?", history)
    assert same.name == "fee" and [c.code for c in same.codes] == ["99213"]
    assert same.locality == "NY"


def test_routing_is_deterministic() -> None:
    question = "Can 99213-25 be billed with 20610 in Alabama?"
    assert route(question) == route(question)
