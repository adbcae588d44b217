"""Job search: the form as the URL states it, and the query over live postings.

No Litestar here: the search page, the alert digests (which keep `SearchForm.as_dict()` and
rebuild it with `SearchForm.from_query`) and tests call these functions directly.

Full text is one LIKE per word over `search_text` (every word must match; both sides are lower
case, so it is case-insensitive with the same SQL on SQLite and PostgreSQL), then ranking in
Python over the matching rows' short columns: a word in the title weighs more than one in the
organisation, credentials or specialties, which weigh more than one only in the description. At
a job board's scale (thousands of live postings) that is a
few milliseconds; only the page's rows are then read in full.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import structlog

from features.careers.postings import (
    CREDENTIALS,
    EMPLOYMENT_TYPES,
    EXPERIENCE,
    SPECIALTIES,
    STATES,
    WORK_MODES,
    JobView,
    expire_due,
    jobs_by_ids,
)
from features.careers.tables import Job

log = structlog.get_logger("careers.search")

SEARCH_PATH = "/careers"
MAX_QUERY_CHARS = 200
MAX_WORDS = 12
MAX_POSTED_DAYS = 365
SORTS = {"": "Best match", "newest": "Newest first", "salary": "Highest salary first"}
POSTED_WITHIN = {1: "Past 24 hours", 3: "Past 3 days", 7: "Past week", 14: "Past 2 weeks",
                 30: "Past 30 days"}  # fmt: skip
SALARY_STEPS = (30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 100_000, 120_000, 150_000)
# How often a process writes expiries down while searching (reads never depend on it).
EXPIRE_EVERY_S = 60.0
_WORD = re.compile(r"[\w][\w.+/-]*")
_LIKE_SPECIALS = str.maketrans("", "", "%_\\")


def parse_money(raw: str) -> int | None:
    """A salary typed in a URL or box ("60000", "$60,000", "60k"); None when it is not one."""
    value = raw.strip().lower().replace(",", "").replace("$", "").replace(" ", "")
    factor = 1
    if value.endswith("k"):
        value, factor = value[:-1], 1000
    if not value or not re.fullmatch(r"\d+(\.\d+)?", value):
        return None
    try:
        number = Decimal(value) * factor
    except InvalidOperation:
        return None
    if number > 10_000_000:
        return None
    return int(number)


@dataclass(frozen=True)
class SearchForm:
    """The search as the URL states it: reload, back, a bookmark and an alert all keep it."""

    q: str = ""
    work_mode: str = ""
    state: str = ""
    credential: str = ""
    specialty: str = ""
    experience: str = ""
    employment_type: str = ""
    salary_min: int | None = None
    posted_within: int | None = None  # days
    sort: str = ""  # "": best match with words, newest without; "newest"; "salary"

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> SearchForm:
        """The form from URL parameters (or a stored `as_dict()`); what it cannot use is left
        out (see `parse` for the notes on what was left out)."""
        return cls.parse(params)[0]

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> tuple[SearchForm, list[str]]:
        """The form, and a note for each parameter that was ignored (unknown or malformed),
        for the page to show: a stale bookmark still searches, with what it could use."""
        notes: list[str] = []

        def text(name: str, limit: int = 60) -> str:
            value = params.get(name)
            return " ".join(str(value).split())[:limit] if value is not None else ""

        def choice(name: str, allowed: Mapping[str, str] | tuple[str, ...], label: str) -> str:
            raw = text(name)
            if not raw:
                return ""
            by_fold = {key.casefold(): key for key in allowed}
            found = by_fold.get(raw.casefold())
            if found is None:
                notes.append(f"Ignored the unknown {label} “{raw[:30]}”.")
                return ""
            return found

        salary = None
        raw_salary = text("salary_min")
        if raw_salary:
            salary = parse_money(raw_salary)
            if salary is None:
                notes.append(f"Ignored the salary minimum “{raw_salary[:20]}”: it is not a number.")
        posted = None
        raw_posted = text("posted_within")
        if raw_posted:
            if raw_posted.isdigit() and 1 <= int(raw_posted) <= MAX_POSTED_DAYS:
                posted = int(raw_posted)
            else:
                notes.append(
                    f"Ignored “posted within {raw_posted[:10]}”: use a number of days "
                    f"from 1 to {MAX_POSTED_DAYS}."
                )
        form = cls(
            q=text("q", MAX_QUERY_CHARS),
            work_mode=choice("work_mode", WORK_MODES, "work mode"),
            state=choice("state", STATES, "state"),
            credential=choice("credential", CREDENTIALS, "credential"),
            specialty=choice("specialty", SPECIALTIES, "specialty"),
            experience=choice("experience", EXPERIENCE, "experience level"),
            employment_type=choice("employment_type", EMPLOYMENT_TYPES, "employment type"),
            salary_min=salary or None,
            posted_within=posted,
            sort=choice("sort", tuple(SORTS), "sort order"),
        )
        return form, notes

    def as_dict(self) -> dict[str, str]:
        """The non-empty fields as URL parameters (strings), in a fixed order."""
        out: dict[str, str] = {}
        for name, value in asdict(self).items():
            if value not in (None, ""):
                out[name] = str(value)
        return out

    def url(self, **changes: Any) -> str:
        form = replace(self, **changes) if changes else self
        query = urlencode(form.as_dict())
        return f"{SEARCH_PATH}?{query}" if query else SEARCH_PATH

    def page_url(self, page: int) -> str:
        base = self.url()
        if page <= 1:
            return base
        return f"{base}{'&' if '?' in base else '?'}page={page}"

    @property
    def words(self) -> list[str]:
        """The query's words, lower case, once each, without LIKE wildcards."""
        seen: list[str] = []
        for match in _WORD.findall(self.q.lower().translate(_LIKE_SPECIALS)):
            word = match.strip(".+/-")[:40]
            if word and word not in seen:
                seen.append(word)
        return seen[:MAX_WORDS]

    @property
    def filtered(self) -> bool:
        """Any filter besides the words (the empty state offers to drop them)."""
        return any(
            getattr(self, f.name) not in (None, "")
            for f in fields(self)
            if f.name not in ("q", "sort")
        )

    @property
    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        return "relevance" if self.words else "newest"

    @property
    def summary(self) -> str:
        """The search in a few words, for titles and alert mails ("remote CPC jobs ...")."""
        parts: list[str] = []
        if self.q:
            parts.append(f"“{self.q}”")
        if self.work_mode:
            parts.append(WORK_MODES[self.work_mode])
        if self.employment_type:
            parts.append(EMPLOYMENT_TYPES[self.employment_type])
        if self.experience:
            parts.append(EXPERIENCE[self.experience])
        if self.credential:
            parts.append(self.credential)
        if self.specialty:
            parts.append(self.specialty)
        if self.state:
            parts.append(f"in {STATES[self.state]}")
        if self.salary_min:
            parts.append(f"${self.salary_min:,}+ a year")
        if self.posted_within:
            parts.append(POSTED_WITHIN.get(self.posted_within, f"past {self.posted_within} days"))
        return ", ".join(parts) if parts else "All jobs"


@dataclass(frozen=True)
class SearchPage:
    jobs: list[JobView]
    total: int
    page: int
    pages: int
    per_page: int = 20

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.jobs) - 1 if self.jobs else 0


_last_expiry = 0.0


async def _expire_now_and_then() -> None:
    global _last_expiry
    if time.monotonic() - _last_expiry < EXPIRE_EVERY_S:
        return
    _last_expiry = time.monotonic()
    try:
        await expire_due()
    except Exception:  # bookkeeping must never fail a search; reads apply the rule anyway
        log.warning("expiring postings failed", exc_info=True)


def _live(now: datetime) -> Any:
    return (Job.status == "active") & (Job.expires_at > now)


def _where(form: SearchForm, now: datetime, since: datetime | None) -> Any:
    where = _live(now)
    for word in form.words:
        where &= Job.search_text.like(f"%{word}%")
    for column, value in (
        (Job.work_mode, form.work_mode),
        (Job.state, form.state),
        (Job.experience, form.experience),
        (Job.employment_type, form.employment_type),
    ):
        if value:
            where &= column == value
    # A coarse SQL narrowing; the exact list membership is checked in Python (CCS vs CCS-P).
    for value in (form.credential, form.specialty):
        if value:
            where &= Job.search_text.like(f"%{value.lower().translate(_LIKE_SPECIALS)}%")
    if form.salary_min:
        where &= (Job.salary_max >= form.salary_min) | (
            Job.salary_max.is_null() & (Job.salary_min >= form.salary_min)
        )
    if form.posted_within:
        where &= Job.posted_at >= now - timedelta(days=form.posted_within)
    if since is not None:
        where &= Job.posted_at > since
    return where


_RANK_COLUMNS = (
    Job.id,
    Job.title,
    Job.organisation,
    Job.city,
    Job.state,
    Job.credentials,
    Job.specialties,
    Job.salary_min,
    Job.salary_max,
    Job.posted_at,
)


def _score(row: Mapping[str, Any], words: list[str]) -> int:
    title = row["title"].lower()
    title_words = set(_WORD.findall(title))
    tags = " ".join([row["organisation"], *row["credentials"], *row["specialties"]]).lower()
    place = f"{row['city']} {row['state']} {STATES.get(row['state'], '')}".lower()
    score = 0
    for word in words:
        if word in title_words:
            score += 10
        elif word in title:
            score += 6
        elif word in tags:
            score += 3
        elif word in place:
            score += 2
        else:
            score += 1  # found only in the description (or a label)
    return score


def _posted(row: Mapping[str, Any]) -> float:
    return row["posted_at"].timestamp() if row["posted_at"] else 0.0


def _top(row: Mapping[str, Any]) -> int | None:
    return row["salary_max"] if row["salary_max"] is not None else row["salary_min"]


def _ordered(rows: list[dict[str, Any]], form: SearchForm) -> list[dict[str, Any]]:
    sort = form.effective_sort
    if sort == "salary":
        return sorted(rows, key=lambda r: (_top(r) is None, -(_top(r) or 0), -_posted(r), -r["id"]))
    if sort == "relevance":
        words = form.words
        return sorted(rows, key=lambda r: (-_score(r, words), -_posted(r), -r["id"]))
    return sorted(rows, key=lambda r: (-_posted(r), -r["id"]))


async def _matching(form: SearchForm, since: datetime | None) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = await Job.select(*_RANK_COLUMNS).where(_where(form, now, since)).output(load_json=True)
    if form.credential:
        rows = [r for r in rows if form.credential in (r["credentials"] or ())]
    if form.specialty:
        rows = [r for r in rows if form.specialty in (r["specialties"] or ())]
    return rows


async def find(
    form: SearchForm, page: int = 1, per_page: int = 20, since: datetime | None = None
) -> SearchPage:
    """Live postings matching the form, ranked or sorted, one page of them. `since`: only
    postings that went live after it (alert digests). A page past the end shows the last."""
    await _expire_now_and_then()
    ranked = _ordered(await _matching(form, since), form)
    total = len(ranked)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    ids = [r["id"] for r in ranked[(page - 1) * per_page : page * per_page]]
    found = await jobs_by_ids(ids)
    jobs = [found[i] for i in ids if i in found]
    return SearchPage(jobs=jobs, total=total, page=page, pages=pages, per_page=per_page)


async def similar(job: JobView, limit: int = 4) -> list[JobView]:
    """Other live postings that share the most with this one: credentials and specialties
    first, then title words, then level, work mode and place."""
    now = datetime.now(UTC)
    rows = (
        await Job.select(*_RANK_COLUMNS, Job.experience, Job.work_mode)
        .where(_live(now) & (Job.id != job.id))
        .order_by(Job.posted_at, ascending=False)
        .limit(500)
        .output(load_json=True)
    )
    title_words = {w for w in _WORD.findall(job.title.lower()) if len(w) > 2}

    def score(row: Mapping[str, Any]) -> int:
        points = 3 * len(set(job.credentials) & set(row["credentials"] or ()))
        points += 3 * len(set(job.specialties) & set(row["specialties"] or ()))
        points += 2 * len(title_words & set(_WORD.findall(row["title"].lower())))
        points += row["experience"] == job.experience
        points += row["work_mode"] == job.work_mode
        points += bool(job.state) and row["state"] == job.state
        return int(points)

    scored = [(score(r), _posted(r), r["id"]) for r in rows]
    best = sorted((s for s in scored if s[0] >= 3), reverse=True)[:limit]
    ids = [i for _, _, i in best]
    found = await jobs_by_ids(ids)
    return [found[i] for i in ids if i in found]
