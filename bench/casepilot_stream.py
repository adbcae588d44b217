"""CasePilot over HTTP: time to the first streamed words and to the whole answer, against a bare
page's round trip, in one run.

One uvicorn worker serves the portal in the embedded mode (bench.app, as the page benchmarks);
for each question a guest posts the chat form as htmx does (`POST /casepilot/ask`, HX-Request),
opens the answer's Server-Sent Events stream and records:

  first words   from sending the question to the first "piece" event (what the reader waits
                for before text appears), the metric with the target: under 300 ms;
  whole answer  from sending the question to the "done" event (the stored, checked answer);
  bare page     a `GET /_bench/bare` round trip (bare Jinja page of the same app), measured
                between questions: the floor any request pays on this machine.

Questions are the default engine's evaluation set (bench/casepilot_eval.py) when it is there,
else a short built-in list (follow-ups and code-page questions are left out: they need their
context); each is asked `--rounds` times. The guest question meter is lifted
for the run (METER_QUESTIONS_GUEST).

    cd /work/main && uv run python bench/casepilot_stream.py [--state-dir DIR] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.harness import (
    BARE_PATH,
    BenchError,
    free_port,
    portal_cli,
    server_process,
    state_directory,
)

FALLBACK_QUESTIONS = (
    "What is ICD-10-CM code E11.9?",
    "What is CPT code 99213?",
    "Can 99213 be billed with 20610?",
    "What is modifier RT?",
    "Convert ICD-9 250.00 to ICD-10-CM",
    "What does Medicare pay for 99214?",
    "Guidelines for E/M services",
    "Which 7th characters does S52.5 take?",
)


def questions() -> list[str]:
    try:
        from bench import casepilot_eval

        # Follow-ups and code-page questions need their context: the standalone ones.
        found = [q.text for q in casepilot_eval.QUESTIONS if q.before is None and q.page is None]
    except (ImportError, AttributeError):
        return list(FALLBACK_QUESTIONS)
    return found or list(FALLBACK_QUESTIONS)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ask_once(http: httpx.Client, question: str) -> tuple[float, float]:
    """(seconds to the first piece, seconds to done) for one question."""
    token = http.cookies.get("csrftoken") or ""
    started = time.perf_counter()
    response = http.post(
        "/casepilot/ask",
        data={"question": question, "_csrf_token": token},
        headers={"HX-Request": "true", "HX-Target": "chat-log"},
    )
    if response.status_code != 200:
        raise BenchError(f"ask answered {response.status_code}: {response.text[:300]}")
    found = re.search(r'sse-connect="([^"]+)"', response.text)
    if found is None:
        raise BenchError("the ask fragment has no stream to open")
    first = None
    with http.stream("GET", found.group(1)) as events:
        for line in events.iter_lines():
            if line == "event: piece" and first is None:
                first = time.perf_counter() - started
            elif line == "event: done":
                done = time.perf_counter() - started
                return (first if first is not None else done), done
    raise BenchError("the stream ended without a done event")


def bare_once(http: httpx.Client) -> float:
    started = time.perf_counter()
    http.get(BARE_PATH).raise_for_status()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ["METER_QUESTIONS_GUEST"] = "1000000"
    try:
        with state_directory(args.state_dir, "portal-bench-pilot-") as state_dir:
            portal_cli(state_dir, "data", "import", "--missing")
            with (
                server_process(state_dir, free_port()) as (base_url, _proc),
                httpx.Client(base_url=base_url, timeout=60) as http,
            ):
                http.get("/casepilot").raise_for_status()  # the CSRF cookie
                asked = questions()
                first, whole, bare = [], [], []
                ask_once(http, asked[0])  # warm: templates, first catalog reads
                for _ in range(args.rounds):
                    for question in asked:
                        f, w = ask_once(http, question)
                        first.append(f)
                        whole.append(w)
                        bare.append(bare_once(http))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ms = 1000.0
    print(f"{len(first)} answers ({len(asked)} questions x {args.rounds} rounds), one worker")
    for name, values in (("first words", first), ("whole answer", whole), ("bare page", bare)):
        print(
            f"  {name:<13} p50 {statistics.median(values) * ms:7.1f} ms"
            f"   p99 {percentile(values, 0.99) * ms:7.1f} ms"
        )
    factor = statistics.median(first) / statistics.median(bare)
    print(
        f"  first words p50 / bare page p50: {factor:.1f}x"
        f"   target: first words under 300 ms -> "
        f"{'met' if percentile(first, 0.99) < 0.3 else 'MISSED'} at p99"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
