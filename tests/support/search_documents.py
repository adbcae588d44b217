"""Hand-made search documents, for index tests that need a code set small enough to reason
about (the catalog's own behaviour is tested over the imported catalog)."""

from __future__ import annotations

from features.case2code.search.documents import INCLUSION, INDEX, TITLE, Document


def document(
    code: str,
    title: str,
    *names: str,
    parent: str | None = None,
    entries: tuple[str, ...] = (),
    billable: bool = True,
) -> Document:
    """An ICD-10-CM code with its title, inclusion terms (`names`) and index entries."""
    return Document(
        system="icd-10-cm",
        code=code,
        display=code,
        title=title,
        kind="code",
        billable=billable,
        parent=parent,
        chapter="19",
        release="test",
        texts=[
            (TITLE, title),
            *((INCLUSION, n) for n in names),
            *((INDEX, e) for e in entries),
        ],
    )
