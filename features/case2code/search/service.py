"""The one search call every caller uses (pages, the JSON API, case to code, the assistant), and
the process's index behind it.

Each process holds the index in memory (DESIGN.md section 4 allows read-only data such as this).
It is built from the catalog once per set of releases and kept as a file under the state folder,
so a second process, or a restart, loads it in a fraction of a second instead of building it.
An import changes the releases' signature; the next search notices within a few seconds and the
index is rebuilt in the background while the old one keeps answering.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import structlog

from features.case2code.search import documents
from features.case2code.search.hits import (
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SYSTEM_FILTERS,
    SearchQueryError,
    SearchResult,
    SearchUnavailable,
)
from features.case2code.search.index import SearchIndex
from portal import runtime

log = structlog.get_logger("case2code.search")

CHECK_EVERY_S = 5.0  # how often a process asks whether an import changed the releases
INDEX_FORMAT = 9  # bump when the meaning of SearchIndex's fields changes


class _Results:
    """Results of repeated queries (the search box's popular words, active search re-asking
    after a back button), for the index they came from."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.entries: OrderedDict[tuple[object, ...], SearchResult] = OrderedDict()

    def reset(self, index: SearchIndex) -> None:
        self.index, self.entries = index, OrderedDict()


class _State:
    def __init__(self) -> None:
        self.results = _Results()
        self.index: SearchIndex | None = None
        self.signature = ""
        self.checked_at = 0.0
        self.lock = asyncio.Lock()
        self.rebuilding: asyncio.Task[None] | None = None
        self.first: asyncio.Task[SearchIndex] | None = None  # loading for callers who won't wait


_state = _State()


def validate(query: str, system: str | None, limit: int) -> str:
    """The query as searched, or SearchQueryError with the message a user should see."""
    if query is None or not query.strip():
        raise SearchQueryError("Type a code or some words to search.")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchQueryError(
            f"The query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}."
        )
    if system and system not in SYSTEM_FILTERS:
        raise SearchQueryError(
            f"Unknown code system “{system[:40]}”: use one of {', '.join(SYSTEM_FILTERS)}."
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchQueryError(f"limit must be between 1 and {MAX_LIMIT}.")
    return query.lstrip()


async def search(
    query: str,
    *,
    system: str | None = None,
    billable_only: bool = False,
    chapter: str | None = None,
    limit: int = 20,
    wait: bool = False,
    complete: bool = True,
) -> SearchResult:
    """Search the catalog. Before this process has an index at all, SearchUnavailable (or,
    with `wait`, the time it takes to load or build it: seconds, not a request's worth).

    `complete`: read the last word as still being typed ("pneumo" -> pneumonia, ...), as the
    search box does; callers with whole words (case to code) turn it off."""
    text = validate(query, system, limit)
    index = await current_index(wait=wait)
    key = (text, system or None, billable_only, chapter or None, limit, complete)
    cache = _state.results
    if cache.index is not index:
        cache.reset(index)
    found = cache.entries.get(key)
    if found is not None:
        cache.entries.move_to_end(key)
        return found
    found = index.search(
        text,
        system=system or None,
        billable_only=billable_only,
        chapter=chapter or None,
        limit=limit,
        complete=complete,
    )
    size = runtime.current().settings.search_cache_size
    if size:
        cache.entries[key] = found
        if len(cache.entries) > size:
            cache.entries.popitem(last=False)
    return found


async def current_index(wait: bool = True) -> SearchIndex:
    state = _state
    if state.index is not None and time.monotonic() - state.checked_at < CHECK_EVERY_S:
        return state.index
    if state.index is None and not wait:
        if state.first is not None and state.first.done():
            # Done without an index: it failed (logged below); the next request tries again.
            state.first = None
        if state.first is None:
            state.first = asyncio.create_task(_first_load(), name="search index")
        raise SearchUnavailable()
    async with state.lock:
        if state.index is not None and time.monotonic() - state.checked_at < CHECK_EVERY_S:
            return state.index
        signature = await documents.signature()
        state.checked_at = time.monotonic()
        if state.index is not None and signature == state.signature:
            return state.index
        if state.index is None:
            state.index, state.signature = await _load_or_build(signature), signature
        elif state.rebuilding is None or state.rebuilding.done():
            state.rebuilding = asyncio.create_task(_rebuild(signature))
        return state.index


async def _first_load() -> None:
    try:
        await current_index()
    except Exception:
        log.exception("search index could not be loaded or built")


async def _rebuild(signature: str) -> None:
    try:
        index = await _load_or_build(signature)
    except Exception:  # the previous index keeps answering; the next check tries again
        log.exception("search index rebuild failed")
        return
    _state.index, _state.signature = index, signature


def forget() -> None:
    """Drop the process's index (tests that swap databases under one process)."""
    global _state
    _state = _State()


def _cache_path(signature: str) -> Path:
    folder = runtime.current().settings.state_dir / "search"
    return folder / f"index-v{INDEX_FORMAT}-{signature}.pickle"


async def _load_or_build(signature: str) -> SearchIndex:
    path = _cache_path(signature)
    if path.exists():
        try:
            return await asyncio.to_thread(_read, path)
        except Exception:  # a truncated or foreign file: build afresh
            log.warning("search index file unreadable, rebuilding", path=str(path))
    started = time.perf_counter()
    docs = await documents.load_documents()
    index = await asyncio.to_thread(SearchIndex.build, docs)
    await asyncio.to_thread(_write, path, index)
    log.info(
        "search index built",
        documents=len(docs),
        seconds=round(time.perf_counter() - started, 1),
    )
    return index


def _read(path: Path) -> SearchIndex:
    with path.open("rb") as handle:
        index = pickle.load(handle)  # noqa: S301 (our own file, in our own state folder)
    if not isinstance(index, SearchIndex) or index.__dict__.keys() != SearchIndex().__dict__.keys():
        raise TypeError("not a search index of this version")
    return index


def _write(path: Path, index: SearchIndex) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("index-*.pickle"):  # an earlier release's index
        if old != path:
            old.unlink(missing_ok=True)
    # Written beside and renamed: a second process never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-")
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
    Path(tmp).replace(path)


async def ready() -> SearchIndex:
    """The index for the catalog as it is now, built first if an import changed it (callers
    that must not see a previous release's index, such as tests and benchmarks)."""
    _state.checked_at = 0.0
    await current_index()
    if _state.rebuilding is not None:
        await _state.rebuilding
        _state.rebuilding = None
    assert _state.index is not None
    return _state.index


async def warm_up() -> None:
    """Load (or build) the index when a web process starts; a failure only means the first
    search builds it instead."""
    try:
        await current_index()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("search index warm-up failed")
