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
floor of "Litestar + Jinja renders a template".

    cd /work/main && uv run python bench/home_vs_bare.py [--duration 5] [--rounds 3]
        [--connections 32] [--threads 2] [--loadgen auto|wrk|python] [--json]
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
LOADGEN_SCRIPT = Path(__file__).resolve().parent / "loadgen.py"
APP_FACTORY = "bench.app:create_bench_app"
HOME_PATH = "/"
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


@dataclass(frozen=True)
class PageResult:
    path: str
    rounds: list[Measurement]

    @property
    def median_rps(self) -> float:
        return statistics.median(m.rps for m in self.rounds)


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


def choose_loadgen(requested: Literal["auto", "wrk", "python"]) -> tuple[LoadgenKind, str | None]:
    if requested == "python":
        return "python", None
    wrk = shutil.which("wrk") or _install_wrk()
    if wrk is not None:
        return "wrk", wrk
    if requested == "wrk":
        raise BenchError("wrk is not on PATH and could not be installed (apt-get install wrk)")
    print(
        "wrk unavailable: falling back to the Python load generator (bench/loadgen.py)",
        file=sys.stderr,
    )
    return "python", None


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


def run_wrk(wrk: str, url: str, duration: float, connections: int, threads: int) -> Measurement:
    cmd = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    return parse_wrk(done.stdout)


def run_python_loadgen(url: str, duration: float, connections: int, threads: int) -> Measurement:
    """`threads` generator processes share the connections, start together, results summed."""
    processes = max(1, min(threads, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
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


# -- server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(state_dir: Path) -> dict[str, str]:
    env = {**os.environ, "PORTAL_STATE_DIR": str(state_dir), "LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL", "JOBS_BACKEND", "DEBUG"):
        env.pop(name, None)  # embedded mode: SQLite under PORTAL_STATE_DIR, in-process jobs
    return env


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def running_server(state_dir: Path, port: int) -> Iterator[str]:
    """Start one uvicorn worker on `port`, yield its base URL once /healthz answers."""
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
            cmd, cwd=REPO_ROOT, env=server_env(state_dir), stdout=log, stderr=subprocess.STDOUT
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
        yield base_url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_ok(base_url: str, paths: Sequence[str]) -> None:
    for path in paths:
        try:
            response = httpx.get(base_url + path, timeout=10.0, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise BenchError(f"GET {path} failed: {exc!r}") from exc
        if response.status_code != 200:
            raise BenchError(
                f"GET {path} returned {response.status_code}, expected 200; not measuring.\n"
                f"{response.text[:500]}"
            )


# -- driver -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second of / against a bare Jinja page of the same app; "
        "prints the medians and the ratio home/bare."
    )
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
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        parser.error("--duration must be > 0; --rounds, --connections, --threads >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        kind, wrk = choose_loadgen(args.loadgen)

        def measure(url: str, duration: float) -> Measurement:
            if kind == "wrk" and wrk is not None:
                return run_wrk(wrk, url, duration, args.connections, args.threads)
            return run_python_loadgen(url, duration, args.connections, args.threads)

        home = PageResult(HOME_PATH, [])
        bare = PageResult(BARE_PATH, [])
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
            port = args.port or free_port()
            with running_server(Path(tmp), port) as base_url:
                check_ok(base_url, [HOME_PATH, BARE_PATH])
                if args.warmup > 0:
                    for page in (home, bare):
                        measure(base_url + page.path, args.warmup)
                    check_ok(base_url, [HOME_PATH, BARE_PATH])
                for i in range(args.rounds):
                    order = (home, bare) if i % 2 == 0 else (bare, home)
                    for page in order:
                        page.rounds.append(measure(base_url + page.path, args.duration))
                    print(
                        f"round {i + 1}/{args.rounds}: home {home.rounds[-1].rps:9.1f} req/s"
                        f"   bare {bare.rounds[-1].rps:9.1f} req/s",
                        file=sys.stderr,
                    )
    except BenchError as exc:
        print(f"home_vs_bare: {exc}", file=sys.stderr)
        return 2

    ratio = home.median_rps / bare.median_rps if bare.median_rps else float("nan")
    loadgen_desc = (
        f"wrk -t{min(args.threads, args.connections)} -c{args.connections}"
        if kind == "wrk"
        else f"python loadgen x{min(args.threads, args.connections)} procs, "
        f"{args.connections} connections"
    )
    print(
        f"home vs bare: uvicorn, 1 worker, embedded mode; {loadgen_desc}; "
        f"{args.rounds} rounds x {args.duration:g}s per URL (median)"
    )
    print(f"  {'page':<16}{'median req/s':>14}   rounds")
    for label, page in (("home /", home), (f"bare {BARE_PATH}", bare)):
        rounds = ", ".join(f"{m.rps:.0f}" for m in page.rounds)
        print(f"  {label:<16}{page.median_rps:>14.1f}   [{rounds}]")
    print(f"  ratio home/bare: {ratio:.3f}")
    problems = [
        f"{page.path}: {sum(m.non_2xx for m in page.rounds)} non-2xx responses, "
        f"{sum(m.errors for m in page.rounds)} socket errors"
        for page in (home, bare)
        if any(m.non_2xx or m.errors for m in page.rounds)
    ]
    for problem in problems:
        print(f"  WARNING {problem}: figures are suspect", file=sys.stderr)
    if kind == "python":
        print(
            "  note: the Python load generator may saturate before the server does; "
            "ratios then understate differences (install wrk)",
            file=sys.stderr,
        )

    if args.json:
        summary = {
            "loadgen": kind,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "threads": args.threads,
            "home": {
                "path": home.path,
                "median_rps": home.median_rps,
                "rounds": [asdict(m) for m in home.rounds],
            },
            "bare": {
                "path": bare.path,
                "median_rps": bare.median_rps,
                "rounds": [asdict(m) for m in bare.rounds],
            },
            "ratio_home_over_bare": ratio,
        }
        print(json.dumps(summary, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
