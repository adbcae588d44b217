"""Requests per second of ICD-10-CM code pages against a bare Jinja page, in one run.

What is measured: one uvicorn worker serves `bench.app:create_bench_app` (the installed portal
plus `GET /_bench/bare`, a minimal page with a 20-item Jinja loop through the same app, middleware
and Jinja environment, without the portal layout, render helper or database) in the embedded mode,
with ICD-10-CM imported into the SQLite file of a bench state dir. Three code pages are loaded,
each alternating with its own run of the bare page, round after round:

  guest    /codes/icd-10-cm/E11.9     no cookies (wrk stores none): after the first view every
                                      request is a free repeat view from the same address, as a
                                      guest re-reading a page; the five sections show locked
                                      behind "Register to view content".
  pro      /codes/icd-10-cm/E11.9     a signed-in Pro account's session cookie on every request:
                                      all five sections unlocked (notes inherited from E11, ...).
  pro-7ch  /codes/icd-10-cm/S93.402A  the same account on a 7-character code.

Before the server starts, the script imports ICD-10-CM (`python -m portal.cli data import
icd-10-cm` with PORTAL_STATE_DIR=<state dir>, no DATABASE_URL/REDIS_URL), creates the account
(`portal users create-admin ... --password-stdin`, then plan 'pro' in portal.sqlite3) and, once
the server answers, logs in over HTTP and checks that each page really is what it claims to be
(locked for the guest, unlocked for Pro) before measuring. `--state-dir DIR` keeps the state dir
so repeated runs skip the import (it is imported on the first run into DIR).

Why ratios: this is a noisy 2-core machine where the server and the load generator share the CPUs
and absolute figures move by about ±10 % from run to run (STACK-NOTES "Measured baselines"). The
ratio page/bare of two URLs measured alternately in the same run against the same server is what
is comparable between runs and machines: it says what a code page costs over the floor of
"Litestar + Jinja renders a template". Target: every ratio at least 0.5.

    cd /work/main && uv run python bench/code_page_vs_bare.py [--state-dir DIR] [--duration 5]
        [--rounds 3] [--connections 32] [--threads 2] [--loadgen auto|wrk|python] [--json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import (
    BARE_PATH,
    BenchError,
    LoadGen,
    Page,
    add_load_arguments,
    check_load_arguments,
    fetch_ok,
    free_port,
    loadgen_from_args,
    page_vs_bare_rounds,
    portal_cli,
    ratio,
    report_problems,
    running_server,
    settings_summary,
    state_directory,
    warm_up,
)

CODE_SET = "icd-10-cm"
CODE_PATH = "/codes/icd-10-cm/E11.9"
SEVEN_CHAR_PATH = "/codes/icd-10-cm/S93.402A"
BENCH_EMAIL = "bench@example.org"
SQLITE_FILE = "portal.sqlite3"  # the embedded-mode database under PORTAL_STATE_DIR
TARGET_RATIO = 0.5
SECTIONS = 5  # notes, hierarchy, crosswalks, MS-DRG, history: each a gated <section data-gated>
GUEST_LOCKED = "Register to view content"
# The register / log-in / out-of-views block inside a locked section (not "gated card").
LOCKED_MARKS = ('class="gate"', 'class="gate ')


@dataclass
class CodePage:
    key: str  # "guest", "pro", "pro-7ch"
    page: Page
    bare: Page  # the bare page's runs alternating with this page's runs

    @property
    def ratio(self) -> float:
        return ratio(self.page, self.bare)


# -- state dir: data and account ----------------------------------------------------------------


def icd10cm_loaded(state_dir: Path) -> bool:
    """Whether a current ICD-10-CM release is in the state dir's SQLite file."""
    path = state_dir / SQLITE_FILE
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM catalog_release WHERE code_set = ? AND status = 'current'",
                (CODE_SET,),
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def import_icd10cm(state_dir: Path) -> float:
    """`portal data import icd-10-cm` into the state dir; seconds taken."""
    print(f"importing ICD-10-CM into {state_dir} ...", file=sys.stderr)
    started = time.perf_counter()
    output = portal_cli(state_dir, "data", "import", CODE_SET)
    seconds = time.perf_counter() - started
    for line in output.splitlines():
        if line.startswith(("✓", "–", "✗", "Finished in")):
            print(f"  {line}", file=sys.stderr)
    if not icd10cm_loaded(state_dir):
        raise BenchError(f"`portal data import {CODE_SET}` loaded nothing:\n{output}")
    return seconds


def create_pro_account(state_dir: Path) -> str:
    """Create (or reset) the bench account with a fresh password, on the Pro plan; the password."""
    password = secrets.token_urlsafe(18)
    portal_cli(
        state_dir, "users", "create-admin", BENCH_EMAIL, "--password-stdin", stdin=password + "\n"
    )
    with sqlite3.connect(state_dir / SQLITE_FILE) as conn:
        updated = conn.execute(
            "UPDATE account SET plan = 'pro' WHERE email = ?", (BENCH_EMAIL,)
        ).rowcount
    if updated != 1:
        raise BenchError(f"could not set the plan of {BENCH_EMAIL} to pro ({updated} rows)")
    return password


def log_in(base_url: str, email: str, password: str) -> dict[str, str]:
    """Log in over HTTP as a browser does; the Cookie header of the signed-in session."""
    with httpx.Client(base_url=base_url, timeout=30.0, follow_redirects=False) as client:
        form_page = client.get("/account/login")
        csrf = form_page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
        if form_page.status_code != 200 or not csrf:
            raise BenchError(
                f"GET /account/login: status {form_page.status_code}, csrftoken cookie {csrf!r}"
            )
        response = client.post(
            "/account/login",
            data={"_csrf_token": csrf, "email": email, "password": password},
        )
        session = response.cookies.get("portal_session")
        if response.status_code not in (302, 303) or not session:
            raise BenchError(
                f"POST /account/login: status {response.status_code}, no session cookie:\n"
                f"{response.text[:500]}"
            )
    return {"Cookie": f"portal_session={session}; csrftoken={csrf}"}


# -- checks -------------------------------------------------------------------------------------


def check_pages(base_url: str, pages: Sequence[CodePage]) -> None:
    """Refuse to measure pages that are not what they claim: locked for the guest, unlocked for
    the Pro account (all five sections, no gate block)."""
    for item in pages:
        page = item.page
        if item.key == "guest":
            text = fetch_ok(base_url, page.path, page.headers, contains=[GUEST_LOCKED]).text
        else:
            contains = ["Inherited from E11"] if page.path == CODE_PATH else []
            text = fetch_ok(
                base_url, page.path, page.headers, contains=contains, lacks=LOCKED_MARKS
            ).text
        sections = text.count("data-gated")
        if sections != SECTIONS:
            raise BenchError(
                f"GET {page.path} ({item.key}): {sections} gated sections, expected {SECTIONS}"
            )
    fetch_ok(base_url, BARE_PATH)


def guest_hint(exc: BenchError, reused: bool) -> BenchError:
    if reused and GUEST_LOCKED in str(exc):
        return BenchError(
            f"{exc}\n(the guest's monthly view of this address may be used up in --state-dir after "
            "the 24 h repeat window: use a fresh --state-dir)"
        )
    return exc


# -- driver -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second of ICD-10-CM code pages (guest, Pro, 7-character code) "
        "against a bare Jinja page of the same app; prints the medians and the ratios."
    )
    add_load_arguments(parser)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="keep the bench state (SQLite with ICD-10-CM imported) in DIR and reuse it: the "
        "import runs only when DIR has no ICD-10-CM yet (default: a fresh temporary dir)",
    )
    args = parser.parse_args(argv)
    check_load_arguments(parser, args)
    return args


def measure_all(
    args: argparse.Namespace, loadgen: LoadGen, state_dir: Path
) -> tuple[list[CodePage], dict[str, object]]:
    info: dict[str, object] = {"state_dir_reused": False, "import_s": None}
    if icd10cm_loaded(state_dir):
        info["state_dir_reused"] = True
        print(f"ICD-10-CM already imported in {state_dir}: skipping the import", file=sys.stderr)
    else:
        info["import_s"] = round(import_icd10cm(state_dir), 2)
    password = create_pro_account(state_dir)

    with running_server(state_dir, args.port or free_port()) as base_url:
        cookie = log_in(base_url, BENCH_EMAIL, password)
        pages = [
            CodePage("guest", Page(f"guest {CODE_PATH}", CODE_PATH), Page("bare", BARE_PATH)),
            CodePage("pro", Page(f"pro {CODE_PATH}", CODE_PATH, cookie), Page("bare", BARE_PATH)),
            CodePage(
                "pro-7ch",
                Page(f"pro {SEVEN_CHAR_PATH}", SEVEN_CHAR_PATH, cookie),
                Page("bare", BARE_PATH),
            ),
        ]
        try:
            check_pages(base_url, pages)
        except BenchError as exc:
            raise guest_hint(exc, bool(info["state_dir_reused"])) from exc
        warm_up(
            loadgen, base_url, [p for item in pages for p in (item.page, item.bare)], args.warmup
        )
        check_pages(base_url, pages)

        page_vs_bare_rounds(
            loadgen,
            base_url,
            [(item.key, item.page, item.bare) for item in pages],
            args.rounds,
            args.duration,
        )
    return pages, info


def all_bare_runs(pages: Sequence[CodePage]) -> Page:
    return Page(f"bare {BARE_PATH}", BARE_PATH, rounds=[m for p in pages for m in p.bare.rounds])


def print_report(
    args: argparse.Namespace,
    loadgen: LoadGen,
    pages: Sequence[CodePage],
    info: Mapping[str, object],
) -> None:
    all_bare = all_bare_runs(pages)
    print(
        f"code pages vs bare: uvicorn, 1 worker, embedded mode (SQLite, ICD-10-CM); "
        f"{loadgen.describe()}; {args.rounds} rounds x {args.duration:g}s per URL (median); "
        "each page alternates with its own bare runs"
    )
    width = max(len(item.page.label) for item in pages) + 2
    print(f"  {'page':<{width}}{'median req/s':>13}{'bare req/s':>12}{'ratio':>8}   rounds (bare)")
    for item in pages:
        print(
            f"  {item.page.label:<{width}}{item.page.median_rps:>13.1f}"
            f"{item.bare.median_rps:>12.1f}{item.ratio:>8.3f}"
            f"   [{item.page.rounds_text()}] ([{item.bare.rounds_text()}])"
        )
    print(f"  {all_bare.label:<{width}}{all_bare.median_rps:>13.1f}   (median of all bare runs)")
    below = [item.key for item in pages if not item.ratio >= TARGET_RATIO]
    verdict = "met" if not below else f"NOT met by {', '.join(below)}"
    print(f"  target page/bare >= {TARGET_RATIO}: {verdict}")
    print(
        "  note: wrk sends no cookies, so after the first view every guest request is a free "
        "repeat view from the same address (a guest re-reading a page, sections locked); the pro "
        "rows send one signed-in Pro session (unmetered, all five sections unlocked)."
    )
    if args.json:
        summary = {
            **settings_summary(args, loadgen),
            **info,
            "target_ratio": TARGET_RATIO,
            "pages": {
                item.key: {
                    **item.page.summary(),
                    "signed_in": "Cookie" in item.page.headers,
                    "bare": item.bare.summary(),
                    "ratio_over_bare": item.ratio,
                }
                for item in pages
            },
            "bare_all_median_rps": all_bare.median_rps,
        }
        print(json.dumps(summary, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        loadgen = loadgen_from_args(args)
        with state_directory(args.state_dir) as state_dir:
            pages, info = measure_all(args, loadgen, state_dir)
    except BenchError as exc:
        print(f"code_page_vs_bare: {exc}", file=sys.stderr)
        return 2
    print_report(args, loadgen, pages, info)
    problems = report_problems([*(item.page for item in pages), all_bare_runs(pages)], loadgen)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
