"""ICD-10-CM code pages and browse pages against the real FY2026 release in PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.client import PortalClient, register_pro, text_of, unique_email

pytestmark = pytest.mark.usefixtures("icd10cm_loaded")

SECTIONS = (
    "Instructional notes",
    "Hierarchy and related codes",
    "Crosswalks (GEMs)",
    "MS-DRG impact",
    "Code history",
)


async def test_a_code_page_shows_descriptions_release_and_five_sections(app) -> None:
    async with PortalClient(app) as guest:
        page = await guest.get("/codes/icd-10-cm/E11.9")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "E11.9 Type 2 diabetes mellitus without complications" in text
    assert "Official Description" in text and "Common Language Description" in text
    assert (
        "E11.9 is a billable ICD-10-CM code for type 2 diabetes mellitus without complications."
        in text
    )
    assert "Use an additional code: code to identify control using:" in text
    assert "ICD-10-CM FY2026, April 1 2026 update" in text
    assert "Ask CasePilot about this code" in text
    for title in SECTIONS:
        assert title in text
    # A guest's free view: the descriptions, with the five sections locked behind registration.
    assert text.count("Register to view content") == 5
    assert "Inherited from E11" not in text


async def test_an_account_sees_the_five_sections(app) -> None:
    async with PortalClient(app) as c:
        await c.register(unique_email())
        text = text_of((await c.get("/codes/icd-10-cm/E11.9")).text)
    assert "Register to view content" not in text
    assert "Inherited from E11" in text and "insulin (Z79.4)" in text
    assert "Block E08-E13" in text or "E08-E13" in text
    assert "E11.8 Type 2 diabetes mellitus with unspecified complications" in text  # siblings
    assert "Unchanged in ICD-10-CM FY2026, April 1 2026 update since ICD-10-CM FY2025" in text
    assert "4 code page views remaining" in text


async def test_any_case_and_no_dot_reach_the_same_page(app) -> None:
    async with PortalClient(app) as c:
        pro = await register_pro(c)
        for raw in ("e119", "E119", "e11.9"):
            page = await c.get(f"/codes/icd-10-cm/{raw}")
            assert page.status_code == 200, raw
            assert '<link rel="canonical" href="/codes/icd-10-cm/E11.9">' in page.text
        assert pro


async def test_seventh_character_codes_and_the_picker(app) -> None:
    async with PortalClient(app) as c:
        await register_pro(c)
        base = text_of((await c.get("/codes/icd-10-cm/S93.402")).text)
        assert "Not billable: needs a 7th character" in base
        assert "cannot be reported as it is: it needs a 7th character" in base
        assert "Choose the 7th character" in base
        for code in ("S93.402A", "S93.402D", "S93.402S"):
            assert code in base
        full = text_of((await c.get("/codes/icd-10-cm/S93.402A")).text)
        assert "Sprain of unspecified ligament of left ankle, initial encounter" in full
        assert "Its 7th character “A” means initial encounter." in full
        assert "Billable" in full


async def test_a_guest_second_code_meets_the_wall(app) -> None:
    async with PortalClient(app) as guest:
        await guest.get("/codes/icd-10-cm/J45.909")
        wall = await guest.get("/codes/icd-10-cm/I10")
    assert wall.status_code == 200
    text = text_of(wall.text)
    assert "I10 Essential (primary) hypertension" in text  # the header stays
    assert "You have used your free code page view" in text
    assert "Common Language Description" not in text
    assert text.count("Register to view content") == 6  # the wall and five locked sections
    assert wall.text.count('action="/account/register"') == 1  # one form, the others link to it


async def test_a_free_account_out_of_views_is_offered_pro(app) -> None:
    async with PortalClient(app) as c:
        await c.register(unique_email())
        for code in ("A00.0", "A00.1", "A00.9", "A01.00", "A01.01"):
            assert "Inherited from" in (await c.get(f"/codes/icd-10-cm/{code}")).text
        page = text_of((await c.get("/codes/icd-10-cm/A01.02")).text)
        again = text_of((await c.get("/codes/icd-10-cm/A00.0")).text)
    assert "You have used this month's free code page views" in page
    assert "Register to view content" not in page and "Common Language Description" not in page
    assert page.count("Locked:") == 5
    assert "Inherited from" in again, "a page seen within 24 hours stays open"


async def test_unknown_codes_get_404_with_the_nearest_codes(app) -> None:
    async with PortalClient(app) as c:
        page = await c.get("/codes/icd-10-cm/E11.99")
    assert page.status_code == 404
    text = text_of(page.text)
    assert "ICD-10-CM has no code E11.99" in text
    assert "E11.9 Type 2 diabetes mellitus without complications" in text


@pytest.mark.parametrize("raw", ["12", "E", "E11.9.9.9.9", "E1.19", "%3Cscript%3E", "x" * 300])
async def test_malformed_codes_get_a_clear_400(app, raw: str) -> None:
    async with PortalClient(app) as c:
        page = await c.get(f"/codes/icd-10-cm/{raw}")
    assert page.status_code == 400
    assert "is not an ICD-10-CM code" in page.text
    assert "<script>" not in page.text


async def test_unknown_system_is_a_404(app) -> None:
    async with PortalClient(app) as c:
        page = await c.get("/codes/icd-11/E11.9")
    assert page.status_code == 404


async def test_browse_chapters_blocks_and_categories(app) -> None:
    async with PortalClient(app) as c:
        root = text_of((await c.get("/codes/icd-10-cm")).text)
        assert "Endocrine, nutritional and metabolic diseases (E00-E89)" in root
        chapter = text_of((await c.get("/codes/icd-10-cm/chapter/4")).text)
        assert "E08-E13" in chapter and "Diabetes mellitus" in chapter
        block = text_of((await c.get("/codes/icd-10-cm/block/E08-E13")).text)
        assert "E11 Type 2 diabetes mellitus" in block
        assert (await c.get("/codes/icd-10-cm/block/Z99-Z99")).status_code == 404


async def test_lookup_form_goes_to_the_code_page(app) -> None:
    async with PortalClient(app) as c:
        found = await c.get("/case2code/lookup", params={"system": "icd-10-cm", "code": " e11.9 "})
        assert found.status_code == 303 and found.headers["location"] == "/codes/icd-10-cm/E119"
        bad = await c.get("/case2code/lookup", params={"system": "icd-10-cm", "code": "??"})
        assert bad.status_code == 400 and "is not an ICD-10-CM code" in bad.text
        home = text_of((await c.get("/case2code")).text)
        assert "ICD-10-CM FY2026, April 1 2026 update" in home


async def test_one_page_serves_each_reader_its_own_body_and_csrf_token(app) -> None:
    """A page's body is rendered once per kind of reader: a guest after a Pro reader (and the
    other way round) must still get their own sections, and each their own CSRF token."""
    import re

    token_in = re.compile(r'name="_csrf_token" value="([^"]+)"')
    async with PortalClient(app) as pro, PortalClient(app) as first, PortalClient(app) as second:
        await register_pro(pro)
        assert "Inherited from E10" in (await pro.get("/codes/icd-10-cm/E10.9")).text
        for guest in (first, second):
            page = await guest.get("/codes/icd-10-cm/E10.9")
            assert page.text.count("Register to view content") == 5
            assert "Inherited from E10" not in page.text
            tokens = set(token_in.findall(page.text))
            assert tokens == {guest.cookies["csrftoken"]}, tokens
        assert "Inherited from E10" in (await pro.get("/codes/icd-10-cm/E10.9")).text
