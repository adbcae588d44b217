"""Requests per second of the portal's home page (`/`) against a bare Jinja page, in one run.

What is measured: one uvicorn worker serves `bench.app:create_bench_app`, i.e. the installed
portal plus `GET /_bench/bare`, a minimal HTML page with a 20-item Jinja loop that goes through the
same app, middleware stack and Jinja environment but skips the portal layout, the render helper
(account, meter badge, nav) and the database. The load generator (`wrk` if available, otherwise
`bench/loadgen.py`, asyncio + httpx, in separate processes) hammers each URL in alternating rounds
with keep-alive connections and no cookies (every request is a new anonymous visitor). We print the
median req/s of each page and the ratio home/bare.

Why a ratio: this is a 2-core machine where the server and the load generator share the CPUs and
absolute figures move by about ±10 % from run to run (see STACK-NOTES "Measured baselines"). The
ratio of two pages measured in the same run, alternately, against the same server is what is
comparable between runs and between machines: it says what the portal's page costs over the
floor of "Litestar + Jinja renders a template". The server, load generators, rounds and report
helpers live in `bench/harness.py` (shared with `bench/code_page_vs_bare.py`).

    cd /work/main && uv run python bench/home_vs_bare.py [--duration 5] [--rounds 3]
        [--connections 32] [--threads 2] [--loadgen auto|wrk|python] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness import (
    BARE_PATH,
    BenchError,
    Page,
    add_load_arguments,
    check_load_arguments,
    check_ok,
    free_port,
    loadgen_from_args,
    page_vs_bare_rounds,
    ratio,
    report_problems,
    running_server,
    settings_summary,
    warm_up,
)

HOME_PATH = "/"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second of / against a bare Jinja page of the same app; "
        "prints the medians and the ratio home/bare."
    )
    add_load_arguments(parser)
    args = parser.parse_args(argv)
    check_load_arguments(parser, args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    home = Page("home /", HOME_PATH)
    bare = Page(f"bare {BARE_PATH}", BARE_PATH)
    try:
        loadgen = loadgen_from_args(args)
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            port = args.port or free_port()
            with running_server(Path(tmp), port) as base_url:
                check_ok(base_url, [HOME_PATH, BARE_PATH])
                if args.warmup > 0:
                    warm_up(loadgen, base_url, [home, bare], args.warmup)
                    check_ok(base_url, [HOME_PATH, BARE_PATH])

                page_vs_bare_rounds(
                    loadgen, base_url, [("home", home, bare)], args.rounds, args.duration
                )
    except BenchError as exc:
        print(f"home_vs_bare: {exc}", file=sys.stderr)
        return 2

    home_over_bare = ratio(home, bare)
    print(
        f"home vs bare: uvicorn, 1 worker, embedded mode; {loadgen.describe()}; "
        f"{args.rounds} rounds x {args.duration:g}s per URL (median)"
    )
    print(f"  {'page':<16}{'median req/s':>14}   rounds")
    for page in (home, bare):
        print(f"  {page.label:<16}{page.median_rps:>14.1f}   [{page.rounds_text()}]")
    print(f"  ratio home/bare: {home_over_bare:.3f}")
    problems = report_problems([home, bare], loadgen)

    if args.json:
        summary = {
            **settings_summary(args, loadgen),
            "home": home.summary(),
            "bare": bare.summary(),
            "ratio_home_over_bare": home_over_bare,
        }
        print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
