"""HCPCS, CPT and ICD-10-PCS code pages against the real releases in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.support.client import PortalClient, register_pro, text_of

pytestmark = pytest.mark.usefixtures("catalog_loaded")


@asynccontextmanager
async def pro_client(app) -> AsyncIterator[PortalClient]:  # type: ignore[no-untyped-def]
    async with PortalClient(app) as client:
        await register_pro(client)
        yield client


async def test_hcpcs_page_has_indicators_modifiers_edits_fees_and_history(app) -> None:
    async with pro_client(app) as c:
        page = await c.get("/codes/hcpcs/J1100")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "HCPCS January 2026" in text
    for title in (
        "Coverage and pricing indicators",
        "Modifiers",
        "NCCI edits and MUE",
        "Fee schedule",
        "Code history",
    ):
        assert title in text
    assert "Betos code" in text and "Coverage code" in text
    assert "Register to view content" not in text


async def test_hcpcs_modifier_page(app) -> None:
    async with pro_client(app) as c:
        page = await c.get("/codes/hcpcs/lt")
    assert page.status_code == 200
    assert "HCPCS Level II modifier" in text_of(page.text)


async def test_cpt_sample_page_shows_mpfs_and_ncci(app) -> None:
    async with pro_client(app) as c:
        page = await c.get("/codes/cpt/99213")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "sample" in text.lower()
    for title in (
        "RVUs and payment",
        "NCCI edits and MUE",
        "Modifier and policy indicators",
        "Global period",
        "Related codes in its range",
    ):
        assert title in text
    assert "$88.95" in text  # 99213 national non-facility payment, MPFS CY2025 A
    assert "MPFS CY2025 A" in text


async def test_cpt_without_a_licence_shows_the_public_rest(app) -> None:
    async with pro_client(app) as c:
        page = await c.get("/codes/cpt/27447")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "needs an AMA CPT licence" in text
    assert "Global period: 090" in text
    assert "DESCRIPTION" not in page.text


async def test_pcs_page_has_axes_operation_crosswalk_related_and_history(app) -> None:
    async with pro_client(app) as c:
        page = await c.get("/codes/icd-10-pcs/0DTJ4ZZ")
    assert page.status_code == 200
    text = text_of(page.text)
    for title in (
        "The seven characters",
        "Root operation and guidelines",
        "ICD-9 procedure crosswalk",
        "Related codes in the same table",
        "Code history",
    ):
        assert title in text
    assert "Resection" in text and "Appendix" in text


async def test_unknown_hcpcs_and_malformed_pcs(app) -> None:
    async with PortalClient(app) as c:
        assert (await c.get("/codes/hcpcs/J8888")).status_code == 404
        bad = await c.get("/codes/icd-10-pcs/0DTJ4Z")
        assert bad.status_code == 400 and "seven letters or digits" in bad.text
