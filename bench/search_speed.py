"""Search speed and memory: latency of the engine in-process, requests per second of the search
API against a bare JSON endpoint, and what the index costs a server process.

What is measured, in one run on the same catalog (the search code sets imported into the bench
state dir, as bench/search_quality.py does):

  latency   p50 / p95 / p99 / max of one search call in this process, after a warm-up pass, over
            every query of the evaluation set (bench/search_eval.py) repeated `--repeat` times in
            a seeded shuffled order: the portal engine (`SearchIndex.search(query, limit=20)`,
            the full index, nothing held out) and the SQLite FTS5 baseline of
            bench/search_quality.py (in-memory, `--fts-mode`, 20 rows) side by side.
  rps       one uvicorn worker serving `bench.app:create_bench_app` in the embedded mode; each
            `GET /api/v1/search?q=...` URL alternates, round after round, with its own runs of
            `GET /_bench/bare.json` (a small constant dict through the same app and middleware,
            no database), with wrk or bench/loadgen.py (bench/harness.py). The per-address API
            rate limit is raised for the run (API_RATE_LIMIT); its middleware still runs on
            the search requests only, as in production. Target: search / bare >= 1/3.
  memory    VmRSS of the server process (/proc/<pid>/status) once /healthz answers, with no
            index yet (the bench app runs with BENCH_NO_WARM_UP=1: the index is loaded by the
            first search instead of in the background at start-up), and once the first search
            answers (the API says 503 until the process has its index; polled every 50 ms),
            with the time that took: the load of the index file the portal keeps under the
            state dir (`search/index-*.pickle`), or its build from the catalog when there is no
            file yet (then the server is restarted to measure the load too). VmHWM (peak) and
            the file's size are reported with them. The in-process part adds each engine's
            build time, the pickled index's size and unpickling time (portal) and the FTS5
            table's size.

Why ratios and side-by-side figures: this is a noisy 2-core machine shared with other work
(±10 % run to run); the API's requests per second only mean something against the bare
endpoint measured alternately on the same server, and the engines' latencies against each other
in the same process.

    cd /work/main && uv run python bench/search_speed.py [--state-dir DIR] [--quick]
        [--repeat 5] [--fts-mode and-or] [--skip-latency] [--skip-http] [--duration 5]
        [--rounds 3] [--connections 32] [--threads 2] [--loadgen auto|wrk|python] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx

from bench.app import BARE_JSON_PATH, NO_WARM_UP_ENV
from bench.harness import (
    BenchError,
    LoadGen,
    Page,
    add_load_arguments,
    check_load_arguments,
    fetch_ok,
    free_port,
    loadgen_from_args,
    page_vs_bare_rounds,
    ratio,
    report_problems,
    server_process,
    settings_summary,
    warm_up,
)
from bench.search_eval import ensure_search_data, search_state
from bench.search_quality import FTS_MODES, FtsBaseline, PortalEngine, prepare

TARGET_RATIO = 1 / 3
HTTP_QUERIES = ("heart attack", "e11.9", "diabetes with kidney complications")
FIRST_SEARCH_TIMEOUT_S = 600.0  # a build from the catalog on a busy machine
UNAVAILABLE_POLL_S = 0.05  # the API answers 503 until the process has its index
API_RATE_LIMIT = "1000000000"  # per minute: the API's per-address limit out of the way
INDEX_GLOB = "index-*.pickle"  # features/case2code/search/service.py keeps it in STATE/search


# -- latency (in-process) -----------------------------------------------------------------------


@dataclass
class Latency:
    engine: str
    samples_ms: list[float] = field(default_factory=list)
    build_s: float = 0.0
    size_mb: float = 0.0  # the pickled index (portal) or the FTS5 database pages (fts5)
    load_s: float | None = None  # unpickling the index, as a process does on its first search
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[q - 1]

    def summary(self) -> dict[str, Any]:
        return {
            "calls": len(self.samples_ms),
            "p50_ms": round(self.quantile(50), 3),
            "p95_ms": round(self.quantile(95), 3),
            "p99_ms": round(self.quantile(99), 3),
            "max_ms": round(max(self.samples_ms), 3),
            "mean_ms": round(statistics.fmean(self.samples_ms), 3),
            "build_s": round(self.build_s, 2),
            "size_mb": round(self.size_mb, 1),
            "load_s": None if self.load_s is None else round(self.load_s, 2),
            "slowest": [{"ms": round(ms, 2), "query": q} for ms, q in self.slowest],
        }


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM of a process in MB, from /proc/<pid>/status."""
    wanted = {"VmRSS", "VmHWM"}
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in wanted:
                found[name] = int(value.split()[0]) / 1024  # kB
    return found


def time_calls(
    engine: str, search: Callable[[str], object], queries: Sequence[str], repeat: int, seed: int
) -> Latency:
    for query in queries:  # warm-up pass, discarded
        search(query)
    result = Latency(engine)
    worst: dict[str, float] = {}
    rng = random.Random(seed)
    for _ in range(repeat):
        order = list(queries)
        rng.shuffle(order)
        for query in order:
            started = time.perf_counter_ns()
            search(query)
            ms = (time.perf_counter_ns() - started) / 1e6
            result.samples_ms.append(ms)
            worst[query] = max(ms, worst.get(query, 0.0))
    result.slowest = sorted(((ms, q) for q, ms in worst.items()), reverse=True)[:5]
    return result


def measure_latency(
    state_dir: Path, seed: int, repeat: int, fts_mode: str, quick: bool
) -> tuple[list[Latency], dict[str, Any]]:
    from features.case2code.search.index import SearchIndex

    prepared = prepare(state_dir, seed, 0.34 if quick else 1.0)
    queries = [item.query for item in prepared.eval_set.items]
    documents = prepared.documents
    info: dict[str, Any] = {"queries": len(queries), "documents": len(documents)}
    del prepared
    gc.collect()

    started = time.perf_counter()
    index = SearchIndex.build(documents)
    portal_build = time.perf_counter() - started
    blob = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)  # as service.py keeps it
    started = time.perf_counter()
    pickle.loads(blob)  # the bytes just made
    portal_load = time.perf_counter() - started
    portal_size = len(blob) / 1e6
    del blob
    gc.collect()

    started = time.perf_counter()
    fts = FtsBaseline(documents, frozenset(), fts_mode)
    fts_build = time.perf_counter() - started
    del documents
    gc.collect()

    portal_engine = PortalEngine(index)
    results = []
    for name, search, build_s, size_mb, load_s in (
        ("portal", portal_engine.search, portal_build, portal_size, portal_load),
        (f"fts5 ({fts_mode})", fts.search, fts_build, fts.database_bytes() / 1e6, None),
    ):
        latency = time_calls(name, search, queries, repeat, seed)
        latency.build_s, latency.size_mb, latency.load_s = build_s, size_mb, load_s
        results.append(latency)
        print(
            f"latency {name}: p50 {latency.quantile(50):.2f} ms, p99 {latency.quantile(99):.2f} ms",
            file=sys.stderr,
        )
    return results, info


# -- the server: memory and requests per second -------------------------------------------------


@dataclass
class FirstSearch:
    built: bool  # the first search built the index (no file yet) rather than loading it
    seconds: float
    rss_before_mb: float
    rss_after_mb: float
    hwm_after_mb: float
    index_file_mb: float | None

    def summary(self) -> dict[str, Any]:
        return {
            "built": self.built,
            "first_search_s": round(self.seconds, 2),
            "rss_before_mb": round(self.rss_before_mb, 1),
            "rss_after_mb": round(self.rss_after_mb, 1),
            "rss_added_mb": round(self.rss_after_mb - self.rss_before_mb, 1),
            "peak_rss_mb": round(self.hwm_after_mb, 1),
            "index_file_mb": None if self.index_file_mb is None else round(self.index_file_mb, 1),
        }


@dataclass
class SearchPage:
    query: str
    page: Page
    bare: Page

    @property
    def ratio(self) -> float:
        return ratio(self.page, self.bare)


def search_path(query: str) -> str:
    return f"/api/v1/search?q={quote_plus(query)}"


def _index_files(state_dir: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (state_dir / "search").glob(INDEX_GLOB)}


def first_search(state_dir: Path, base_url: str, pid: int) -> FirstSearch:
    """Search until the API answers (503 while the process loads or builds its index)."""
    before_files = _index_files(state_dir)
    rss_before = proc_status(pid)["VmRSS"]
    started = time.perf_counter()
    while True:
        try:
            response = httpx.get(base_url + search_path(HTTP_QUERIES[0]), timeout=60.0)
        except httpx.HTTPError as exc:
            raise BenchError(f"the first search failed: {exc!r}") from exc
        if response.status_code != 503:
            break
        if time.perf_counter() - started > FIRST_SEARCH_TIMEOUT_S:
            raise BenchError(f"search unavailable for {FIRST_SEARCH_TIMEOUT_S:.0f} s")
        time.sleep(UNAVAILABLE_POLL_S)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"the first search returned {response.status_code}: {response.text[:300]}")
    status = proc_status(pid)
    after_files = _index_files(state_dir)
    built = any(before_files.get(p) != mtime for p, mtime in after_files.items())
    size = max((p.stat().st_size for p in after_files), default=None)
    return FirstSearch(
        built,
        seconds,
        rss_before,
        status["VmRSS"],
        status["VmHWM"],
        None if size is None else size / 1e6,
    )


def check_search(base_url: str, item: SearchPage) -> None:
    response = fetch_ok(base_url, item.page.path)
    try:
        results = response.json()["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"GET {item.page.path}: not the search API's JSON: {exc!r}") from exc
    if not results:
        raise BenchError(f"GET {item.page.path}: no results; not measuring")
    fetch_ok(base_url, item.bare.path, contains=['"items"'])


def run_rounds(
    args: argparse.Namespace, loadgen: LoadGen, base_url: str, queries: Sequence[str]
) -> list[SearchPage]:
    pages = [
        SearchPage(q, Page(f"search {q!r}", search_path(q)), Page("bare", BARE_JSON_PATH))
        for q in queries
    ]
    for item in pages:
        check_search(base_url, item)
    warm_up(loadgen, base_url, [p for i in pages for p in (i.page, i.bare)], args.warmup)

    page_vs_bare_rounds(
        loadgen,
        base_url,
        [(repr(item.query), item.page, item.bare) for item in pages],
        args.rounds,
        args.duration,
    )
    return pages


def measure_server(
    args: argparse.Namespace, loadgen: LoadGen | None, state_dir: Path
) -> tuple[list[FirstSearch], list[SearchPage], float]:
    """First searches (a build, when there is no index file yet, then a load) and, on the
    server that loaded the file, the alternating rounds; and the RSS after the rounds."""
    # portal_env copies this process's environment into the server's
    os.environ["API_RATE_LIMIT"] = API_RATE_LIMIT
    os.environ[NO_WARM_UP_ENV] = "1"  # the index loads on the first search, not at start-up
    firsts: list[FirstSearch] = []
    queries = HTTP_QUERIES[:1] if args.quick else HTTP_QUERIES
    for _ in range(2):
        with server_process(state_dir, args.port or free_port()) as (base_url, proc):
            first = first_search(state_dir, base_url, proc.pid)
            firsts.append(first)
            print(
                f"server: first search {'built' if first.built else 'loaded'} the index in "
                f"{first.seconds:.1f} s; RSS {first.rss_before_mb:.0f} -> "
                f"{first.rss_after_mb:.0f} MB",
                file=sys.stderr,
            )
            if first.built:
                continue  # restart: a process that finds the file, as most do
            pages = [] if loadgen is None else run_rounds(args, loadgen, base_url, queries)
            return firsts, pages, proc_status(proc.pid)["VmRSS"]
    raise BenchError("the index was built on two server starts in a row: the file is not kept")


# -- report -------------------------------------------------------------------------------------


def print_latency(latencies: Sequence[Latency], info: dict[str, Any], repeat: int) -> None:
    print(
        f"search latency in-process: {info['queries']} evaluation queries x {repeat} "
        f"(after a warm-up pass), {info['documents']} documents, 20 results"
    )
    print(
        f"  {'engine':<16}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'build s':>9}{'size MB':>9}{'load s':>8}"
    )
    for lat in latencies:
        load = "-" if lat.load_s is None else f"{lat.load_s:.2f}"
        print(
            f"  {lat.engine:<16}{lat.quantile(50):>8.2f}{lat.quantile(95):>8.2f}"
            f"{lat.quantile(99):>8.2f}{max(lat.samples_ms):>8.1f}{lat.build_s:>9.1f}"
            f"{lat.size_mb:>9.0f}{load:>8}"
        )
    print(
        "  size: the pickled index a process loads (portal), the FTS5 table's pages "
        "(fts5: in the database file in a deployment, read through SQLite's page cache)"
    )
    for lat in latencies:
        slow = ", ".join(f"{q!r} {ms:.1f}" for ms, q in lat.slowest)
        print(f"  slowest {lat.engine} (ms): {slow}")


def print_server(
    args: argparse.Namespace,
    loadgen: LoadGen | None,
    firsts: Sequence[FirstSearch],
    pages: Sequence[SearchPage],
    rss_end: float,
) -> None:
    print("search index in a server process (uvicorn, 1 worker, embedded mode):")
    for first in firsts:
        what = "built from the catalog" if first.built else "loaded from its file"
        size = f", file {first.index_file_mb:.0f} MB" if first.index_file_mb else ""
        added = first.rss_after_mb - first.rss_before_mb
        print(
            f"  first search ({what}): {first.seconds:.2f} s; RSS {first.rss_before_mb:.0f} MB "
            f"before -> {first.rss_after_mb:.0f} MB after (+{added:.0f}), "
            f"peak {first.hwm_after_mb:.0f} MB{size}"
        )
    print(f"  RSS after the load rounds: {rss_end:.0f} MB")
    if not pages or loadgen is None:
        return
    print(
        f"search API vs bare JSON: {loadgen.describe()}; {args.rounds} rounds x "
        f"{args.duration:g}s per URL (median); each query alternates with its own bare runs"
    )
    width = max(len(p.page.label) for p in pages) + 2
    print(f"  {'URL':<{width}}{'median req/s':>13}{'bare req/s':>12}{'ratio':>8}   rounds (bare)")
    for item in pages:
        print(
            f"  {item.page.label:<{width}}{item.page.median_rps:>13.1f}"
            f"{item.bare.median_rps:>12.1f}{item.ratio:>8.3f}"
            f"   [{item.page.rounds_text()}] ([{item.bare.rounds_text()}])"
        )
    below = [item.query for item in pages if not item.ratio >= TARGET_RATIO]
    verdict = "met" if not below else f"NOT met by {', '.join(map(repr, below))}"
    print(f"  target search/bare >= 1/3: {verdict}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Search latency (portal engine vs SQLite FTS5, in-process), requests per "
        "second of /api/v1/search against a bare JSON endpoint, and the index's memory."
    )
    add_load_arguments(parser)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="bench state dir (SQLite with the search code sets, imported when missing, and "
        "the index file the server keeps; default: a fresh temporary dir)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the queries' order (7)")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the queries (5)")
    parser.add_argument(
        "--fts-mode",
        choices=FTS_MODES,
        default="and-or",
        help="how the baseline joins the words (and-or: its best mode in search_quality)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a third of the queries, 2 passes; one API query, 1 round of 2 s, 1 s warm-up",
    )
    parser.add_argument("--skip-latency", action="store_true", help="no in-process part")
    parser.add_argument(
        "--skip-http", action="store_true", help="no load rounds (memory and first search only)"
    )
    args = parser.parse_args(argv)
    check_load_arguments(parser, args)
    if args.quick:
        args.repeat, args.rounds, args.duration, args.warmup = 2, 1, 2.0, 1.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    summary: dict[str, Any] = {"quick": args.quick}
    latencies: list[Latency] = []
    info: dict[str, Any] = {}
    try:
        loadgen = None if args.skip_http else loadgen_from_args(args)
        with search_state(args.state_dir) as state_dir:
            summary["import_s"] = ensure_search_data(state_dir)
            firsts, pages, rss_end = measure_server(args, loadgen, state_dir)
            if not args.skip_latency:
                latencies, info = measure_latency(
                    state_dir, args.seed, args.repeat, args.fts_mode, args.quick
                )
    except BenchError as exc:
        print(f"search_speed: {exc}", file=sys.stderr)
        return 2
    if latencies:
        print_latency(latencies, info, args.repeat)
    print_server(args, loadgen, firsts, pages, rss_end)
    problems = (
        report_problems([p for item in pages for p in (item.page, item.bare)], loadgen)
        if loadgen is not None and pages
        else []
    )
    if args.json:
        summary.update(
            {
                "latency": {lat.engine: lat.summary() for lat in latencies},
                "latency_info": info,
                "repeat": args.repeat,
                "server": {
                    "first_searches": [f.summary() for f in firsts],
                    "rss_after_rounds_mb": round(rss_end, 1),
                },
                "target_ratio": TARGET_RATIO,
                "api": {
                    item.query: {
                        **item.page.summary(),
                        "bare": item.bare.summary(),
                        "ratio_over_bare": item.ratio,
                    }
                    for item in pages
                },
            }
        )
        if loadgen is not None:
            summary.update(settings_summary(args, loadgen))
        print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
