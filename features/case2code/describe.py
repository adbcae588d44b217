"""Common Language Descriptions: two to four plain sentences written from the structured data.

Every sentence states something the data says (title, billable flag, 7th characters, notes,
indicators); nothing is inferred beyond it.
"""

from __future__ import annotations

import re
from typing import Any

from features.case2code.catalog import CodeView


def _lower_first(text: str) -> str:
    # "Type 2 diabetes" -> "type 2 diabetes", but "HIV disease" stays as it is.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _clean_note(note: str) -> str:
    return re.sub(r"\s+", " ", note).strip().rstrip(".").lstrip(", ")


def _note_with_list(notes: list[str]) -> str:
    """A note ending in a colon introduces the notes after it: "... control using: insulin
    (Z79.4), oral antidiabetic drugs (Z79.84) or ..." """
    first = _clean_note(notes[0])
    if not notes[0].rstrip().endswith(":") or len(notes) < 2:
        return first
    items = [_clean_note(n) for n in notes[1:5]]
    more = " and others" if len(notes) > 5 else ""
    return f"{first.rstrip(':')}: {_join(items)}{more}"


def icd10cm(
    view: CodeView,
    *,
    parent: CodeView | None,
    siblings: list[CodeView],
    children: list[CodeView],
    inherited: dict[str, list[str]],
    seventh: dict[str, Any] | None,
) -> list[str]:
    sentences: list[str] = []
    title = _lower_first(view.title)
    char = view.details.get("seventh_char")
    if view.billable and char:
        sentences.append(
            f"{view.display} is a billable ICD-10-CM code for {title}. Its 7th character "
            f"“{char['char']}” means {char['meaning']}."
        )
    elif view.billable:
        sentences.append(f"{view.display} is a billable ICD-10-CM code for {title}.")
    elif view.needs_seventh and seventh:
        options = [f"{c} ({m})" for c, m in list(seventh["chars"].items())[:4]]
        example = children[0].display if children else f"{view.display}?"
        sentences.append(
            f"{view.display} ({title}) cannot be reported as it is: it needs a 7th character, "
            f"such as {_join(options)}; for example {example}."
        )
    else:
        count = len(children)
        level = "category" if view.kind == "category" else "subcategory"
        more = f"one of its {count} more specific codes" if count else "a more specific code"
        sentences.append(
            f"{view.display} ({title}) is a {level} heading, not a billable code: report {more}."
        )
    if "unspecified" in view.title.lower() and any(
        "unspecified" not in s.title.lower() for s in siblings
    ):
        where = f" under {parent.display}" if parent else ""
        sentences.append(
            "Its title says “unspecified”: when the record documents more detail, a more specific "
            f"code{where} fits better."
        )
    own = view.details.get("notes", {})
    excludes1 = [_clean_note(n) for n in own.get("excludes1", [])][:2]
    if excludes1:
        sentences.append(f"Do not report it together with {_join(excludes1)} (Excludes1).")
    for kind, lead in (
        ("useAdditionalCode", "Use an additional code"),
        ("codeFirst", "Code first"),
        ("codeAlso", "Code also"),
    ):
        notes = own.get(kind) or inherited.get(kind)
        if notes and len(sentences) < 4:
            sentences.append(f"{lead}: {_note_with_list(notes)}.")
    return sentences[:4]


def generic(view: CodeView, label: str) -> list[str]:
    return [f"{view.display} is a {label} code: {view.title.rstrip('.')}."]


def hcpcs(view: CodeView, fees: list[Any]) -> list[str]:
    if view.kind == "modifier":
        return [f"{view.display} is a HCPCS Level II modifier: {view.title.rstrip('.')}."]
    sentences = [
        f"{view.display} is a HCPCS Level II code for {_lower_first(view.title.rstrip('.'))}."
    ]
    details = view.details
    labels = details.get("_labels", {}) if isinstance(details.get("_labels"), dict) else {}
    coverage = labels.get("coverage_code") or labels.get("coverage")
    if coverage:
        sentences.append(f"Medicare coverage: {coverage.rstrip('.')}.")
    if details.get("terminated") or details.get("termination_date"):
        ended = details.get("terminated") or details.get("termination_date")
        sentences.append(
            f"It was terminated on {ended}: do not report it for later dates of service."
        )
    if fees:
        sentences.append("Medicare pays it under the Physician Fee Schedule (see Fee schedule).")
    return sentences[:4]


def cpt(view: CodeView, fee: Any) -> list[str]:
    if view.details.get("unlicensed"):
        sentences = [
            f"{view.display} is a CPT code. Its descriptor is AMA copyright text and this server "
            "has no CPT licence file, so only the public Medicare data is shown."
        ]
    else:
        sentences = [f"{view.display} is a CPT code: {view.title.rstrip('.')}."]
    if fee is not None:
        status = fee.data.get("status_code")
        days = fee.data.get("global_days")
        if status:
            sentences.append(f"Its Medicare fee schedule status is {status}.")
        if days:
            sentences.append(f"Its global period is {days}.")
    return sentences[:4]


def pcs(view: CodeView) -> list[str]:
    axes = {
        a.get("name", "").lower(): a for a in view.details.get("axes", []) if isinstance(a, dict)
    }
    op = axes.get("root operation", {}).get("meaning")
    part = axes.get("body part", {}).get("meaning")
    approach = axes.get("approach", {}).get("meaning")
    sentences = [f"{view.display} is an ICD-10-PCS procedure code: {view.title.rstrip('.')}."]
    if op and part:
        how = f" by the {approach.lower()} approach" if approach else ""
        sentences.append(f"The procedure is “{op.lower()}” performed on the {part.lower()}{how}.")
    definition = axes.get("root operation", {}).get("definition")
    if definition:
        sentences.append(f"“{op}” means: {definition.rstrip('.')}.")
    return sentences[:4]
