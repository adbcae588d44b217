"""Case to code (/case2code/case): paste a note, get candidate codes grouped by problem.

GET shows the form; POST (CSRF-protected) analyses the note and answers with the results: the
whole page, or only #case-results for htmx. The POST answers directly instead of redirecting
(post/redirect/get) because a redirect would need the note kept somewhere, and the note is
personal health information: it is never stored, and never logged (the access log records the
route only). Responses that carry it say `Cache-Control: no-store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from features.case2code.case_text import MAX_NOTE_CHARS, NoteError, clean_note
from features.case2code.case_to_code import (
    DEFAULT_SYSTEM,
    SYSTEMS,
    CaseResult,
    UnknownSystem,
    case_to_code,
)
from features.case2code.search.hits import SearchUnavailable
from portal.web.render import render

PageRequest = Request[Any, Any, Any]

RESULTS_TARGET = "case-results"
FRAGMENTS = {RESULTS_TARGET: "case2code/_case_results.html"}
NO_STORE = {"Cache-Control": "no-store"}

EXAMPLE_NOTE = (
    "58 y/o M with HTN and DM2 with CKD stage 3.\n"
    "Denies chest pain. No fever but cough x 3 days.\n"
    "Fell on L wrist, initial visit, x-ray shows fracture.\n"
    "r/o pneumonia. History of MI.\n"
    "Meds: metformin 500 mg bid, lisinopril 10 mg daily."
)


@dataclass(frozen=True)
class CaseForm:
    note: str = ""
    system: str = DEFAULT_SYSTEM

    @property
    def length(self) -> int:
        return len(clean_note(self.note))


def _context(form: CaseForm, **more: Any) -> dict[str, Any]:
    return {
        "form": form,
        "systems": SYSTEMS,
        "limit": MAX_NOTE_CHARS,
        "example": EXAMPLE_NOTE,
        **more,
    }


@get("/case2code/case", name="case-to-code")
async def case_page(request: PageRequest, example: FromQuery[str] = "") -> Response[Any]:
    """The form; `?example=1` fills it with the example note (the button without JavaScript)."""
    form = CaseForm(EXAMPLE_NOTE if example else "")
    return await render(request, "case2code/case.html", _context(form))


@post("/case2code/case", name="case-to-code-analyse")
async def case_analyse(request: PageRequest) -> Response[Any]:
    data = await request.form()
    # Read directly, not through form_fields: that trims long fields, and a note over the
    # limit must come back whole in the textarea for the coder to shorten.
    note, system = data.get("note"), data.get("system")
    form = CaseForm(
        note if isinstance(note, str) else "",
        system if isinstance(system, str) and system in SYSTEMS else DEFAULT_SYSTEM,
    )
    result: CaseResult | None = None
    error: str | None = None
    status, headers = 200, NO_STORE
    try:
        result = await case_to_code(form.note, form.system)
    except (NoteError, UnknownSystem) as exc:
        error, status = str(exc), 400
    except SearchUnavailable as exc:  # the index is being built: the note stays for a retry
        error, status = str(exc), 503
        headers = {**NO_STORE, "Retry-After": str(exc.retry_after_s)}
    return await render(
        request,
        "case2code/case.html",
        _context(form, result=result, error=error, note_error=status == 400),
        fragments=FRAGMENTS,
        status_code=status,
        headers=headers,
    )


ROUTES = [case_page, case_analyse]
