"""The search page /case2code: the whole page, the htmx fragment, filters, errors and escaping.

Most tests run the real engine over the FY2026 ICD-10-CM release in PostgreSQL; the ones about
what the page does with the engine's answer (filters passed on, corrections, expansions) put a
recorder in the engine's place."""

from __future__ import annotations

from typing import Any

import pytest

from features.case2code import search_views
from features.case2code.search.hits import SearchHit, SearchResult
from tests.support.client import PortalClient, text_of, unique_email

# search_ready: every code set imported and the process's search index built from them.
pytestmark = pytest.mark.usefixtures("search_ready")

FRAGMENT = {"HX-Request": "true", "HX-Target": "search-results"}


async def test_a_plain_get_shows_the_whole_page_with_results(client: PortalClient) -> None:
    page = await client.get("/case2code", params={"q": "e11.9"})
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    html = page.text
    assert "<html" in html and 'id="search-form"' in html
    assert 'value="e11.9"' in html  # the query stays in the form
    assert '<a class="result__link" href="/codes/icd-10-cm/E11.9" data-result-link>' in html
    assert 'id="search-status"' in html and 'role="status"' in html
    text = text_of(html)
    assert "Type 2 diabetes mellitus without complications" in text
    assert "ICD-10-CM FY2026, April 1 2026 update" in text  # each result's release
    assert "Billable" in text
    # The form works without JavaScript: a GET to this same page.
    assert (
        '<form id="search-form" class="search-form card" role="search" action="/case2code" method="get"'
        in html
    )


async def test_htmx_gets_only_the_results_fragment(client: PortalClient) -> None:
    fragment = await client.get("/case2code", params={"q": "e11.9"}, headers=FRAGMENT)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    html = fragment.text
    assert "<html" not in html and 'id="search-form"' not in html
    assert 'href="/codes/icd-10-cm/E11.9"' in html
    assert html.lstrip().startswith("<title>e11.9 · Search · Coding Portal</title>")
    # The live region and the meter badge are updated out of band.
    assert (
        '<p id="search-status" class="search-status" role="status" aria-live="polite" hx-swap-oob="true">'
        in html
    )
    assert 'id="meter-badge"' in html and 'hx-swap-oob="true"' in html
    assert 'data-q="e11.9"' in html


async def test_history_restore_and_other_targets_get_the_whole_page(client: PortalClient) -> None:
    restore = {**FRAGMENT, "HX-History-Restore-Request": "true"}
    for headers in (restore, {"HX-Request": "true", "HX-Target": "main"}):
        page = await client.get("/case2code", params={"q": "e11.9"}, headers=headers)
        assert page.status_code == 200
        assert "<html" in page.text and 'id="search-form"' in page.text
        assert 'href="/codes/icd-10-cm/E11.9"' in page.text


async def test_words_are_searched_and_marked(client: PortalClient) -> None:
    page = await client.get("/case2code", params={"q": "type 2 diabetes"})
    assert page.status_code == 200
    html = page.text
    assert 'href="/codes/icd-10-cm/E11' in html
    assert "<mark>" in html  # matched words are marked
    assert "codes for “type 2 diabetes”" in text_of(html) or "found for" in text_of(html)


async def test_no_query_shows_examples_lookup_and_browse(client: PortalClient) -> None:
    for params in ({}, {"q": "   "}):
        page = await client.get("/case2code", params=params)
        assert page.status_code == 200
        html = page.text
        assert 'href="/case2code?q=type%202%20diabetes"' in html  # an example to click
        assert 'action="/case2code/lookup"' in html
        assert 'href="/codes/icd-10-cm"' in html and "ICD-10-CM FY2026" in html
        assert "data-result-link" not in html
    fragment = await client.get("/case2code", params={"q": ""}, headers=FRAGMENT)
    assert "<html" not in fragment.text and 'action="/case2code/lookup"' in fragment.text


async def test_a_query_over_200_characters_is_a_400_on_the_page(client: PortalClient) -> None:
    long = "a" * 201
    page = await client.get("/case2code", params={"q": long})
    assert page.status_code == 400
    assert "<html" in page.text and 'id="search-form"' in page.text
    assert 'role="alert"' in page.text and "200" in text_of(page.text)
    assert "The search could not run." in page.text
    fragment = await client.get("/case2code", params={"q": long}, headers=FRAGMENT)
    assert fragment.status_code == 400
    assert "<html" not in fragment.text and 'role="alert"' in fragment.text
    ok = await client.get("/case2code", params={"q": "a" * 200})
    assert ok.status_code == 200


async def test_bad_filters_are_a_400_not_a_500(client: PortalClient) -> None:
    unknown_system = await client.get("/case2code", params={"q": "fracture", "system": "icd-9"})
    assert unknown_system.status_code == 400 and 'role="alert"' in unknown_system.text
    unknown_chapter = await client.get("/case2code", params={"q": "fracture", "chapter": "99"})
    assert unknown_chapter.status_code == 400
    assert "There is no ICD-10-CM chapter “99”" in unknown_chapter.text


async def test_filters_narrow_the_real_results(client: PortalClient) -> None:
    page = await client.get(
        "/case2code", params={"q": "diabetes", "system": "icd-10-cm", "billable": "1"}
    )
    assert page.status_code == 200
    html = page.text
    assert html.count("data-result-link") > 0
    assert "Not billable" not in html and "Needs a 7th character" not in html
    # The form shows the filters it applied.
    assert '<option value="icd-10-cm" selected>' in html
    assert 'name="billable" type="checkbox" value="1" checked' in html
    chapter = await client.get("/case2code", params={"q": "fracture", "chapter": "19"})
    assert chapter.status_code == 200
    assert '<option value="19" selected>' in chapter.text
    codes = [c for c in _result_codes(chapter.text)]
    assert codes and all(code[0] in "ST" for code in codes), codes


def _result_codes(html: str) -> list[str]:
    import re

    return re.findall(r'href="/codes/icd-10-cm/([^"]+)" data-result-link', html)


class Recorder:
    """Stands in for the engine: keeps each call, answers with a canned result."""

    def __init__(self, result: SearchResult) -> None:
        self.result = result
        self.calls: list[dict[str, Any]] = []

    async def search(self, query: str, **kwargs: Any) -> SearchResult:
        self.calls.append({"query": query, **kwargs})
        return self.result


def _hit(**changes: Any) -> SearchHit:
    fields: dict[str, Any] = {
        "system": "icd-10-cm",
        "code": "J189",
        "display": "J18.9",
        "title": "Pneumonia, unspecified organism",
        "matched": ("pneumonia",),
        "billable": True,
        "kind": "code",
        "needs_seventh": False,
        "excludes1": ("abscess of lung with pneumonia (J85.1)",),
        "release": "ICD-10-CM FY2026, April 1 2026 update",
        "score": 1.0,
        "chapter": "10",
    }
    return SearchHit(**{**fields, **changes})


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    result = SearchResult(
        query="pnuemonia htn",
        hits=[
            _hit(),
            _hit(
                code="S52501A",
                display="S52.501A",
                title="Unspecified fracture of the lower end of right radius",
                matched=("fracture",),
                needs_seventh=False,
                excludes1=(),
            ),
            _hit(
                code="S93402", display="S93.402", billable=False, needs_seventh=True, excludes1=()
            ),
        ],
        total=57,
        mode="words",
        corrections={"pnuemonia": "pneumonia"},
        expansions={"htn": "hypertension"},
        partial=True,
        release_names=("ICD-10-CM FY2026, April 1 2026 update",),
    )
    fake = Recorder(result)
    monkeypatch.setattr(search_views.search_service, "search", fake.search)
    return fake


async def test_filters_reach_the_engine(client: PortalClient, recorder: Recorder) -> None:
    await client.get(
        "/case2code",
        params={"q": "pnuemonia htn", "system": "icd-10-cm", "billable": "1", "chapter": "10"},
    )
    await client.get("/case2code", params={"q": "wheelchair", "system": "hcpcs", "chapter": "10"})
    await client.get("/case2code", params={"q": "wheelchair", "more": "1"})
    assert recorder.calls == [
        {
            "query": "pnuemonia htn",
            "system": "icd-10-cm",
            "billable_only": True,
            "chapter": "10",
            "limit": 20,
        },
        # A chapter is an ICD-10-CM filter: with another code set it is not applied.
        {
            "query": "wheelchair",
            "system": "hcpcs",
            "billable_only": False,
            "chapter": None,
            "limit": 20,
        },
        {
            "query": "wheelchair",
            "system": None,
            "billable_only": False,
            "chapter": None,
            "limit": 100,
        },
    ]


async def test_corrections_expansions_partial_and_result_details(
    client: PortalClient, recorder: Recorder
) -> None:
    page = await client.get("/case2code", params={"q": "pnuemonia htn"})
    html = page.text
    text = text_of(html)
    assert "Showing results for pneumonia htn (you typed “pnuemonia htn”)" in text
    assert '<abbr title="hypertension">HTN</abbr> = hypertension' in html
    assert "No code matches every word you typed" in text
    assert "Showing 3 of 57 codes for “pnuemonia htn”." in text
    assert "<mark>Pneumonia</mark>, unspecified organism" in html
    assert "Side: right" in text
    assert "Needs a 7th character" in text
    assert '<details class="excludes">' in html and "abscess of lung with pneumonia (J85.1)" in html
    assert 'href="/case2code?q=pnuemonia+htn&amp;more=1"' in html  # up to 100 results


async def test_no_results_offers_suggestions(client: PortalClient) -> None:
    page = await client.get(
        "/case2code", params={"q": "qqxxzzvv", "system": "icd-10-cm", "billable": "1"}
    )
    assert page.status_code == 200
    text = text_of(page.text)
    assert "No codes found for “qqxxzzvv”" in text
    assert 'href="/case2code?q=qqxxzzvv"' in page.text  # the same search without filters
    assert "Check the spelling" in text


async def test_the_query_is_escaped_everywhere(client: PortalClient) -> None:
    evil = '<script>alert("x")</script>'
    for headers in ({}, FRAGMENT):
        page = await client.get("/case2code", params={"q": evil}, headers=headers)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    full = await client.get("/case2code", params={"q": evil, "chapter": '"><script>'})
    assert full.status_code == 400 and '"><script>' not in full.text


async def test_signed_in_readers_get_a_star_per_result(client: PortalClient) -> None:
    await client.register(unique_email("stars"))
    await client.submit(
        "/case2code/my/star", {"system": "icd-10-cm", "code": "E11.9", "starred": "1"}
    )
    page = await client.get("/case2code", params={"q": "e11.9"})
    html = page.text
    assert (
        '<form id="star-icd-10-cm-E119" class="star" method="post" action="/case2code/my/star"'
        in html
    )
    start = html.index('id="star-icd-10-cm-E119"')
    assert 'aria-pressed="true"' in html[start : start + 1200]
    # Without JavaScript the star comes back to these results.
    assert 'name="next" value="/case2code?q=e11.9"' in html


@pytest.mark.usefixtures("search_ready")
async def test_header_suggestions_are_a_fragment_for_htmx_and_a_redirect_otherwise(app) -> None:
    async with PortalClient(app) as c:
        fragment = await c.get(
            "/case2code/suggest", params={"q": "copd"}, headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert 'href="/codes/icd-10-cm/J44.9" data-result-link' in fragment.text
        assert "All results for “copd”" in fragment.text
        empty = await c.get("/case2code/suggest", params={"q": " "}, headers={"HX-Request": "true"})
        assert empty.status_code == 200 and "data-result-link" not in empty.text
        long = await c.get(
            "/case2code/suggest", params={"q": "x" * 201}, headers={"HX-Request": "true"}
        )
        assert long.status_code == 200 and "the limit is 200" in long.text
        hostile = await c.get(
            "/case2code/suggest", params={"q": "<script>zz"}, headers={"HX-Request": "true"}
        )
        assert "<script>zz" not in hostile.text and "&lt;script&gt;zz" in hostile.text
        plain = await c.get("/case2code/suggest", params={"q": "copd"})
    assert plain.status_code == 303 and plain.headers["location"] == "/case2code?q=copd"
