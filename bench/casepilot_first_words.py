"""CasePilot first words: how soon the offline engine yields its first piece (the summary) and
how long the whole answer takes, over the questions of bench/casepilot_eval.py, in process.

What is measured: for each question, the time from calling `OfflineEngine().answer()` to the
first piece it yields, and to the final Answer, against the catalog in a SQLite state dir (the
embedded mode; imported when missing, as bench/casepilot_eval.py does). One untimed pass first
warms what a running server has warm (the search index, release names, the small record kinds
the tools keep in memory); then `--rounds` timed passes. The report gives p50, p90, p99 and max
of both times over every timed answer, and the slowest questions. Target: first words p99 under
300 ms.

    cd /work/main && uv run python bench/casepilot_first_words.py [--state-dir DIR]
        [--rounds 5] [--cold] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.casepilot_eval import QUESTIONS, Question, ensure_catalog
from bench.harness import BenchError, state_directory

TARGET_FIRST_MS = 300.0


@dataclass(frozen=True)
class Timing:
    question: Question
    first_ms: float
    total_ms: float
    pieces: int


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def time_one(item: Question) -> Timing:
    from features.casepilot.engine import Answer, Context, Turn
    from features.casepilot.offline_engine import OfflineEngine

    history = (Turn("user", item.before),) if item.before else ()
    context = Context(code=item.page, history=history)
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    async for piece in OfflineEngine().answer(item.text, context):
        if first is None:
            first = time.perf_counter() - started
        if not isinstance(piece, Answer):
            pieces += 1
    total = time.perf_counter() - started
    return Timing(item, (first or total) * 1000, total * 1000, pieces)


async def run(state_dir: Path, rounds: int, cold: bool) -> tuple[list[Timing], list[Timing]]:
    from bench.search_eval import portal_runtime
    from features.case2code.search import service

    with contextlib.redirect_stdout(sys.stderr):
        runtime = portal_runtime(state_dir)
        await runtime.__aenter__()
    try:
        await service.ready()  # a web process loads its index at start (warm_up)
        first_pass = [await time_one(item) for item in QUESTIONS]
        timed = [] if cold else [await time_one(item) for _ in range(rounds) for item in QUESTIONS]
    finally:
        await runtime.__aexit__(None, None, None)
    return first_pass, timed


def summary(timings: Sequence[Timing]) -> dict[str, Any]:
    first = [t.first_ms for t in timings]
    total = [t.total_ms for t in timings]

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "p50": round(percentile(values, 50), 2),
            "p90": round(percentile(values, 90), 2),
            "p99": round(percentile(values, 99), 2),
            "max": round(max(values), 2),
            "mean": round(statistics.fmean(values), 2),
        }

    return {
        "answers": len(timings),
        "first_words_ms": stats(first),
        "whole_answer_ms": stats(total),
    }


def print_summary(label: str, timings: Sequence[Timing]) -> None:
    s = summary(timings)
    f, w = s["first_words_ms"], s["whole_answer_ms"]
    print(f"{label}: {s['answers']} answers")
    print(f"  {'':<14}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    print(
        f"  {'first words':<14}{f['p50']:>9.1f}{f['p90']:>9.1f}{f['p99']:>9.1f}{f['max']:>9.1f}  ms"
    )
    whole = f"{w['p50']:>9.1f}{w['p90']:>9.1f}{w['p99']:>9.1f}{w['max']:>9.1f}"
    print(f"  {'whole answer':<14}{whole}  ms")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=None, help="bench state dir (reused)")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the set (5)")
    parser.add_argument(
        "--cold", action="store_true", help="report only the first pass (caches cold)"
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    try:
        with state_directory(args.state_dir, "portal-bench-casepilot-") as state_dir:
            ensure_catalog(state_dir)
            first_pass, timed = asyncio.run(run(state_dir, args.rounds, args.cold))
    except BenchError as exc:
        print(f"casepilot_first_words: {exc}", file=sys.stderr)
        return 2
    print_summary("first pass (cold caches, search index loaded)", first_pass)
    shown = first_pass if args.cold else timed
    if not args.cold:
        print_summary(f"{args.rounds} timed passes", timed)
    p99 = summary(shown)["first_words_ms"]["p99"]
    verdict = "met" if p99 < TARGET_FIRST_MS else "NOT met"
    print(f"target (first words p99 < {TARGET_FIRST_MS:.0f} ms): {verdict}")
    slowest = sorted(shown, key=lambda t: t.total_ms, reverse=True)[:5]
    print("slowest whole answers:")
    for t in slowest:
        print(
            f"  {t.total_ms:8.1f} ms (first {t.first_ms:6.1f}, {t.pieces} pieces)  "
            f"{t.question.text!r}"
        )
    if args.json:
        print(json.dumps({"first_pass": summary(first_pass), "timed": summary(shown)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
