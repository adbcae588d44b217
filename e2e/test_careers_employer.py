"""CareerCenter in a browser: the job search's filters from the keyboard with the URL keeping the
search (back, reload), and an employer writing a posting through the labelled form."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, expect

from e2e.helpers import new_email, register

SHOTS = None  # a folder path to save screenshots while working on the pages


async def _job(word: str, **changes: Any) -> int:
    """A live posting written straight into this run's database."""
    from features.careers import postings
    from features.careers.postings import JobInput
    from features.careers.tables import Job

    credentials = changes.pop("credentials", ["CPC"])
    fields = {
        "title": "Medical Coder",
        "organisation": "Browser Clinic",
        "city": "Austin",
        "state": "TX",
        "work_mode": "onsite",
        "employment_type": "full_time",
        "experience": "mid",
        "salary_min": "50000",
        "salary_max": "60000",
        "salary_period": "year",
        "description": f"Scope {word}. Code clinic visits.",
        "apply_mode": "portal",
        **changes,
    }
    values = postings.validate_job(JobInput.from_form(fields, {"credentials": credentials}))
    now = datetime.now(UTC)
    row = Job(
        account_id=0, status="active", posted_at=now, expires_at=now + timedelta(days=30), **values
    )
    await row.save()
    return int(row.id)


async def _shot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def test_filters_by_keyboard_keep_the_url_and_back_works(app: Any, page: Page) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    remote_ccs = await _job(
        word, title="Remote CCS Coder", work_mode="remote", state="", city="", credentials=["CCS"]
    )
    remote_cpc = await _job(word, title="Remote CPC Coder", work_mode="remote", state="", city="")
    onsite = await _job(word, title="Onsite Coder")

    await page.goto(f"/careers?q={word}")
    await page.evaluate("window.__noReload = 1")
    links = page.locator("#search-results [data-result-link]")
    await expect(links).to_have_count(3)
    await _shot(page, "search")

    # Keyboard only: tab into the work mode filter and choose "Remote" with the arrow keys.
    work_mode = page.get_by_label("Work mode")
    await work_mode.focus()
    await work_mode.press("ArrowDown")  # "Any work mode" -> "Remote"
    await expect(page).to_have_url(re.compile(rf"/careers\?q={word}&work_mode=remote$"))
    await expect(links).to_have_count(2)
    await expect(page.locator("#search-status")).to_contain_text("2 jobs")
    await expect(page.get_by_label("Work mode")).to_be_focused()  # focus survives the swap

    await page.get_by_label("Credential").select_option("CCS")
    await expect(page).to_have_url(re.compile(r"work_mode=remote&credential=CCS$"))
    await expect(links).to_have_count(1)
    await expect(links.first).to_have_attribute("href", f"/careers/jobs/{remote_ccs}")
    assert await page.evaluate("window.__noReload") == 1, "no page load so far"
    await _shot(page, "search_filtered")

    # Back: the earlier results with the filters that produced them.
    await page.go_back()
    await expect(page).to_have_url(re.compile(rf"q={word}&work_mode=remote$"))
    await expect(links).to_have_count(2)
    await expect(page.get_by_label("Work mode")).to_have_value("remote")
    await expect(page.get_by_label("Credential")).to_have_value("")
    await page.go_back()
    await expect(links).to_have_count(3)
    await expect(page.get_by_label("Work mode")).to_have_value("")

    # Reload keeps the search; ArrowDown moves from the words into the results.
    await page.goto(f"/careers?q={word}&work_mode=remote&sort=salary")
    await expect(page.get_by_label("Sort by")).to_have_value("salary")
    await page.get_by_label("Search coding and billing jobs").focus()
    await page.keyboard.press("ArrowDown")
    await expect(links.first).to_be_focused()
    hrefs = {await links.nth(i).get_attribute("href") for i in range(2)}
    assert hrefs == {f"/careers/jobs/{remote_ccs}", f"/careers/jobs/{remote_cpc}"}
    assert f"/careers/jobs/{onsite}" not in hrefs

    # A filter chip removes its filter.
    await page.get_by_role("link", name=re.compile("Remote.*remove")).click()
    await expect(page).to_have_url(re.compile(rf"q={word}&sort=salary$"))
    await expect(links).to_have_count(3)


async def test_an_employer_posts_through_the_labelled_form(page: Page) -> None:
    await register(page, new_email("employer"))
    await page.goto("/careers/employer")
    await page.get_by_label("Organisation name").fill("Browser Health")
    await page.get_by_label("Website").fill("browser-health.example.org")
    await page.get_by_role("button", name="Create employer profile").click()
    await expect(page.get_by_role("heading", name="Your job postings")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="profile is saved")).to_be_visible()

    await page.get_by_role("link", name="Post a job").click()
    await expect(page.get_by_label("Organisation", exact=True)).to_have_value("Browser Health")
    await page.get_by_label("Job title").fill("Remote Cardiology Coder")
    await page.get_by_label("Employment type").select_option("full_time")
    await page.get_by_label("Experience level").select_option("senior")
    await page.get_by_label("Remote").check()
    await page.get_by_label("CPC").check()
    await page.get_by_label("Cardiology").check()
    await page.get_by_label("Lowest pay ($)").fill("70000")
    await page.get_by_label("Highest pay ($)").fill("60000")  # wrong on purpose
    await page.get_by_label("Job description").fill("## Duties\n\nCode **cardiology** visits.")
    await page.get_by_role("button", name="Preview the description").click()
    await expect(page.locator("#description-preview strong")).to_have_text("cardiology")
    await _shot(page, "job_form")

    await page.get_by_role("button", name="Submit for review").click()
    await expect(page.get_by_role("alert").first).to_contain_text(
        "The highest pay must be at least the lowest pay."
    )
    await expect(page.get_by_label("Highest pay ($)")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Highest pay ($)").fill("85000")
    await page.get_by_role("button", name="Submit for review").click()

    await expect(page.get_by_role("status").filter(has_text="Sent for review")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Remote Cardiology Coder"))
    await expect(row).to_contain_text("Waiting for review")
    await expect(row.get_by_role("button", name=re.compile("Close"))).to_be_visible()
    await _shot(page, "dashboard")
