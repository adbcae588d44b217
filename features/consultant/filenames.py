"""Attachment file names as the portal keeps them: only the words that say what the document is.

A file name is where a patient's name sits with nothing to cue it ("John_Smith_opnote.pdf",
"Núñez 0412.docx"), beyond what the PHI guard can find. So a stored name keeps only the words
of an allowlist of document words ("op note", "discharge summary", "labs") and its extension;
everything else (names, numbers, dates) is dropped, and a name with nothing left becomes
"attachment-N". The document's text is guarded as usual; only the label changes.
"""

from __future__ import annotations

import re

# fmt: off
DOCUMENT_WORDS = frozenset({
    "addendum", "admission", "anesthesia", "assessment", "bill", "billing", "biopsy", "case",
    "chart", "claim", "clinic", "coding", "consult", "consultation", "copy", "cpt", "ct",
    "denial", "diagnosis", "discharge", "draft", "echo", "ecg", "ed", "ekg", "encounter", "eob",
    "er", "exam", "final", "findings", "followup", "form", "h", "history", "hp", "icd",
    "imaging", "invoice", "lab", "labs", "letter", "med", "medication", "medications", "meds",
    "mri", "note", "notes", "office", "op", "operative", "opnote", "order", "orders", "p",
    "path", "pathology", "physical", "plan", "post", "pre", "procedure", "progress", "query",
    "question", "radiology", "record", "records", "referral", "report", "results", "scan",
    "summary", "surgery", "surgical", "ultrasound", "visit", "xray",
})
# fmt: on
_WORD = re.compile(r"[A-Za-z]+")


def stored_name(filename: str, position: int) -> str:
    """`filename` (already sanitised: a base name with an extension) with only its document
    words: "John_Smith_op_note.pdf" -> "op note.pdf"; "attachment-2.pdf" when none is left."""
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    kept = [w for w in _WORD.findall(stem) if w.lower() in DOCUMENT_WORDS]
    base = " ".join(kept) if kept else f"attachment-{position}"
    return f"{base}.{extension.lower()}" if extension else base
