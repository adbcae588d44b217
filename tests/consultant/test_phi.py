"""PHI guard: what is found and redacted, what clinical text is left alone (no database)."""

from __future__ import annotations

import pytest

from features.consultant.phi import PLACEHOLDERS, Finding, Redaction, redact, summary


def kinds(text: str) -> list[str]:
    return [f.kind for f in redact(text).findings]


def redacted(text: str) -> str:
    return redact(text).text


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient: John Smith", "Patient: [NAME]"),
        ("Name: Doe, Jane", "Name: [NAME]"),
        ("Patient Name: SMITH, JOHN A", "Patient Name: [NAME]"),
        ("pt John Smith", "pt [NAME]"),
        ("Pt. Maria Garcia-Lopez presented", "Pt. [NAME] presented"),
        ("Mr. Smith was seen", "Mr. [NAME] was seen"),
        ("Mrs. Jane Doe and Ms Brown", "Mrs. [NAME] and Ms [NAME]"),
        ("patient John Smith is a 45 yo", "patient [NAME] is a 45 yo"),
        ("The patient, Mary O'Brien, tolerated it", "The patient, [NAME], tolerated it"),
        ("Patient: Mr. John Q. Public Jr. is 70", "Patient: Mr. [NAME] is 70"),
        ("Patient: José Núñez", "Patient: [NAME]"),
        ("Guarantor: Robert Doe", "Guarantor: [NAME]"),
        ("Emergency contact: Ann Lee (wife)", "Emergency contact: [NAME] (wife)"),
        ("Patient: Will Hand", "Patient: [NAME]"),
        ("Patient: John Smith's wife", "Patient: [NAME]'s wife"),
        ("Mr. O'Brien's knee", "Mr. [NAME]'s knee"),
        ("Re: John Smith's op note", "Re: [NAME]'s op note"),
        ("Fwd: Re: Jane Doe", "Fwd: Re: [NAME]"),
    ],
)
def test_names_after_a_cue(text: str, expected: str) -> None:
    assert redacted(text) == expected


def test_a_found_name_is_redacted_wherever_it_appears_again() -> None:
    text = "Patient: John Smith. Smith tolerated the procedure. JOHN SMITH signed consent."
    assert (
        redacted(text) == "Patient: [NAME]. [NAME] tolerated the procedure. [NAME] signed consent."
    )
    assert kinds(text) == ["name", "name", "name"]


@pytest.mark.parametrize(
    "text",
    [
        "Patient is a 58 y/o M with DM2.",
        "The patient was brought to the OR.",
        "Patient Position: supine",
        "Patient Education: reviewed",
        "Patient tolerated the procedure well.",
        "Patient Tolerated the procedure well.",
        "pt NPO after midnight",
        "PT: 3x/week for 4 weeks",
        "Patient Stated pain 5/10",
        "Procedure name: Laparoscopic cholecystectomy",
        "Surgeon: Dr. Lee; Surgeon name: Kim",
        "MS with relapse; MR moderate",
        "Mother: diabetes. Father: CAD.",
        "Re: Office Visit coding",
        "Re: Knee Arthroscopy",
        "RE: Denied Claim 99213",
        "Patient Comfort Measures",
        "Patient Will follow up",
    ],
)
def test_clinical_text_is_not_a_name(text: str) -> None:
    assert "name" not in kinds(text), redacted(text)


# --- dates of birth and dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB: 01/02/1960", "DOB: [DOB]"),
        ("D.O.B. 1/2/60", "D.O.B. [DOB]"),
        ("born 1960-01-02", "born [DOB]"),
        ("date of birth March 3, 1960", "date of birth [DOB]"),
        ("Date of Birth: 3rd of March, 1960", "Date of Birth: [DOB]"),
        ("DOB 02-JAN-1960", "DOB [DOB]"),
        ("birthdate is 12/25/1950", "birthdate is [DOB]"),
    ],
)
def test_dates_of_birth(text: str, expected: str) -> None:
    assert redacted(text) == expected
    assert kinds(text) == ["dob"]


@pytest.mark.parametrize(
    "date",
    [
        "01/02/2024",
        "1/2/24",
        "25/12/2024",
        "12-15-2023",
        "01.02.2024",
        "2024-01-02",
        "2024/01/02",
        "Jan 2 2024",
        "Jan. 2nd, 2024",
        "January 2, 2024",
        "2 January 2024",
        "2nd of January",
        "02-JAN-2024",
    ],
)
def test_exact_dates(date: str) -> None:
    assert redacted(f"Seen {date} in clinic") == "Seen [DATE] in clinic"


def test_a_date_with_a_time_keeps_the_time() -> None:
    assert redacted("Admitted 2024-01-02T10:30") == "Admitted [DATE]T10:30"
    assert redacted("Admitted 01/02/2024 10:30") == "Admitted [DATE] 10:30"


def test_month_and_day_without_a_year() -> None:
    assert redacted("Surgery on March 3 went well") == "Surgery on [DATE] went well"
    assert redacted("Seen on 3/14 for follow-up") == "Seen on [DATE] for follow-up"
    assert redacted("DOS: 3/14") == "DOS: [DATE]"


@pytest.mark.parametrize(
    "text",
    [
        "History since 2019; surgery in 2024.",
        "BP 140/90, HR 72",
        "BP 120/80/60",
        "x 3 days",
        "58 y/o, 45 yo, age 92",
        "Pain 5/10, strength 4/5 bilaterally",
        "Started on 1/2 tab daily",
        "March 2024 follow-up",
        "E11.9, 99213, 0DTJ4ZZ, J45.909",
        "A1c 7.2, Cr 1.1, Hgb 12.5/11.2",
        "Metformin 500 mg BID, 10 units at 10:30",
        "L4-L5 laminectomy, C5-6-7 fusion, T10-11-12",
        "ICD range E08-E13, CPT 99202-99215",
        "Version 1.2.3",
        "Dec 2.5 mg",
        "NDC 12345-678-90 and 0002-1433-80",
        "Per MAR 3 doses given",
        "Patient may 3 times",
    ],
)
def test_clinical_numbers_are_not_phi(text: str) -> None:
    assert redacted(text) == text, kinds(text)


# --- numbers: MRN, account, SSN, phone ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("MRN 123456", "MRN [MRN]", "mrn"),
        ("MRN: 00123456", "MRN: [MRN]", "mrn"),
        ("MRN: 123 456 789, 55 y/o", "MRN: [MRN], 55 y/o", "mrn"),
        ("MRN 123456 55 y/o", "MRN [MRN] 55 y/o", "mrn"),
        ("MR#: A12345", "MR#: [MRN]", "mrn"),
        ("medical record number 987654", "medical record number [MRN]", "mrn"),
        ("Chart # 44-556", "Chart # [MRN]", "mrn"),
        ("Acct #: 998877", "Acct #: [ACCOUNT]", "account"),
        ("account number 12345678", "account number [ACCOUNT]", "account"),
        ("Account: 55-1234", "Account: [ACCOUNT]", "account"),
        ("claim number 2024-000123", "claim number [ACCOUNT]", "account"),
        ("Claim #: 9988776655", "Claim #: [ACCOUNT]", "account"),
        ("Member ID: XYZ123456789", "Member ID: [ACCOUNT]", "account"),
        ("Policy no. ABC1234", "Policy no. [ACCOUNT]", "account"),
        ("FIN 7788990", "FIN [ACCOUNT]", "account"),
        ("Medicare ID 1EG4-TE5-MK73", "Medicare ID [ACCOUNT]", "account"),
        ("Medicaid # 12345678", "Medicaid # [ACCOUNT]", "account"),
        ("SSN 123456789", "SSN [SSN]", "ssn"),
        ("ssn: 123-45-6789", "ssn: [SSN]", "ssn"),
        ("Social Security Number: 123 45 6789", "Social Security Number: [SSN]", "ssn"),
        ("SS#: XXX-XX-6789", "SS#: [SSN]", "ssn"),
        ("id 123-45-6789 on file", "id [SSN] on file", "ssn"),
    ],
)
def test_labelled_numbers(text: str, expected: str, kind: str) -> None:
    assert redacted(text) == expected
    assert kinds(text) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "MRN pending",
        "claim number unknown",
        "The claim was denied for 99213",
        "account for modifier 25",
        "MR 2+, TR mild",
        "visit # 2",
    ],
)
def test_labels_without_an_identifier_stay(text: str) -> None:
    assert redacted(text) == text, kinds(text)


@pytest.mark.parametrize(
    "phone",
    [
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "+1 555 123 4567",
        "+1-555-123-4567",
        "1 (555) 123-4567",
        "555-123-4567 ext. 89",
    ],
)
def test_phone_numbers(phone: str) -> None:
    assert redacted(f"call {phone} today") == "call [PHONE] today"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phone: 555 123 4567", "Phone: [PHONE]"),
        ("Cell phone 5551234567", "Cell phone [PHONE]"),
        ("Home: 555-1234", "Home: [PHONE]"),
        ("Tel. (555)123-4567", "Tel. [PHONE]"),
        ("Fax # 555.123.4567", "Fax # [PHONE]"),
    ],
)
def test_labelled_phone_numbers(text: str, expected: str) -> None:
    assert redacted(text) == expected
    assert kinds(text) == ["phone"]


def test_pH_and_counts_are_not_phones() -> None:
    for text in ("pH 7.35", "work RVU 1.5", "cell count 1200", "home 3 days"):
        assert redacted(text) == text


# --- email and addresses -----------------------------------------------------------------------


def test_email() -> None:
    text = "Reply to jane.doe+case@example-mail.co.uk, thanks"
    assert redacted(text) == "Reply to [EMAIL], thanks"
    assert kinds(text) == ["email"]


def test_email_address_label_is_an_email_not_a_street() -> None:
    assert kinds("Email address: jdoe@example.org") == ["email"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lives at 123 Main Street alone", "lives at [ADDRESS] alone"),
        ("45 Oak Ave Apt 4 is home", "[ADDRESS] is home"),
        ("1600 N Lake Shore Dr, Chicago, IL 60611.", "[ADDRESS]."),
        ("100 W 34th St #5B", "[ADDRESS]"),
        ("12 ELM STREET, SPRINGFIELD, IL 62704", "[ADDRESS]"),
        ("from Springfield, IL 62704 today", "from [ADDRESS] today"),
        ("P.O. Box 123", "[ADDRESS]"),
        ("Address: Flat 2, The Mews, Hull", "Address: [ADDRESS]"),
        (
            "Home address: 9 Rue de Rivoli; phone 555-123-4567",
            "Home address: [ADDRESS]; phone [PHONE]",
        ),
    ],
)
def test_addresses(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "99213 Office Visit Dr Lee",
        "88305 Surgical Path",
        "74177 ABDOMEN PELVIS CT",
        "71250 CT Chest",
        "2 Tylenol given",
        "3 Way Foley catheter",
        "Placed 2 sutures",
        "IP address: 10.0.0.1",
    ],
)
def test_codes_and_descriptors_are_not_addresses(text: str) -> None:
    assert "address" not in kinds(text), redacted(text)


# --- a whole note ------------------------------------------------------------------------------

OP_NOTE = """\
OPERATIVE REPORT
Patient Name: SMITH, JOHN A        MRN: 00482913        Acct #: 77231-09
DOB: 04/17/1958        Date of Service: 03/02/2024
Address: 1420 Maple Avenue, Apt 3B, Columbus, OH 43215
Phone: (614) 555-0187   Email: john.smith58@example.com
SSN: 123-45-6789

Surgeon: Dr. Patel
PREOPERATIVE DIAGNOSIS: Symptomatic cholelithiasis (K80.20).
PROCEDURE: Laparoscopic cholecystectomy (47562).

INDICATIONS: Mr. Smith is a 65 y/o M with RUQ pain x 3 days and A1c 7.2.
Patient John Smith was seen on 3/1 in clinic; BP 140/90, HR 88.

DESCRIPTION: The patient was brought to the OR and placed supine. After induction, 4 trocars
were placed. The cystic duct was clipped with 3 clips. Estimated blood loss 10 mL.
John tolerated the procedure well and was taken to PACU at 10:30 on Mar 2, 2024.
Follow-up with Dr. Patel in 2 weeks; call 614-555-0199 with questions.
"""

PHI_VALUES = [
    "SMITH",
    "JOHN",
    "Smith",
    "John",
    "00482913",
    "77231-09",
    "04/17/1958",
    "03/02/2024",
    "1420 Maple",
    "Columbus",
    "43215",
    "(614) 555-0187",
    "john.smith58",
    "123-45-6789",
    "3/1",
    "Mar 2, 2024",
    "614-555-0199",
]


def test_op_note_with_mixed_phi() -> None:
    result = redact(OP_NOTE)
    for value in PHI_VALUES:
        assert value not in result.text, value
    # The clinical content survives untouched.
    for kept in [
        "K80.20",
        "47562",
        "65 y/o M",
        "x 3 days",
        "A1c 7.2",
        "BP 140/90",
        "4 trocars",
        "10 mL",
        "at 10:30",
        "in 2 weeks",
        "Dr. Patel",
        "Laparoscopic cholecystectomy",
    ]:
        assert kept in result.text, kept
    assert summary(result) == [
        "4 names",
        "1 date of birth",
        "1 medical record number",
        "1 account number",
        "1 social security number",
        "2 phone numbers",
        "1 email address",
        "1 street address",
        "3 dates",
    ]


def test_no_phi_value_survives_in_findings_or_their_repr() -> None:
    result = redact(OP_NOTE)
    dumped = repr(result.findings) + repr([vars(f) for f in result.findings])
    for value in PHI_VALUES:
        assert value not in dumped, value
    assert set(vars(result.findings[0])) == {"kind", "start", "end", "label"}


def test_findings_point_into_the_original_text_in_order() -> None:
    text = "Patient: John Smith, DOB 01/02/1960, MRN 123456, call 555-123-4567."
    result = redact(text)
    assert [(f.kind, text[f.start : f.end]) for f in result.findings] == [
        ("name", "John Smith"),
        ("dob", "01/02/1960"),
        ("mrn", "123456"),
        ("phone", "555-123-4567"),
    ]
    assert [f.label for f in result.findings] == [
        "name",
        "date of birth",
        "medical record number",
        "phone number",
    ]
    assert result.text == "Patient: [NAME], DOB [DOB], MRN [MRN], call [PHONE]."
    starts = [f.start for f in result.findings]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(result.findings, result.findings[1:]))


def test_rebuilding_from_findings_gives_the_redacted_text() -> None:
    result = redact(OP_NOTE)
    pieces, cursor = [], 0
    for f in result.findings:
        pieces += [OP_NOTE[cursor : f.start], f.placeholder]
        cursor = f.end
    assert "".join([*pieces, OP_NOTE[cursor:]]) == result.text


# --- the API's edges ---------------------------------------------------------------------------


def test_clean_text_is_returned_unchanged() -> None:
    text = "45 yo F with E11.9, A1c 8.1; 99214 with modifier 25? Thanks."
    result = redact(text)
    assert result == Redaction(text=text, findings=())
    assert not result.found
    assert summary(result) == []


def test_empty_text() -> None:
    assert redact("") == Redaction(text="", findings=())


def test_placeholders() -> None:
    assert set(PLACEHOLDERS.values()) == {
        "[NAME]",
        "[DOB]",
        "[MRN]",
        "[ACCOUNT]",
        "[SSN]",
        "[PHONE]",
        "[EMAIL]",
        "[ADDRESS]",
        "[DATE]",
    }


def test_summary_plurals_and_order() -> None:
    findings = (
        Finding("date", 0, 1, "date"),
        Finding("name", 2, 3, "name"),
        Finding("name", 4, 5, "name"),
        Finding("dob", 6, 7, "date of birth"),
        Finding("address", 8, 9, "street address"),
        Finding("address", 10, 11, "street address"),
    )
    assert summary(Redaction(text="", findings=findings)) == [
        "2 names",
        "1 date of birth",
        "2 street addresses",
        "1 date",
    ]


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact(OP_NOTE).text
    assert redact(once).text == once


def test_long_text_is_handled_quickly() -> None:
    import time

    text = (OP_NOTE + "\n") * 40  # ~50 KB, a long case
    began = time.perf_counter()
    result = redact(text)
    assert time.perf_counter() - began < 5
    assert "04/17/1958" not in result.text
