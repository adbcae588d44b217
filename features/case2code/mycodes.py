"""My codes: an account's starred codes, private notes and recent searches. No web imports.

A code's star and note share one row (case2code_my_code); the row goes when it holds neither.
Writes that may race (a double click, two tabs) are upserts on the unique indexes the migration
creates, so they are idempotent on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from piccolo.columns.combination import And

from features.case2code import catalog
from features.case2code.mycodes_tables import MyCode, RecentSearch
from features.case2code.search.hits import MAX_QUERY_CHARS
from features.case2code.systems import SYSTEMS, CodeFormatError, System, system_for
from portal import runtime
from portal.errors import NotFound, ValidationFailed

MAX_NOTE_CHARS = 2000
MAX_RECENT = 20
# Active search asks the server at every pause in typing: a query that extends (or trims) the
# one recorded just before is the same search still being typed, and replaces it.
TYPING_WINDOW = timedelta(seconds=30)


@dataclass(frozen=True)
class Entry:
    """What an account keeps about one code."""

    starred: bool
    note: str


@dataclass(frozen=True)
class MyCodeItem:
    system: System
    code: str
    display: str
    title: str | None  # None: the code is not in the current catalog any more
    release: str | None
    starred: bool
    note: str

    @property
    def url(self) -> str:
        return f"/codes/{self.system.slug}/{self.display}"


@dataclass(frozen=True)
class MyCodes:
    starred: list[MyCodeItem]
    noted: list[MyCodeItem]  # codes with a note that are not starred


async def check_code(system_slug: str, raw_code: str) -> tuple[System, catalog.CodeView]:
    """The system and code a form names, if the catalog has that code."""
    system = system_for(system_slug.strip())
    if system is None:
        raise ValidationFailed({"system": f"Choose one of: {', '.join(SYSTEMS)}."})
    try:
        code = system.normalise(raw_code)
    except CodeFormatError as exc:
        raise ValidationFailed({"code": str(exc)}) from exc
    view = await catalog.get_code(system.slug, code)
    if view is None and system.slug == "cpt":
        view = await catalog.cpt_without_licence(code)
    if view is None:
        raise NotFound(f"There is no {system.label} code {code} in the catalog.")
    return system, view


def _now() -> datetime:
    return datetime.now(UTC)


def _key(account_id: int, system: str, code: str) -> And:
    return (MyCode.account_id == account_id) & (MyCode.system == system) & (MyCode.code == code)


async def _drop_if_empty(account_id: int, system: str, code: str) -> None:
    await MyCode.delete().where(
        _key(account_id, system, code) & (MyCode.starred == False) & (MyCode.note == "")  # noqa: E712
    )


async def set_star(account_id: int, system: str, code: str, starred: bool) -> None:
    """Star or unstar a code: a state, not a toggle, so a repeated request changes nothing."""
    try:
        now = _now()
        if starred:
            await MyCode.raw(
                "INSERT INTO case2code_my_code "
                "(account_id, system, code, starred, note, created_at, updated_at) "
                "VALUES ({}, {}, {}, {}, '', {}, {}) "
                "ON CONFLICT (account_id, system, code) "
                "DO UPDATE SET starred = excluded.starred, updated_at = excluded.updated_at",
                account_id,
                system,
                code,
                True,
                now,
                now,
            )
            return
        await MyCode.update({MyCode.starred: False, MyCode.updated_at: now}).where(
            _key(account_id, system, code)
        )
        await _drop_if_empty(account_id, system, code)
    finally:
        _forget(account_id)  # after the write: the next read sees it


def clean_note(note: str) -> str:
    """The note as stored: plain text, Unix line ends, no trailing blanks; too long is an error."""
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTE_CHARS:
        message = f"A note can be at most {MAX_NOTE_CHARS} characters (this one has {len(text)})."
        raise ValidationFailed({"note": message})
    return text


async def save_note(account_id: int, system: str, code: str, note: str) -> str:
    """Keep (or, when empty, remove) the account's private note on a code; returns it."""
    try:
        text = clean_note(note)
        now = _now()
        if text:
            await MyCode.raw(
                "INSERT INTO case2code_my_code "
                "(account_id, system, code, starred, note, created_at, updated_at) "
                "VALUES ({}, {}, {}, {}, {}, {}, {}) "
                "ON CONFLICT (account_id, system, code) "
                "DO UPDATE SET note = excluded.note, updated_at = excluded.updated_at",
                account_id,
                system,
                code,
                False,
                text,
                now,
                now,
            )
        else:
            await MyCode.update({MyCode.note: "", MyCode.updated_at: now}).where(
                _key(account_id, system, code)
            )
            await _drop_if_empty(account_id, system, code)
        return text
    finally:
        _forget(account_id)  # after the write: the next read sees it


# Every signed-in code page shows the reader's star and note: a process keeps each account's
# rows as it keeps the account itself (portal.recent_reads), and its own writes drop them.
def _forget(account_id: int) -> None:
    runtime.current().recent("my-codes").forget(account_id)


async def _entries(account_id: int) -> dict[tuple[str, str], Entry]:
    rows = await MyCode.select(MyCode.system, MyCode.code, MyCode.starred, MyCode.note).where(
        MyCode.account_id == account_id
    )
    return {(r["system"], r["code"]): Entry(bool(r["starred"]), r["note"]) for r in rows}


async def entry(account_id: int, system: str, code: str) -> Entry:
    mine = await runtime.current().recent("my-codes").get(account_id, lambda: _entries(account_id))
    return mine.get((system, code), Entry(False, ""))  # type: ignore[no-any-return]


async def starred_among(account_id: int, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (system, code) pairs the account starred: one query for a results page."""
    wanted = set(keys)
    if not wanted:
        return set()
    rows = await MyCode.select(MyCode.system, MyCode.code).where(
        (MyCode.account_id == account_id)
        & (MyCode.starred == True)  # noqa: E712
        & MyCode.code.is_in(sorted({code for _, code in wanted}))
    )
    return {(r["system"], r["code"]) for r in rows} & wanted


async def my_codes(account_id: int) -> MyCodes:
    """The account's starred and noted codes, newest first, with their current titles."""
    rows = (
        await MyCode.select(MyCode.system, MyCode.code, MyCode.starred, MyCode.note)
        .where(MyCode.account_id == account_id)
        .order_by(MyCode.created_at, ascending=False)
        .order_by(MyCode.id, ascending=False)
    )
    views: dict[tuple[str, str], catalog.CodeView] = {}
    for slug in {r["system"] for r in rows}:
        found = await catalog.codes(slug, [r["code"] for r in rows if r["system"] == slug])
        views.update({(slug, code): view for code, view in found.items()})
    items: list[MyCodeItem] = []
    for r in rows:
        system = system_for(r["system"])
        if system is None:  # a code set the portal no longer has
            continue
        view = views.get((r["system"], r["code"]))
        if view is None and system.slug == "cpt":
            view = await catalog.cpt_without_licence(r["code"])
        items.append(
            MyCodeItem(
                system=system,
                code=r["code"],
                display=view.display if view else system.display(r["code"]),
                title=view.title if view else None,
                release=view.release.label if view else None,
                starred=bool(r["starred"]),
                note=r["note"],
            )
        )
    return MyCodes(
        starred=[i for i in items if i.starred], noted=[i for i in items if not i.starred]
    )


def clean_query(query: str) -> str:
    return " ".join(query.split())[:MAX_QUERY_CHARS]


async def record_search(account_id: int, query: str, *, now: datetime | None = None) -> None:
    """Remember a search; the account keeps its last MAX_RECENT distinct queries."""
    text = clean_query(query)
    if not text:
        return
    key = text.casefold()
    now = now or _now()
    latest = (
        await RecentSearch.select(RecentSearch.id, RecentSearch.query_key, RecentSearch.searched_at)
        .where(RecentSearch.account_id == account_id)
        .order_by(RecentSearch.searched_at, ascending=False)
        .order_by(RecentSearch.id, ascending=False)
        .first()
    )
    if (
        latest is not None
        and latest["query_key"] != key
        and now - latest["searched_at"] < TYPING_WINDOW
        and (key.startswith(latest["query_key"]) or latest["query_key"].startswith(key))
    ):
        await RecentSearch.delete().where(RecentSearch.id == latest["id"])
    await RecentSearch.raw(
        "INSERT INTO case2code_recent_search (account_id, query, query_key, searched_at) "
        "VALUES ({}, {}, {}, {}) "
        "ON CONFLICT (account_id, query_key) "
        "DO UPDATE SET query = excluded.query, searched_at = excluded.searched_at",
        account_id,
        text,
        key,
        now,
    )
    stale = (
        await RecentSearch.select(RecentSearch.id)
        .where(RecentSearch.account_id == account_id)
        .order_by(RecentSearch.searched_at, ascending=False)
        .order_by(RecentSearch.id, ascending=False)
        .limit(1000)  # SQLite takes no OFFSET without a LIMIT
        .offset(MAX_RECENT)
    )
    if stale:
        await RecentSearch.delete().where(RecentSearch.id.is_in([r["id"] for r in stale]))


async def recent_searches(account_id: int, limit: int = MAX_RECENT) -> list[str]:
    rows = (
        await RecentSearch.select(RecentSearch.query)
        .where(RecentSearch.account_id == account_id)
        .order_by(RecentSearch.searched_at, ascending=False)
        .order_by(RecentSearch.id, ascending=False)
        .limit(limit)
    )
    return [r["query"] for r in rows]


async def clear_recent(account_id: int) -> None:
    await RecentSearch.delete().where(RecentSearch.account_id == account_id)


async def delete_account_data(account_id: int) -> None:
    """The feature's account-deletion hook: nothing of the account stays in Case2Code."""
    await MyCode.delete().where(MyCode.account_id == account_id)
    await RecentSearch.delete().where(RecentSearch.account_id == account_id)
    _forget(account_id)
