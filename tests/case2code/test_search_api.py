"""The JSON API: /api/v1/search and /api/v1/codes/{system}/{code}, their 400s, the rate limit
and the OpenAPI schema."""

from __future__ import annotations

import pytest

from tests.support.client import PortalClient, register_pro

pytestmark = pytest.mark.usefixtures("search_ready")


async def test_search_returns_the_documented_shape(app) -> None:
    async with PortalClient(app) as c:
        response = await c.get("/api/v1/search", params={"q": "htn", "limit": "3"})
    assert response.status_code == 200
    body = response.json()
    assert body["expansions"]["htn"].startswith("essential primary hypertension / ")
    first = body["results"][0]
    assert {"code", "system", "title", "billable", "score", "url"} <= first.keys()
    assert first["code"] == "I10" and first["system"] == "icd-10-cm"
    assert first["url"] == "/codes/icd-10-cm/I10" and first["billable"] is True
    assert first["release"] == "ICD-10-CM FY2026, April 1 2026 update"
    assert len(body["results"]) == 3
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


async def test_search_filters_by_system(app) -> None:
    async with PortalClient(app) as c:
        body = (await c.get("/api/v1/search", params={"q": "j18", "system": "hcpcs"})).json()
    assert body["results"] and {r["system"] for r in body["results"]} == {"hcpcs"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Type a code or some words"),
        ({"q": ""}, "Type a code or some words"),
        ({"q": "   "}, "Type a code or some words"),
        ({"q": "a" * 201}, "the limit is 200"),
        ({"q": "asthma", "system": "icd-9"}, "Unknown code system"),
        ({"q": "asthma", "limit": "0"}, "between 1 and 100"),
        ({"q": "asthma", "limit": "101"}, "between 1 and 100"),
        ({"q": "asthma", "limit": "-5"}, "between 1 and 100"),
        ({"q": "asthma", "limit": "ten"}, "whole number"),
    ],
)
async def test_bad_parameters_get_a_400_with_a_message(
    app, params: dict[str, str], message: str
) -> None:
    async with PortalClient(app) as c:
        response = await c.get("/api/v1/search", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_the_api_is_rate_limited_per_address(app) -> None:
    from portal import runtime

    allowed = runtime.current().settings.security.api_requests_per_minute
    async with PortalClient(app) as c, PortalClient(app) as other:
        statuses = [
            (await c.get("/api/v1/search", params={"q": "e11"})).status_code
            for _ in range(allowed + 1)
        ]
        # Another address is not affected.
        assert (await other.get("/api/v1/search", params={"q": "e11"})).status_code == 200
    assert statuses[:allowed] == [200] * allowed
    assert statuses[-1] == 429


async def test_a_code_as_json_is_metered_like_its_page(app) -> None:
    async with PortalClient(app) as guest:
        first = await guest.get("/api/v1/codes/icd-10-cm/e119")
        assert first.status_code == 200
        body = first.json()
        assert body["code"] == "E11.9" and body["billable"] is True
        assert body["common_language"][0].startswith("E11.9 is a billable ICD-10-CM code")
        assert len(body["sections"]) == 5
        assert all(s["locked"] and s["data"] is None for s in body["sections"])
        walled = await guest.get("/api/v1/codes/icd-10-cm/I10")
        assert walled.status_code == 401
        assert "register" in walled.json()["error"]
    async with PortalClient(app) as pro:
        await register_pro(pro)
        body = (await pro.get("/api/v1/codes/icd-10-cm/S93.402A")).json()
    assert body["status"] == "Billable"
    history = next(s for s in body["sections"] if s["id"] == "history")
    assert not history["locked"] and history["sources"]
    hierarchy = next(s for s in body["sections"] if s["id"] == "hierarchy")
    assert hierarchy["data"]["code"]["display"] == "S93.402A"


async def test_unknown_and_malformed_codes(app) -> None:
    async with PortalClient(app) as c:
        assert (await c.get("/api/v1/codes/icd-10-cm/Z99.999")).status_code == 404
        assert (await c.get("/api/v1/codes/icd-11/A00")).status_code == 404
        bad = await c.get("/api/v1/codes/icd-10-cm/not-a-code")
    assert bad.status_code == 400 and "error" in bad.json()


async def test_the_openapi_schema_documents_both_endpoints(app) -> None:
    async with PortalClient(app) as c:
        schema = (await c.get("/api/schema/openapi.json")).json()
    search = schema["paths"]["/api/v1/search"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"q", "system", "limit"} <= names
    assert "/api/v1/codes/{system_slug}/{raw_code}" in schema["paths"]


async def test_while_the_index_is_prepared_search_says_so_with_a_503(app) -> None:
    from features.case2code.search import service

    service.forget()  # as a process that has just started
    try:
        async with PortalClient(app) as c:
            api = await c.get("/api/v1/search", params={"q": "asthma"})
            page = await c.get("/case2code", params={"q": "asthma"})
        assert api.status_code == 503 and api.headers["retry-after"] == "5"
        assert "being prepared" in api.json()["error"]
        assert page.status_code == 503 and "being prepared" in page.text
    finally:
        index = await service.ready()
    assert index.search("asthma").hits
