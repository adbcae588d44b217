"""Search quality: hit@1 and hit@5 of the portal's search engine against a plain full-text
baseline, on the evaluation set of bench/search_eval.py, in one run.

What is measured: every query of the evaluation set (inclusion terms, "includes" notes and index
entries held out of both engines, lay names, abbreviations, typos, typed codes, procedures in
words) is run against

  portal   features/case2code/search: `SearchIndex.build(documents, held_out=...)`, then
           `index.search(query, system=None, limit=20)`, as the search page and API call it;
  fts5     SQLite FTS5 (porter tokenizer, bm25 with the title weighted 2 against 1 for the other
           texts) over the same documents: title, short title, inclusion terms, "includes" notes
           and index entries, with the same held-out texts removed. The query is the words as
           typed, each quoted; `--fts-mode` joins them with AND, with OR, or AND falling back to
           OR when nothing matches every word (and-or); the default (`best`) runs all three and
           reports the one with the best ICD-10-CM hit@5 (ties: hit@1), and says which.

A query hits at k when one of the first k results is an acceptable code (the rules are in
bench/search_eval.py). The figures are per group and overall for the ICD-10-CM groups (the two
procedure groups are shown apart); the overall figure counts every ICD-10-CM query (the held-out
groups are most of them), and the mean of the groups' figures is printed under it. Targets, on
ICD-10-CM overall, for the portal engine: hit@1 >= 0.6 and hit@5 >= 0.85. `--misses` lists the
queries the engine missed (at 5) by group with what it returned, the ones with no acceptable code
in the first 20 first.

Why both engines in one run: the figures depend on the data imported and on the seeded sample of
held-out texts; only the two engines measured on the same set are comparable. The set is
deterministic for a seed and a catalog (`--seed`).

    cd /work/main && uv run python bench/search_quality.py [--state-dir DIR] [--quick]
        [--seed 7] [--fts-mode best|and|or|and-or] [--system-filter] [--misses [portal|fts|both]]
        [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import BenchError
from bench.search_eval import (
    CM,
    G_CODES_OTHER,
    G_PROCEDURES,
    GROUPS,
    Catalog,
    EvalItem,
    EvalSet,
    build_eval_set,
    ensure_search_data,
    held_out_triples,
    load_catalog,
    portal_runtime,
    search_state,
)

TARGET_HIT1 = 0.6
TARGET_HIT5 = 0.85
LIMIT = 20  # results asked for, as the search page and API do
QUICK_SCALE = 0.34  # --quick: about a third of the generated groups
NON_CM_GROUPS = (G_CODES_OTHER, G_PROCEDURES)
FTS_MODES = ("and", "or", "and-or")
FTS_TITLE_WEIGHT = 2.0
SearchFn = Callable[[str, str | None], list[tuple[str, str]]]


# -- the engines --------------------------------------------------------------------------------


class PortalEngine:
    name = "portal"

    def __init__(self, index: Any) -> None:
        self.index = index

    def search(self, query: str, system: str | None = None) -> list[tuple[str, str]]:
        result = self.index.search(query, system=system, limit=LIMIT)
        return [(hit.system, hit.code) for hit in result.hits]


_FTS_WORD = re.compile(r"[A-Za-z0-9]+")


class FtsBaseline:
    """SQLite FTS5 over the documents' texts in an in-memory database of this process."""

    name = "fts5"

    def __init__(
        self, documents: Sequence[Any], held_out: frozenset[tuple[str, str, str]], mode: str
    ) -> None:
        self.mode = mode
        self.keys: list[tuple[str, str]] = []
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.conn.execute(
            "CREATE VIRTUAL TABLE doc USING fts5(title, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        rows = []
        for d, doc in enumerate(documents):
            self.keys.append((doc.system, doc.code))
            body = [
                text
                for field_name, text in doc.texts
                if field_name != "title" and (doc.system, doc.code, text) not in held_out
            ]
            rows.append((d, doc.title, "\n".join(body)))
        self.conn.executemany("INSERT INTO doc(rowid, title, body) VALUES (?, ?, ?)", rows)
        self.conn.execute("INSERT INTO doc(doc) VALUES ('optimize')")
        self.conn.commit()
        systems = [(d, key[0]) for d, key in enumerate(self.keys)]
        self.conn.execute("CREATE TABLE doc_system (id INTEGER PRIMARY KEY, system TEXT)")
        self.conn.executemany("INSERT INTO doc_system VALUES (?, ?)", systems)

    def database_bytes(self) -> int:
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(size)

    def _run(self, match: str, system: str | None) -> list[tuple[str, str]]:
        if system:
            sql = (
                "SELECT doc.rowid FROM doc JOIN doc_system s ON s.id = doc.rowid "
                "WHERE doc MATCH ? AND s.system = ? ORDER BY bm25(doc, ?, 1.0) LIMIT ?"
            )
            params: tuple[Any, ...] = (match, system, FTS_TITLE_WEIGHT, LIMIT)
        else:
            sql = "SELECT rowid FROM doc WHERE doc MATCH ? ORDER BY bm25(doc, ?, 1.0) LIMIT ?"
            params = (match, FTS_TITLE_WEIGHT, LIMIT)
        return [self.keys[row[0]] for row in self.conn.execute(sql, params)]

    def search(self, query: str, system: str | None = None) -> list[tuple[str, str]]:
        words = [f'"{w}"' for w in _FTS_WORD.findall(query)]
        if not words:
            return []
        if self.mode == "or":
            return self._run(" OR ".join(words), system)
        found = self._run(" AND ".join(words), system)
        if not found and self.mode == "and-or" and len(words) > 1:
            found = self._run(" OR ".join(words), system)
        return found


# -- evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    item: EvalItem
    rank: int | None  # 1-based rank of the first acceptable result, None if not in the results
    top: tuple[tuple[str, str], ...]  # the first results (system, code)


@dataclass
class Scores:
    n: int = 0
    hit1: int = 0
    hit5: int = 0

    def add(self, outcome: Outcome) -> None:
        self.n += 1
        self.hit1 += outcome.rank == 1
        self.hit5 += outcome.rank is not None and outcome.rank <= 5

    @property
    def at1(self) -> float:
        return self.hit1 / self.n if self.n else float("nan")

    @property
    def at5(self) -> float:
        return self.hit5 / self.n if self.n else float("nan")

    def summary(self) -> dict[str, Any]:
        return {"n": self.n, "hit@1": round(self.at1, 4), "hit@5": round(self.at5, 4)}


@dataclass
class EngineRun:
    name: str
    outcomes: list[Outcome]
    label: str = ""
    groups: dict[str, Scores] = field(default_factory=dict)
    cm: Scores = field(default_factory=Scores)

    def __post_init__(self) -> None:
        for outcome in self.outcomes:
            group = outcome.item.group
            self.groups.setdefault(group, Scores()).add(outcome)
            if group not in NON_CM_GROUPS:
                self.cm.add(outcome)

    def cm_group_mean(self) -> tuple[float, float]:
        """hit@1 and hit@5 averaged over the ICD-10-CM groups (each group weighs the same)."""
        groups = [s for g, s in self.groups.items() if g not in NON_CM_GROUPS]
        return (
            sum(s.at1 for s in groups) / len(groups),
            sum(s.at5 for s in groups) / len(groups),
        )

    @property
    def targets_met(self) -> bool:
        return self.cm.at1 >= TARGET_HIT1 and self.cm.at5 >= TARGET_HIT5


def evaluate(
    name: str, search: SearchFn, items: Sequence[EvalItem], system_filter: bool
) -> EngineRun:
    outcomes = []
    for item in items:
        results = search(item.query, item.system if system_filter else None)
        rank = next(
            (i + 1 for i, (system, code) in enumerate(results) if item.accepts(system, code)),
            None,
        )
        outcomes.append(Outcome(item, rank, tuple(results[:5])))
    return EngineRun(name, outcomes)


# -- preparation (shared with bench/search_speed.py) --------------------------------------------


@dataclass
class Prepared:
    catalog: Catalog
    eval_set: EvalSet
    documents: list[Any]
    held_out: frozenset[tuple[str, str, str]]
    missing_held: list[str]  # held-out texts no document carries
    load_s: float  # catalog and documents from the database


async def _load(state_dir: Path) -> tuple[Catalog, list[Any]]:
    from features.case2code.search.documents import load_documents

    with contextlib.redirect_stdout(sys.stderr):  # piccolo prints its migrations
        async with portal_runtime(state_dir):
            catalog = await load_catalog()
            documents = await load_documents()
    return catalog, documents


def prepare(state_dir: Path, seed: int, scale: float) -> Prepared:
    started = time.perf_counter()
    catalog, documents = asyncio.run(_load(state_dir))
    load_s = time.perf_counter() - started
    eval_set = build_eval_set(catalog, seed, scale)
    held_out, missing = held_out_triples(eval_set, documents)
    if missing:
        print(
            f"WARNING: {len(missing)} held-out texts are in no document (first: {missing[:3]}); "
            "the documents' text format changed: those queries are not held out",
            file=sys.stderr,
        )
    return Prepared(catalog, eval_set, documents, held_out, missing, load_s)


def build_portal(prepared: Prepared) -> tuple[PortalEngine, float]:
    from features.case2code.search.index import SearchIndex

    started = time.perf_counter()
    index = SearchIndex.build(prepared.documents, held_out=prepared.held_out)
    return PortalEngine(index), time.perf_counter() - started


def build_fts(prepared: Prepared, mode: str) -> tuple[FtsBaseline, float]:
    started = time.perf_counter()
    engine = FtsBaseline(prepared.documents, prepared.held_out, mode)
    return engine, time.perf_counter() - started


def best_fts_run(
    engine: FtsBaseline, items: Sequence[EvalItem], modes: Sequence[str], system_filter: bool
) -> tuple[EngineRun, dict[str, dict[str, Any]]]:
    """Run the baseline in each mode; the best by ICD-10-CM hit@5 then hit@1, and all figures."""
    runs = []
    for mode in modes:
        engine.mode = mode
        run = evaluate("fts5", engine.search, items, system_filter)
        run.label = f"fts5 ({mode})"
        runs.append(run)
    best = max(runs, key=lambda r: (r.cm.at5, r.cm.at1))
    return best, {r.label: r.cm.summary() for r in runs}


# -- report -------------------------------------------------------------------------------------


def _round4(value: float) -> float:
    return round(value, 4)


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def print_table(portal: EngineRun, fts: EngineRun, eval_set: EvalSet) -> None:
    print(f"  {'group':<24}{'n':>5}   {'portal @1':>9}{'@5':>6}   {fts.label + ' @1':>15}{'@5':>6}")

    def row(label: str, a: Scores, b: Scores) -> None:
        print(
            f"  {label:<24}{a.n:>5}   {_fmt(a.at1):>9}{_fmt(a.at5):>6}   "
            f"{_fmt(b.at1):>15}{_fmt(b.at5):>6}"
        )

    for group in GROUPS:
        if group in portal.groups and group not in NON_CM_GROUPS:
            row(group, portal.groups[group], fts.groups[group])
    row("ICD-10-CM overall", portal.cm, fts.cm)
    (a1, a5), (b1, b5) = portal.cm_group_mean(), fts.cm_group_mean()
    print(
        f"  {'  (mean of the groups)':<24}{'':>5}   {_fmt(a1):>9}{_fmt(a5):>6}   "
        f"{_fmt(b1):>15}{_fmt(b5):>6}"
    )
    for group in NON_CM_GROUPS:
        if group in portal.groups:
            row(group, portal.groups[group], fts.groups[group])


def _titles(catalog: Catalog, results: Sequence[tuple[str, str]], width: int) -> str:
    shown = []
    for system, code in results[:3]:
        row = catalog.codes.get(system, {}).get(code)
        title = row.title if row else "?"
        prefix = "" if system == CM else f"{system}:"
        shown.append(f"{prefix}{code} {title[:width]}")
    return " | ".join(shown) if shown else "(nothing)"


def print_misses(run: EngineRun, catalog: Catalog) -> None:
    print(
        f"misses of {run.label or run.name} (not in the first 5), by group; rank '-' = not in 20:"
    )
    for group in GROUPS:
        misses = [o for o in run.outcomes if o.item.group == group and not _hit5(o)]
        if not misses:
            continue
        print(f"  {group} ({len(misses)} of {run.groups[group].n}):")
        misses.sort(key=lambda o: (o.rank is not None, o.rank or 0))
        for o in misses:
            rank = "-" if o.rank is None else str(o.rank)
            print(f"    {rank:>2}  {o.item.query!r} -> {o.item.expected()}")
            print(f"        got: {_titles(catalog, o.top, 48)}")


def _hit5(outcome: Outcome) -> bool:
    return outcome.rank is not None and outcome.rank <= 5


def miss_summary(run: EngineRun) -> list[dict[str, Any]]:
    return [
        {**o.item.summary(), "rank": o.rank, "top": [f"{s}:{c}" for s, c in o.top]}
        for o in run.outcomes
        if not _hit5(o)
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="hit@1 / hit@5 of the portal search engine and a SQLite FTS5 baseline on the "
        "search evaluation set (held-out terms, lay names, abbreviations, typos, codes)."
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="bench state dir (SQLite with the search code sets, imported when missing; "
        "default: a fresh temporary dir)",
    )
    parser.add_argument("--seed", type=int, default=7, help="sampling seed of the set (7)")
    parser.add_argument(
        "--quick", action="store_true", help="about a third of the generated (held-out) queries"
    )
    parser.add_argument(
        "--fts-mode",
        choices=("best", *FTS_MODES),
        default="best",
        help="how the baseline joins the typed words (default: each, keep the best)",
    )
    parser.add_argument(
        "--system-filter",
        action="store_true",
        help="search each query within its code system (default: all systems, as the search "
        "box does)",
    )
    parser.add_argument(
        "--misses",
        nargs="?",
        const="portal",
        choices=("portal", "fts", "both"),
        default=None,
        help="list the misses (at 5) of the portal engine (default), the baseline, or both",
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scale = QUICK_SCALE if args.quick else 1.0
    try:
        with search_state(args.state_dir) as state_dir:
            import_s = ensure_search_data(state_dir)
            prepared = prepare(state_dir, args.seed, scale)
    except BenchError as exc:
        print(f"search_quality: {exc}", file=sys.stderr)
        return 2
    items = prepared.eval_set.items
    portal_engine, portal_build_s = build_portal(prepared)
    fts_engine, fts_build_s = build_fts(prepared, "and")
    portal = evaluate("portal", portal_engine.search, items, args.system_filter)
    portal.label = "portal"
    modes = FTS_MODES if args.fts_mode == "best" else (args.fts_mode,)
    fts, fts_modes = best_fts_run(fts_engine, items, modes, args.system_filter)

    scope = "each query within its system" if args.system_filter else "all systems"
    quick = ", quick" if args.quick else ""
    print(
        f"search quality: {len(items)} queries (seed {args.seed}{quick}), "
        f"{len(prepared.documents)} documents, {len(prepared.held_out)} held-out texts; "
        f"searched in {scope}, {LIMIT} results"
    )
    print_table(portal, fts, prepared.eval_set)
    for engine_run in (portal, fts):
        verdict = "met" if engine_run.targets_met else "NOT met"
        print(
            f"  targets on ICD-10-CM (hit@1 >= {TARGET_HIT1}, hit@5 >= {TARGET_HIT5}): "
            f"{verdict} by {engine_run.label} "
            # Three decimals: 0.845 is not met, though the table rounds it to 0.85.
            f"({engine_run.cm.at1:.3f} / {engine_run.cm.at5:.3f})"
        )
    others = ", ".join(
        f"{label} {s['hit@1']:.2f}/{s['hit@5']:.2f}" for label, s in fts_modes.items()
    )
    print(f"  fts5 modes (ICD-10-CM hit@1/hit@5): {others}; the table shows {fts.label}")
    print(
        f"  built in: portal index {portal_build_s:.1f} s, fts5 {fts_build_s:.1f} s "
        f"(documents loaded in {prepared.load_s:.1f} s)"
    )
    if prepared.eval_set.dropped:
        print(
            f"  curated codes dropped (not in the catalog): {'; '.join(prepared.eval_set.dropped)}"
        )
    if args.misses in ("portal", "both"):
        print_misses(portal, prepared.catalog)
    if args.misses in ("fts", "both"):
        print_misses(fts, prepared.catalog)
    if args.json:
        summary = {
            "seed": args.seed,
            "quick": args.quick,
            "system_filter": args.system_filter,
            "limit": LIMIT,
            "import_s": import_s,
            "documents": len(prepared.documents),
            "held_out_texts": len(prepared.held_out),
            "held_out_missing": prepared.missing_held,
            "dropped": prepared.eval_set.dropped,
            "targets": {"hit@1": TARGET_HIT1, "hit@5": TARGET_HIT5},
            "build_s": {"portal": portal_build_s, "fts5": fts_build_s},
            "fts_modes": fts_modes,
            "engines": {
                run.label: {
                    "groups": {g: s.summary() for g, s in run.groups.items()},
                    "icd-10-cm": run.cm.summary(),
                    "icd-10-cm_mean_of_groups": dict(
                        zip(("hit@1", "hit@5"), map(_round4, run.cm_group_mean()), strict=True)
                    ),
                    "targets_met": run.targets_met,
                    "misses": miss_summary(run),
                }
                for run in (portal, fts)
            },
        }
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
