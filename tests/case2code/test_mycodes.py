"""My codes: stars, private notes and recent searches of a signed-in account (PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from features.case2code import mycodes
from features.case2code.mycodes_tables import MyCode, RecentSearch
from portal.accounts.tables import Account
from tests.support.client import PortalClient, text_of, unique_email

# search_ready: every code set imported and the process's search index built from them.
pytestmark = pytest.mark.usefixtures("search_ready")

PASSWORD = "correct horse battery"
STAR = "/case2code/my/star"
NOTE = "/case2code/my/note"


async def _signed_in(client: PortalClient) -> int:
    email = unique_email("mycodes")
    response = await client.register(email, PASSWORD)
    assert response.status_code == 303
    row = await Account.select(Account.id).where(Account.email == email).first()
    return int(row["id"])


async def _rows(account_id: int) -> list[dict]:
    return await MyCode.select(MyCode.system, MyCode.code, MyCode.starred, MyCode.note).where(
        MyCode.account_id == account_id
    )


async def test_star_and_unstar_are_idempotent(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    star = {"system": "icd-10-cm", "code": "e11.9", "starred": "1", "next": "/case2code?q=e11.9"}
    await client.csrf()
    # A double click posts twice, here at the same time: still one starred row.
    responses = await asyncio.gather(*(client.submit(STAR, star) for _ in range(4)))
    for response in responses:
        assert response.status_code == 303
        assert response.headers["location"] == "/case2code?q=e11.9"
    assert await _rows(account_id) == [
        {"system": "icd-10-cm", "code": "E119", "starred": True, "note": ""}
    ]
    page = await client.get("/case2code/my")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Starred codes (1)" in text
    assert "E11.9 Type 2 diabetes mellitus without complications" in text
    assert 'aria-pressed="true"' in page.text

    unstar = {**star, "starred": "0"}
    for _ in range(2):
        assert (await client.submit(STAR, unstar)).status_code == 303
    assert await _rows(account_id) == []
    assert "No starred codes yet" in text_of((await client.get("/case2code/my")).text)


async def test_htmx_star_swaps_the_button(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    htmx = {"HX-Request": "true", "HX-Target": "star-icd-10-cm-E119"}
    response = await client.submit(
        STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1", "next": "/x"}, htmx
    )
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    html = response.text
    assert "<html" not in html
    assert '<form id="star-icd-10-cm-E119"' in html
    assert 'aria-pressed="true"' in html and 'aria-label="Star E11.9"' in html
    assert 'name="starred" value="0"' in html  # the next click unstars
    assert (await _rows(account_id))[0]["starred"] is True


async def test_star_goes_back_only_to_a_local_path(client: PortalClient) -> None:
    await _signed_in(client)
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        response = await client.submit(
            STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1", "next": evil}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/case2code/my", evil
    response = await client.submit(
        STAR,
        {"system": "icd-10-cm", "code": "E11.9", "starred": "1", "next": "/codes/icd-10-cm/E11.9"},
    )
    assert response.headers["location"] == "/codes/icd-10-cm/E11.9"


async def test_star_refuses_codes_the_catalog_does_not_have(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    missing = await client.submit(STAR, {"system": "icd-10-cm", "code": "E11.99", "starred": "1"})
    assert missing.status_code == 404
    malformed = await client.submit(STAR, {"system": "icd-10-cm", "code": "<b>", "starred": "1"})
    assert malformed.status_code == 400
    unknown = await client.submit(STAR, {"system": "icd-9", "code": "250.00", "starred": "1"})
    assert unknown.status_code == 400
    assert await _rows(account_id) == []


async def test_note_is_saved_as_plain_text_and_escaped(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    note = '<script>alert("x")</script> check A1c & "insulin"\r\nsecond line'
    response = await client.submit(
        NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": note, "next": "/case2code/my"}
    )
    assert response.status_code == 303
    rows = await _rows(account_id)
    assert rows == [
        {
            "system": "icd-10-cm",
            "code": "E119",
            "starred": False,
            "note": '<script>alert("x")</script> check A1c & "insulin"\nsecond line',
        }
    ]
    page = (await client.get("/case2code/my")).text
    assert "<script>alert" not in page
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; check A1c &amp; &#34;insulin&#34;" in page
    )
    assert "Notes on other codes (1)" in text_of(page)
    # The code page shows the reader's note and star.
    code_page = (await client.get("/codes/icd-10-cm/E11.9")).text
    assert "My private note" in code_page and "&lt;script&gt;alert" in code_page
    assert "<script>alert" not in code_page
    assert 'aria-label="Star E11.9"' in code_page and 'aria-pressed="false"' in code_page

    # An empty note removes the row (nothing starred either).
    await client.submit(NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": "  "})
    assert await _rows(account_id) == []


async def test_a_note_over_2000_characters_is_refused(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    await client.submit(STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1"})
    await client.submit(NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": "kept"})
    too_long = "x" * 2001
    response = await client.submit(NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": too_long})
    assert response.status_code == 422
    assert "A note can be at most 2000 characters (this one has 2001)" in response.text
    assert too_long in response.text  # what was typed is not lost
    htmx = {"HX-Request": "true", "HX-Target": "note-icd-10-cm-E119"}
    fragment = await client.submit(
        NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": too_long}, htmx
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'aria-invalid="true"' in fragment.text
    assert (await _rows(account_id))[0]["note"] == "kept"

    ok = await client.submit(
        NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": "y" * 2000}, htmx
    )
    assert ok.status_code == 200 and "Saved." in ok.text
    assert (await _rows(account_id))[0]["note"] == "y" * 2000


async def test_recent_searches_are_recorded_and_cleared(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    for query in ("e11.9", "type 2 diabetes", "E11.9", "   "):
        assert (await client.get("/case2code", params={"q": query})).status_code == 200
    assert await mycodes.recent_searches(account_id) == ["E11.9", "type 2 diabetes"]
    page = await client.get("/case2code/my")
    assert 'href="/case2code?q=type%202%20diabetes"' in page.text  # a link re-runs it
    assert "Clear recent searches" in page.text
    # The search page's empty state offers them too.
    assert "Your recent searches" in (await client.get("/case2code")).text

    cleared = await client.submit("/case2code/my/recent/clear", {"next": "/case2code/my"})
    assert cleared.status_code == 303 and cleared.headers["location"] == "/case2code/my"
    assert await mycodes.recent_searches(account_id) == []
    assert "No searches yet" in (await client.get("/case2code/my")).text


async def test_recent_searches_keep_the_last_20_and_fold_typing(app) -> None:  # type: ignore[no-untyped-def]
    account_id = 10_000_000 + (datetime.now(UTC).microsecond)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Active search sends "diab" then "diabetes" while typing: one search, the longer one.
    await mycodes.record_search(account_id, "diab", now=start)
    await mycodes.record_search(account_id, "diabetes", now=start + timedelta(seconds=1))
    assert await mycodes.recent_searches(account_id) == ["diabetes"]
    # A minute later a narrower query is a search of its own.
    await mycodes.record_search(account_id, "diab", now=start + timedelta(minutes=2))
    assert await mycodes.recent_searches(account_id) == ["diab", "diabetes"]
    for n in range(25):
        await mycodes.record_search(
            account_id, f"query {n:02d}", now=start + timedelta(hours=n + 1)
        )
    recent = await mycodes.recent_searches(account_id)
    assert len(recent) == 20
    assert recent[0] == "query 24" and recent[-1] == "query 05"
    assert await RecentSearch.count().where(RecentSearch.account_id == account_id) == 20
    await mycodes.delete_account_data(account_id)


async def test_a_failing_recorder_does_not_fail_the_search(
    client: PortalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _signed_in(client)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(mycodes, "record_search", broken)
    response = await client.get("/case2code", params={"q": "e11.9"})
    assert response.status_code == 200
    assert 'href="/codes/icd-10-cm/E11.9"' in response.text


async def test_guests_are_sent_to_log_in(client: PortalClient) -> None:
    page = await client.get("/case2code/my")
    assert page.status_code == 303
    assert page.headers["location"] == "/account/login?next=/case2code/my"
    before = await MyCode.count()
    posted = await client.submit(
        STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1", "next": "/case2code?q=x"}
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/account/login?next={quote('/case2code?q=x', safe='/')}"
    noted = await client.submit(NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": "hi"})
    assert noted.status_code == 303 and noted.headers["location"].startswith("/account/login")
    htmx = await client.submit(
        STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1"}, {"HX-Request": "true"}
    )
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/account/login")
    assert await MyCode.count() == before
    # Guests see no stars in the results.
    results = await client.get("/case2code", params={"q": "e11.9"})
    assert 'action="/case2code/my/star"' not in results.text


async def test_posts_need_the_csrf_token(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    for url, data in (
        (STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1"}),
        (NOTE, {"system": "icd-10-cm", "code": "E11.9", "note": "x"}),
        ("/case2code/my/recent/clear", {}),
    ):
        response = await client.post(url, data=data)
        assert response.status_code == 403, url
    assert await _rows(account_id) == []


async def test_my_codes_go_with_the_account(client: PortalClient) -> None:
    account_id = await _signed_in(client)
    await client.submit(STAR, {"system": "icd-10-cm", "code": "E11.9", "starred": "1"})
    await client.submit(NOTE, {"system": "icd-10-cm", "code": "I10", "note": "check BP"})
    await client.get("/case2code", params={"q": "hypertension"})
    assert len(await _rows(account_id)) == 2
    assert await mycodes.recent_searches(account_id) == ["hypertension"]
    deleted = await client.submit(
        "/account/settings/delete", {"password": PASSWORD, "confirm": "DELETE"}
    )
    assert deleted.status_code == 303
    assert await _rows(account_id) == []
    assert await RecentSearch.count().where(RecentSearch.account_id == account_id) == 0
