"""Wall-clock time of importing every code set from scratch (`portal data import`).

What is measured: `python -m portal.cli data import` run once, as an operator would, on a fresh
state dir (PORTAL_STATE_DIR=<temp dir>, no REDIS_URL): the embedded SQLite file by default, or
with `--database-url postgresql://USER@HOST:PORT/MAINTENANCE_DB` a PostgreSQL database that the
script creates on that server for the run (`CREATE DATABASE portal_bench_import_<hex>`) and drops
afterwards. As an operator does, it runs `portal db migrate` first (the full mode does not
migrate by itself; on SQLite it is done the same way so that both engines are timed alike), then
`portal data import`. The wall-clock figures count everything the operator waits for: interpreter
start, schema migrations, reading the CMS files and loading them. The script runs whatever the
import command imports (the importers are registered in features/case2code/importing/registry.py
and the list grows): it prints the import's own per-code-set lines ("✓ <release>: N codes,
M records", skipped and failed sets) and its "Finished in X s" (the import alone, without
start-up and migrations).

Why this is an absolute figure and not a ratio: an import is one long run dominated by parsing and
database writes, repeated rarely; on this noisy 2-core machine (±10 % between runs, see
STACK-NOTES "Measured baselines") compare the two engines measured one after the other, or runs
before and after a change, rather than figures from different days.

    cd /work/main && uv run python bench/import_time.py [--json]
    cd /work/main && uv run python bench/import_time.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/test
    (extra arguments after the options are passed on: `... import_time.py icd-10-cm hcpcs`)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness import REPO_ROOT, BenchError, portal_env

SQLITE_FILE = "portal.sqlite3"
RESULT_PREFIXES = ("✓", "–", "✗")  # loaded, skipped, failed (features/case2code/cli.py)
_FINISHED = re.compile(r"^Finished in ([\d.]+) s")


@dataclass
class ImportRun:
    engine: str  # "sqlite" or "postgresql"
    database: str  # the SQLite file or the PostgreSQL database name
    migrate_s: float = 0.0  # `portal db migrate` on the empty database, wall-clock
    wall_s: float = 0.0  # `portal data import`, wall-clock
    import_s: float | None = None  # the import's own "Finished in X s"
    exit_status: int = 0
    result_lines: list[str] = field(default_factory=list)
    database_bytes: int | None = None


# -- PostgreSQL ---------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(url: str, *statements: str) -> None:
    import asyncpg  # the portal's PostgreSQL driver (via piccolo)

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _database_size(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


@contextmanager
def fresh_postgres_database(maintenance_url: str) -> Iterator[tuple[str, str]]:
    """Create an empty database next to `maintenance_url`'s; yield (name, url); drop it after."""
    if not maintenance_url.startswith(("postgresql://", "postgres://")):
        raise BenchError(f"--database-url must be postgresql://..., got {maintenance_url!r}")
    name = f"portal_bench_import_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(maintenance_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # asyncpg's errors and OSError: cannot measure
        raise BenchError(f"could not create database {name} via {maintenance_url}: {exc}") from exc
    print(f"created PostgreSQL database {name}", file=sys.stderr)
    try:
        yield name, _with_database(maintenance_url, name)
    finally:
        try:
            asyncio.run(_admin(maintenance_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped PostgreSQL database {name}", file=sys.stderr)
        except Exception as exc:
            print(f"WARNING: could not drop database {name}: {exc}", file=sys.stderr)


# -- the import ---------------------------------------------------------------------------------


def run_portal(
    state_dir: Path, database_url: str | None, *args: str
) -> tuple[list[str], int, float]:
    """Run `portal ARGS`, echoing its output to stderr as it comes; (lines, status, seconds)."""
    cmd = [sys.executable, "-m", "portal.cli", *args]
    env = {**portal_env(state_dir, database_url), "COLUMNS": "400"}  # rich: one line per result
    output: list[str] = []
    print(f"$ portal {' '.join(args)}", file=sys.stderr)
    started = time.perf_counter()
    with subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            print(f"  | {line}", end="", file=sys.stderr, flush=True)
        status = proc.wait()
    return output, status, time.perf_counter() - started


def run_import(
    run: ImportRun, state_dir: Path, code_sets: Sequence[str], database_url: str | None
) -> None:
    """`portal db migrate` (as an operator does first; on SQLite the import would migrate by
    itself), then `portal data import`; fill in `run`."""
    output, status, run.migrate_s = run_portal(state_dir, database_url, "db", "migrate")
    if status != 0:
        tail = "\n".join(output[-30:])
        raise BenchError(f"`portal db migrate` exited {status}:\n{tail}")
    output, run.exit_status, run.wall_s = run_portal(
        state_dir, database_url, "data", "import", *code_sets
    )
    for line in output:
        stripped = line.strip()
        if stripped.startswith(RESULT_PREFIXES):
            run.result_lines.append(stripped)
        elif (finished := _FINISHED.match(stripped)) is not None:
            run.import_s = float(finished.group(1))
    if run.import_s is None:  # the command failed before importing anything
        tail = "\n".join(output[-30:])
        raise BenchError(
            f"`portal data import` exited {run.exit_status} without finishing:\n{tail}"
        )


def measure(database_url: str | None, code_sets: Sequence[str]) -> ImportRun:
    with tempfile.TemporaryDirectory(prefix="portal-bench-import-") as tmp:
        state_dir = Path(tmp)
        if database_url is None:
            run = ImportRun("sqlite", str(state_dir / SQLITE_FILE))
            run_import(run, state_dir, code_sets, None)
            sqlite_files = state_dir.glob(f"{SQLITE_FILE}*")  # with -wal / -shm
            run.database_bytes = sum(p.stat().st_size for p in sqlite_files)
            return run
        with fresh_postgres_database(database_url) as (name, url):
            run = ImportRun("postgresql", name)
            run_import(run, state_dir, code_sets, url)
            try:
                run.database_bytes = asyncio.run(_database_size(url))
            except Exception as exc:
                print(f"WARNING: could not read the database size: {exc}", file=sys.stderr)
            return run


def print_report(run: ImportRun, code_sets: Sequence[str]) -> None:
    what = ", ".join(code_sets) if code_sets else "all code sets"
    print(
        f"import time: `portal data import` ({what}) from scratch on {run.engine} ({run.database})"
    )
    for line in run.result_lines:
        print(f"  {line}")
    if run.import_s is not None:
        print(f"  Finished in {run.import_s:.1f} s (the import's own figure)")
    print(f"  wall-clock `portal data import`: {run.wall_s:.1f} s (with interpreter start-up)")
    print(f"  wall-clock `portal db migrate` before it: {run.migrate_s:.1f} s")
    print(f"  wall-clock total from an empty database: {run.migrate_s + run.wall_s:.1f} s")
    if run.database_bytes is not None:
        print(f"  database size afterwards: {run.database_bytes / 1e6:.1f} MB")
    if run.exit_status != 0:
        print(f"  the import exited {run.exit_status}: a code set failed", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Wall-clock seconds of `portal data import` from scratch (SQLite, or a fresh "
        "PostgreSQL database with --database-url)."
    )
    parser.add_argument(
        "code_sets",
        nargs="*",
        help="code sets to pass on to `portal data import` (default: none, i.e. all)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql://USER@HOST:PORT/DB of an existing (maintenance) database: a fresh "
        "database is created on that server for the run and dropped afterwards",
    )
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run = measure(args.database_url, args.code_sets)
    except BenchError as exc:
        print(f"import_time: {exc}", file=sys.stderr)
        return 2
    print_report(run, args.code_sets)
    if args.json:
        print(
            json.dumps(
                {"code_sets": args.code_sets or "all", **asdict(run)}, indent=2, ensure_ascii=False
            )
        )
    return 0 if run.exit_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
