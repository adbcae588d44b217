"""Shared machinery of the page benchmarks: server, load generators, alternating rounds, report.

A page benchmark starts one uvicorn worker serving `bench.app:create_bench_app` (the installed
portal plus the bare Jinja page `GET /_bench/bare`) in the embedded mode (SQLite under a state
dir, in-process jobs, no Redis), loads each URL with `wrk` (or `bench/loadgen.py` when wrk is not
available) in alternating rounds and compares medians measured in the same run: on a noisy 2-core
machine only ratios measured side by side are comparable (DESIGN §8, STACK-NOTES "Measured
baselines").

Used by `bench/home_vs_bare.py`, `bench/code_page_vs_bare.py` and `bench/search_speed.py` (which
takes the server process from `server_process` to read its memory); `bench/import_time.py` and
`bench/search_eval.py` use `portal_env` and `portal_cli`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
LOADGEN_SCRIPT = Path(__file__).resolve().parent / "loadgen.py"
APP_FACTORY = "bench.app:create_bench_app"
BARE_PATH = "/_bench/bare"  # keep in step with bench.app.BARE_PATH
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 90.0

LoadgenKind = Literal["wrk", "python"]


class BenchError(Exception):
    """A condition that makes the measurement meaningless: reported, then exit status 2."""


@dataclass(frozen=True)
class Measurement:
    rps: float
    requests: int
    non_2xx: int  # non-2xx/3xx responses (wrk) or non-200 responses (python load generator)
    errors: int  # socket errors and timeouts


@dataclass
class Page:
    """One URL under load (with optional request headers, e.g. a session cookie) and its rounds."""

    label: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    rounds: list[Measurement] = field(default_factory=list)

    @property
    def median_rps(self) -> float:
        return statistics.median(m.rps for m in self.rounds) if self.rounds else 0.0

    def rounds_text(self) -> str:
        return ", ".join(f"{m.rps:.0f}" for m in self.rounds)

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "median_rps": self.median_rps,
            "rounds": [asdict(m) for m in self.rounds],
        }


def ratio(page: Page, baseline: Page) -> float:
    return page.median_rps / baseline.median_rps if baseline.median_rps else float("nan")


# -- load generators ----------------------------------------------------------------------------


def _install_wrk() -> str | None:
    """Install wrk with apt-get when running as root; None if that is not possible."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    print("wrk not found; trying `apt-get install -y wrk` ...", file=sys.stderr)
    for attempt in (install, ["apt-get", "update", "-qq"], install):
        try:
            done = subprocess.run(
                attempt, env=env, capture_output=True, text=True, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  {' '.join(attempt)} failed: {exc}", file=sys.stderr)
            return None
        if attempt is install and done.returncode == 0:
            break
    return shutil.which("wrk")


_WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_WRK_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.M)
_WRK_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_WRK_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)


def parse_wrk(output: str) -> Measurement:
    rps = _WRK_RPS.search(output)
    requests = _WRK_REQUESTS.search(output)
    if rps is None or requests is None:
        raise BenchError(f"could not parse wrk output:\n{output}")
    non_2xx = _WRK_NON_2XX.search(output)
    socket_errors = _WRK_SOCKET.search(output)
    return Measurement(
        rps=float(rps.group(1)),
        requests=int(requests.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in socket_errors.groups()) if socket_errors else 0,
    )


def run_wrk(
    wrk: str,
    url: str,
    duration: float,
    connections: int,
    threads: int,
    headers: Mapping[str, str] | None = None,
) -> Measurement:
    cmd = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        shown = " ".join(c if not c.lower().startswith("cookie:") else "Cookie: ..." for c in cmd)
        raise BenchError(f"{shown} exited {done.returncode}:\n{done.stderr}")
    return parse_wrk(done.stdout)


def run_python_loadgen(
    url: str,
    duration: float,
    connections: int,
    threads: int,
    headers: Mapping[str, str] | None = None,
) -> Measurement:
    """`threads` generator processes share the connections, start together, results summed."""
    processes = max(1, min(threads, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    header_args = [arg for n, v in (headers or {}).items() for arg in ("--header", f"{n}: {v}")]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(LOADGEN_SCRIPT),
                url,
                "--duration",
                str(duration),
                "--connections",
                str(share),
                "--wait-for-go",
                *header_args,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise BenchError(f"load generator did not start (got {line!r})")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=duration + 60)
            if proc.returncode != 0:
                raise BenchError(f"load generator exited {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return Measurement(
        rps=sum(float(r["rps"]) for r in results),
        requests=sum(int(r["requests"]) for r in results),
        non_2xx=sum(n for r in results for s, n in r["status"].items() if s != "200"),
        errors=sum(int(r["errors"]) for r in results),
    )


@dataclass(frozen=True)
class LoadGen:
    """The chosen load generator and its settings: `measure(url, seconds, headers)`."""

    kind: LoadgenKind
    wrk: str | None
    connections: int
    threads: int

    @classmethod
    def choose(
        cls, requested: Literal["auto", "wrk", "python"], connections: int, threads: int
    ) -> LoadGen:
        if requested == "python":
            return cls("python", None, connections, threads)
        wrk = shutil.which("wrk") or _install_wrk()
        if wrk is not None:
            return cls("wrk", wrk, connections, threads)
        if requested == "wrk":
            raise BenchError("wrk is not on PATH and could not be installed (apt-get install wrk)")
        print(
            "wrk unavailable: falling back to the Python load generator (bench/loadgen.py)",
            file=sys.stderr,
        )
        return cls("python", None, connections, threads)

    def measure(
        self, url: str, duration: float, headers: Mapping[str, str] | None = None
    ) -> Measurement:
        if self.kind == "wrk" and self.wrk is not None:
            return run_wrk(self.wrk, url, duration, self.connections, self.threads, headers)
        return run_python_loadgen(url, duration, self.connections, self.threads, headers)

    def describe(self) -> str:
        workers = min(self.threads, self.connections)
        if self.kind == "wrk":
            return f"wrk -t{workers} -c{self.connections}"
        return f"python loadgen x{workers} procs, {self.connections} connections"


# -- portal processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def portal_env(state_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a portal process: embedded mode under `state_dir`.

    No REDIS_URL, no JOBS_BACKEND, no DEBUG; DATABASE_URL only when `database_url` is given (else
    the SQLite file `state_dir/portal.sqlite3`).
    """
    env = {**os.environ, "PORTAL_STATE_DIR": str(state_dir), "LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL", "JOBS_BACKEND", "DEBUG"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def portal_cli(
    state_dir: Path,
    *args: str,
    stdin: str | None = None,
    database_url: str | None = None,
    timeout: float = 3600.0,
) -> str:
    """Run `python -m portal.cli ARGS` in the portal environment; its output, or BenchError."""
    cmd = [sys.executable, "-m", "portal.cli", *args]
    env = {**portal_env(state_dir, database_url), "COLUMNS": "200"}  # rich: no wrapped lines
    try:
        done = subprocess.run(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`portal {' '.join(args)}` did not finish in {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise BenchError(f"`portal {' '.join(args)}` exited {done.returncode}:\n{done.stdout}")
    return done.stdout


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def running_server(state_dir: Path, port: int) -> Iterator[str]:
    """Start one uvicorn worker on `port`, yield its base URL once /healthz answers."""
    with server_process(state_dir, port) as (base_url, _proc):
        yield base_url


@contextmanager
def server_process(state_dir: Path, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `running_server`, yielding the process too (one worker: its pid is the server's)."""
    log_path = state_dir / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        APP_FACTORY,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    base_url = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=portal_env(state_dir), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BenchError(
                    f"server exited with {proc.returncode} before answering /healthz:\n"
                    f"{_tail(log_path)}"
                )
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(
                    f"server did not answer /healthz within {STARTUP_TIMEOUT_S:.0f}s:\n"
                    f"{_tail(log_path)}"
                )
            time.sleep(0.2)
        yield base_url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fetch_ok(
    base_url: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    contains: Sequence[str] = (),
    lacks: Sequence[str] = (),
) -> httpx.Response:
    """GET `path` (no cookie jar: only `headers`); BenchError unless 200 and the texts match."""
    try:
        response = httpx.get(
            base_url + path, headers=dict(headers or {}), timeout=10.0, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise BenchError(f"GET {path} failed: {exc!r}") from exc
    if response.status_code != 200:
        raise BenchError(
            f"GET {path} returned {response.status_code}, expected 200; not measuring.\n"
            f"{response.text[:500]}"
        )
    for text in contains:
        if text not in response.text:
            raise BenchError(f"GET {path}: the page does not contain {text!r}; not measuring.")
    for text in lacks:
        if text in response.text:
            raise BenchError(f"GET {path}: the page contains {text!r}; not measuring.")
    return response


def wait_idle(base_url: str, max_wait_s: float = 30.0, fast_s: float = 0.05) -> None:
    """Wait until the server has drained the requests a finished run left in flight.

    When wrk stops, up to `connections` requests are still queued in the worker; with a slow
    page they would eat into the next run (often the bare page's). /healthz answering fast twice
    in a row means the queue is empty.
    """
    deadline = time.monotonic() + max_wait_s
    fast_in_a_row = 0
    while fast_in_a_row < 2 and time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            httpx.get(f"{base_url}/healthz", timeout=max_wait_s)
        except httpx.HTTPError:
            fast_in_a_row = 0
            time.sleep(0.1)
            continue
        fast_in_a_row = fast_in_a_row + 1 if time.perf_counter() - started < fast_s else 0


def check_ok(base_url: str, paths: Sequence[str]) -> None:
    for path in paths:
        fetch_ok(base_url, path)


# -- rounds and report --------------------------------------------------------------------------


def warm_up(loadgen: LoadGen, base_url: str, pages: Sequence[Page], seconds: float) -> None:
    """Discarded load on each page (once per distinct URL and headers) before measuring."""
    if seconds <= 0:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for page in pages:
        key = (page.path, tuple(sorted(page.headers.items())))
        if key not in seen:
            seen.add(key)
            loadgen.measure(base_url + page.path, seconds, page.headers)
            wait_idle(base_url)


def alternate_rounds(
    loadgen: LoadGen,
    base_url: str,
    groups: Sequence[Sequence[Page]],
    rounds: int,
    duration: float,
    after_round: Callable[[int], None] | None = None,
) -> None:
    """Measure every group `rounds` times; within a group the order flips from round to round
    (A, B then B, A ...) so that drift in the machine's speed falls on both pages alike. Each run
    starts on an idle server (`wait_idle`)."""
    for i in range(rounds):
        for group in groups:
            order = list(group) if i % 2 == 0 else list(reversed(group))
            for page in order:
                page.rounds.append(loadgen.measure(base_url + page.path, duration, page.headers))
                wait_idle(base_url)
        if after_round is not None:
            after_round(i)


def page_vs_bare_rounds(
    loadgen: LoadGen,
    base_url: str,
    pairs: Sequence[tuple[str, Page, Page]],
    rounds: int,
    duration: float,
) -> None:
    """`alternate_rounds` over (label, page, its bare page) pairs, each round's figures on
    stderr as it ends."""

    def after_round(i: int) -> None:
        figures = "   ".join(
            f"{label} {page.rounds[-1].rps:7.1f} / bare {bare.rounds[-1].rps:7.1f}"
            for label, page, bare in pairs
        )
        print(f"round {i + 1}/{rounds}: {figures} req/s", file=sys.stderr)

    alternate_rounds(
        loadgen, base_url, [(page, bare) for _, page, bare in pairs], rounds, duration, after_round
    )


def report_problems(pages: Sequence[Page], loadgen: LoadGen) -> list[str]:
    """Warn on stderr about non-2xx responses or socket errors; the list of problems."""
    problems = [
        f"{page.path}: {sum(m.non_2xx for m in page.rounds)} non-2xx responses, "
        f"{sum(m.errors for m in page.rounds)} socket errors"
        for page in pages
        if any(m.non_2xx or m.errors for m in page.rounds)
    ]
    for problem in problems:
        print(f"  WARNING {problem}: figures are suspect", file=sys.stderr)
    if loadgen.kind == "python":
        print(
            "  note: the Python load generator may saturate before the server does; "
            "ratios then understate differences (install wrk)",
            file=sys.stderr,
        )
    return problems


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every page benchmark takes (duration, rounds, load generator, port, --json)."""
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per URL (3)")
    parser.add_argument("--connections", type=int, default=32, help="open connections (32)")
    parser.add_argument(
        "--threads", type=int, default=2, help="wrk threads, or Python load generator processes (2)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of discarded load per URL before measuring (2)",
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if available (auto), or force one",
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")


def check_load_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        parser.error("--duration must be > 0; --rounds, --connections, --threads >= 1")


def loadgen_from_args(args: argparse.Namespace) -> LoadGen:
    return LoadGen.choose(args.loadgen, args.connections, args.threads)


def settings_summary(args: argparse.Namespace, loadgen: LoadGen) -> dict[str, Any]:
    return {
        "loadgen": loadgen.kind,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "threads": args.threads,
    }


def loaded_code_sets(state_dir: Path) -> set[str]:
    """The code sets with a current release in a state dir's SQLite catalog (none if absent)."""
    import sqlite3

    path = state_dir / "portal.sqlite3"
    if not path.is_file():
        return set()
    query = "SELECT DISTINCT code_set FROM catalog_release WHERE status = 'current'"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return {row[0] for row in conn.execute(query)}
    except sqlite3.Error:
        return set()


@contextmanager
def state_directory(path: Path | None, prefix: str = "portal-bench-") -> Iterator[Path]:
    """The bench state dir: `path` kept and reused, or a temporary one removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
