"""CareerCenter search: full text with ranking, every filter alone and together, sorting,
pagination, "posted within", what is not live, the URL as the search's state, bad parameters,
the htmx fragment and similar jobs.

Other tests post jobs into the same database, so each test searches with a word of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from features.careers import postings, search
from features.careers.postings import JobInput
from features.careers.search import SearchForm
from features.careers.tables import Job
from portal.accounts.tables import Account
from tests.support.client import PortalClient, text_of, unique_email

pytestmark = pytest.mark.usefixtures("worker")


def token() -> str:
    return "zq" + uuid.uuid4().hex[:8]


async def employer_id() -> int:
    row = Account(email=unique_email("searchemployer"), password_hash="x", role="employer")
    await row.save()
    return int(row.id)


async def insert_job(
    word: str,
    *,
    days_ago: float = 0,
    status: str = "active",
    expires_in_days: float = 30,
    account_id: int | None = None,
    **changes: Any,
) -> int:
    """A posting written directly, with `word` in its description (so searches can scope to
    this test's postings) and posted `days_ago`."""
    fields: dict[str, Any] = {
        "title": "Medical Coder",
        "organisation": "Search Clinic",
        "city": "Austin",
        "state": "TX",
        "work_mode": "onsite",
        "employment_type": "full_time",
        "experience": "mid",
        "salary_min": "",
        "salary_max": "",
        "salary_period": "year",
        "description": f"Scope {word}.",
        "apply_mode": "portal",
        "apply_url": "",
    }
    credentials = changes.pop("credentials", ["CPC"])
    specialties = changes.pop("specialties", ["Outpatient"])
    fields.update({k: str(v) for k, v in changes.items()})
    values = postings.validate_job(
        JobInput.from_form(fields, {"credentials": credentials, "specialties": specialties})
    )
    posted = datetime.now(UTC) - timedelta(days=days_ago)
    row = Job(
        account_id=account_id or await employer_id(),
        status=status,
        posted_at=posted if status != "draft" else None,
        expires_at=posted + timedelta(days=expires_in_days),
        **values,
    )
    await row.save()
    return int(row.id)


async def ids(form: SearchForm, **kwargs: Any) -> list[int]:
    page = await search.find(form, **kwargs)
    return [job.id for job in page.jobs]


# --- full text ----------------------------------------------------------------------------------


async def test_every_word_must_match_in_any_case() -> None:
    word = token()
    both = await insert_job(word, title="Inpatient Coder", description=f"{word} DRG validation")
    one = await insert_job(word, title="Outpatient Coder", description=f"{word} clinic visits")
    assert set(await ids(SearchForm(q=word))) == {both, one}
    assert await ids(SearchForm(q=f"{word.upper()} drg")) == [both]
    assert await ids(SearchForm(q=f"{word} drg nothingelse")) == []
    # Wildcards typed by a user are not wildcards.
    assert set(await ids(SearchForm(q=f"{word} %"))) == {both, one}
    assert await ids(SearchForm(q=f"{word[:4]}_{word[5:]}")) == []


async def test_a_title_match_ranks_above_a_description_match() -> None:
    word = token()
    in_description = await insert_job(
        word, title="Billing Specialist", description=f"{word}: some auditing work"
    )
    in_title = await insert_job(
        word, title="Coding Auditor", description=f"{word}: review charts", days_ago=5
    )
    in_specialty = await insert_job(
        word, title="Coding Specialist", specialties=["Auditing"], days_ago=3
    )
    # The newest (description only) comes last despite being newest.
    assert await ids(SearchForm(q=f"{word} auditor")) == [in_title]
    assert await ids(SearchForm(q=f"{word} audit")) == [in_title, in_specialty, in_description]
    assert await ids(SearchForm(q=f"{word} audit", sort="newest")) == [
        in_description,
        in_specialty,
        in_title,
    ]


# --- filters ----------------------------------------------------------------------------------


async def test_each_filter_alone_and_combined() -> None:
    word = token()
    remote_ca = await insert_job(
        word,
        work_mode="remote",
        state="CA",
        city="",
        credentials=["CCS-P"],
        specialties=["Cardiology"],
        experience="senior",
        employment_type="contract",
        salary_min="90000",
        salary_max="110000",
    )
    hybrid_tx = await insert_job(
        word,
        work_mode="hybrid",
        state="TX",
        credentials=["CCS", "CPC"],
        specialties=["Inpatient"],
        experience="entry",
        salary_min="45000",
        days_ago=10,
    )
    onsite_ny = await insert_job(
        word,
        work_mode="onsite",
        state="NY",
        city="Albany",
        credentials=["RHIT"],
        specialties=["Cardiology", "Inpatient"],
        experience="mid",
        employment_type="part_time",
        salary_min="20",
        salary_max="28",
        salary_period="hour",  # 41,600-58,240 a year
        days_ago=2,
    )
    base = SearchForm(q=word)
    assert set(await ids(base)) == {remote_ca, hybrid_tx, onsite_ny}
    assert await ids(SearchForm(q=word, work_mode="remote")) == [remote_ca]
    assert await ids(SearchForm(q=word, work_mode="hybrid")) == [hybrid_tx]
    assert await ids(SearchForm(q=word, state="NY")) == [onsite_ny]
    # A credential is matched exactly: CCS is not CCS-P.
    assert await ids(SearchForm(q=word, credential="CCS")) == [hybrid_tx]
    assert await ids(SearchForm(q=word, credential="CCS-P")) == [remote_ca]
    assert set(await ids(SearchForm(q=word, specialty="Cardiology"))) == {remote_ca, onsite_ny}
    assert await ids(SearchForm(q=word, experience="entry")) == [hybrid_tx]
    assert await ids(SearchForm(q=word, employment_type="part_time")) == [onsite_ny]
    # Salary minimum: the range's top (or its bottom when only that is given) reaches it;
    # hourly pay compares as yearly; postings without pay are left out.
    assert await ids(SearchForm(q=word, salary_min=100_000)) == [remote_ca]
    assert set(await ids(SearchForm(q=word, salary_min=45_000))) == {
        remote_ca,
        hybrid_tx,
        onsite_ny,
    }
    assert set(await ids(SearchForm(q=word, salary_min=50_000))) == {remote_ca, onsite_ny}
    assert set(await ids(SearchForm(q=word, posted_within=7))) == {remote_ca, onsite_ny}
    assert await ids(SearchForm(q=word, posted_within=1)) == [remote_ca]
    # Combined.
    assert await ids(SearchForm(q=word, specialty="Inpatient", posted_within=7)) == [onsite_ny]
    assert await ids(SearchForm(q=word, specialty="Cardiology", salary_min=95_000)) == [remote_ca]
    assert await ids(SearchForm(q=word, work_mode="remote", state="TX")) == []
    assert await ids(
        SearchForm(q=word, credential="CPC", experience="entry", state="TX", work_mode="hybrid")
    ) == [hybrid_tx]


async def test_only_live_postings_are_found() -> None:
    word = token()
    live = await insert_job(word)
    for status in ("draft", "pending", "rejected", "closed", "expired"):
        await insert_job(word, status=status)
    await insert_job(word, expires_in_days=-0.001)  # active but past its expiry
    assert await ids(SearchForm(q=word)) == [live]


async def test_since_limits_to_postings_that_went_live_after_it() -> None:
    word = token()
    await insert_job(word, days_ago=3)
    recent = await insert_job(word, days_ago=0.5)
    since = datetime.now(UTC) - timedelta(days=1)
    assert await ids(SearchForm(q=word), since=since) == [recent]


# --- sorting and pages --------------------------------------------------------------------------


async def test_sort_by_salary_and_by_newest() -> None:
    word = token()
    none = await insert_job(word, days_ago=0)
    low = await insert_job(word, salary_min="40000", salary_max="50000", days_ago=1)
    high = await insert_job(word, salary_min="80000", days_ago=2)
    hourly = await insert_job(word, salary_max="35", salary_period="hour", days_ago=3)  # 72,800
    assert await ids(SearchForm(q=word, sort="salary")) == [high, hourly, low, none]
    assert await ids(SearchForm(q=word, sort="newest")) == [none, low, high, hourly]
    assert await ids(SearchForm(q=word)) == [none, low, high, hourly], "one word: all equal rank"


async def test_pagination() -> None:
    word = token()
    made = [await insert_job(word, days_ago=n / 100) for n in range(25)]
    first = await search.find(SearchForm(q=word), page=1, per_page=20)
    assert (first.total, first.pages, first.page) == (25, 2, 1)
    assert [j.id for j in first.jobs] == made[:20]
    assert (first.first_number, first.last_number) == (1, 20)
    second = await search.find(SearchForm(q=word), page=2, per_page=20)
    assert [j.id for j in second.jobs] == made[20:]
    assert (second.first_number, second.last_number) == (21, 25)
    beyond = await search.find(SearchForm(q=word), page=9, per_page=20)
    assert beyond.page == 2 and [j.id for j in beyond.jobs] == made[20:]
    none = await search.find(SearchForm(q=token()))
    assert (none.total, none.pages, none.jobs, none.first_number) == (0, 1, [], 0)


# --- the form as the URL ------------------------------------------------------------------------


def test_the_form_round_trips_through_the_url_and_a_stored_dict() -> None:
    form = SearchForm(
        q="remote coder",
        work_mode="remote",
        state="TX",
        credential="CCS-P",
        specialty="Cardiology",
        experience="senior",
        employment_type="contract",
        salary_min=60_000,
        posted_within=7,
        sort="salary",
    )
    assert SearchForm.from_query(form.as_dict()) == form
    assert form.as_dict()["salary_min"] == "60000"
    assert SearchForm().url() == "/careers"
    assert SearchForm(q="a b", state="TX").url() == "/careers?q=a+b&state=TX"
    assert form.url(q="", state="").startswith("/careers?work_mode=remote&credential=CCS-P")
    assert SearchForm(q="x").page_url(3) == "/careers?q=x&page=3"
    assert SearchForm().page_url(2) == "/careers?page=2"
    assert form.filtered and not SearchForm(q="x", sort="salary").filtered
    # Case-insensitive choices come back in their canonical spelling.
    assert SearchForm.from_query(
        {"credential": "ccs-p", "state": "tx", "specialty": "cardiology"}
    ) == (SearchForm(credential="CCS-P", state="TX", specialty="Cardiology"))
    assert SearchForm.from_query({"salary_min": "$65k"}).salary_min == 65_000


def test_bad_parameters_are_ignored_with_a_note() -> None:
    form, notes = SearchForm.parse(
        {
            "q": "coder",
            "work_mode": "moon",
            "state": "ZZ",
            "credential": "WIZARD",
            "salary_min": "lots",
            "posted_within": "-3",
            "sort": "random",
            "experience": "mid",
        }
    )
    assert form == SearchForm(q="coder", experience="mid")
    joined = " ".join(notes)
    for fragment in ("work mode “moon”", "state “ZZ”", "credential “WIZARD”", "“lots”",
                     "posted within -3", "sort order “random”"):  # fmt: skip
        assert fragment in joined, fragment


# --- the page -----------------------------------------------------------------------------------


async def test_the_search_page_filters_without_javascript(client: PortalClient) -> None:
    word = token()
    remote = await insert_job(word, title="Remote Coder", work_mode="remote", state="", city="")
    onsite = await insert_job(word, title="Onsite Coder")
    page = await client.get(f"/careers?q={word}&work_mode=remote")
    assert page.status_code == 200
    assert f'href="/careers/jobs/{remote}"' in page.text
    assert f'href="/careers/jobs/{onsite}"' not in page.text
    for label in ("Work mode", "State", "Credential", "Specialty", "Experience",
                  "Minimum salary", "Posted", "Sort by"):  # fmt: skip
        assert f">{label}</label>" in page.text, label
    assert '<option value="remote" selected>' in page.text
    assert "1 job for" in text_of(page.text)
    assert 'role="search"' in page.text and 'action="/careers"' in page.text

    # A plain form sends its empty filters too: the same search at its clean address.
    plain = await client.get(f"/careers?q={word}&work_mode=remote&state=&credential=&sort=")
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/careers?q={word}&work_mode=remote"


async def test_htmx_gets_the_results_fragment_and_a_clean_url(client: PortalClient) -> None:
    word = token()
    job = await insert_job(word, experience="senior")
    response = await client.get(
        f"/careers?q={word}&experience=senior&state=&work_mode=",
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "<title>" in response.text
    assert f'href="/careers/jobs/{job}"' in response.text
    assert 'id="search-status"' in response.text and 'hx-swap-oob="true"' in response.text
    assert response.headers["hx-push-url"] == f"/careers?q={word}&experience=senior"
    assert "HX-Request" in response.headers["vary"]
    # A history restore gets the whole page.
    restore = await client.get(
        f"/careers?q={word}",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


async def test_bad_parameters_on_the_page_are_ignored_and_said(client: PortalClient) -> None:
    word = token()
    job = await insert_job(word)
    response = await client.get(f"/careers?q={word}&work_mode=moon&salary_min=abc&page=x")
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Ignored the unknown work mode “moon”." in text
    assert "Ignored the salary minimum “abc”: it is not a number." in text
    assert f'href="/careers/jobs/{job}"' in response.text


async def test_empty_states_and_pages(client: PortalClient) -> None:
    word = token()
    none = await client.get(f"/careers?q={word}&state=TX")
    assert "No jobs match this search" in text_of(none.text)
    assert f'href="/careers?q={word}"' in none.text, "a link without the filters"
    for n in range(21):
        await insert_job(word, days_ago=n / 100)
    first = await client.get(f"/careers?q={word}")
    assert "Page 1 of 2" in text_of(first.text)
    assert f'href="/careers?q={word}&amp;page=2"' in first.text
    second = await client.get(f"/careers?q={word}&page=2")
    assert "Page 2 of 2" in text_of(second.text) and "Jobs 21–21 of 21" in text_of(second.text)


async def test_an_expired_posting_is_not_found_by_the_search_page(client: PortalClient) -> None:
    word = token()
    job = await insert_job(word, title="Short Lived")
    assert f"/careers/jobs/{job}" in (await client.get(f"/careers?q={word}")).text
    await Job.update({Job.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        Job.id == job
    )
    page = await client.get(f"/careers?q={word}")
    assert f"/careers/jobs/{job}" not in page.text
    assert (await client.get(f"/careers/jobs/{job}")).status_code == 404


async def test_similar_jobs() -> None:
    word = token()
    owner = await employer_id()
    base_id = await insert_job(
        word,
        title="Cardiology Coder",
        credentials=["CPC", "CCS"],
        specialties=["Cardiology"],
        account_id=owner,
    )
    close = await insert_job(
        word,
        title="Cardiology Coding Specialist",
        credentials=["CCS"],
        specialties=["Cardiology"],
    )
    unrelated = await insert_job(
        word,
        title="Front Desk Biller",
        credentials=["CPB"],
        specialties=["Billing and AR"],
        experience="entry",
        work_mode="remote",
        state="",
        city="",
    )
    hidden = await insert_job(
        word,
        title="Cardiology Coder",
        credentials=["CPC", "CCS"],
        specialties=["Cardiology"],
        status="closed",
    )
    base = await postings.get_job(base_id)
    assert base is not None
    found = [j.id for j in await search.similar(base, limit=50)]
    assert close in found
    assert base_id not in found and hidden not in found and unrelated not in found
