"""`portal data ...`: import and fetch the public code data."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table as RichTable

from features.case2code.importing.base import LoadResult
from features.case2code.importing.context import ImportContext
from features.case2code.importing.registry import IMPORTERS
from features.case2code.importing.runner import run_imports


@click.group()
def data() -> None:
    """Code data: import the public code sets, fetch the official files."""


@data.command("import")
@click.argument("code_sets", nargs=-1)
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Import this file for the one code set named (e.g. another year's tabular).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of CMS files (default: PORTAL_DATA_DIR).",
)
@click.option(
    "--missing",
    is_flag=True,
    help="Only the code sets with no release loaded yet (what `make run` does).",
)
def import_(
    code_sets: tuple[str, ...], file_: Path | None, data_dir: Path | None, missing: bool
) -> None:
    """Import code sets (all when none is named)."""
    from portal.bootstrap import start_runtime, stop_runtime
    from portal.installed import installed_features
    from portal.settings import get_settings

    known = {i.code_set for i in IMPORTERS}
    unknown = set(code_sets) - known
    if unknown:
        raise click.UsageError(
            f"unknown code set(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    if file_ and len(code_sets) != 1:
        raise click.UsageError("--file needs exactly one code set")
    settings = get_settings()
    ctx = ImportContext(
        data_dir=data_dir or settings.data_dir,
        files={code_sets[0]: file_} if file_ else {},
    )
    console = Console(stderr=True)

    async def run() -> bool:
        from features.case2code.tables import Release

        rt = await start_runtime(settings, installed_features())
        try:
            chosen = code_sets
            if missing:
                loaded = {r["code_set"] for r in await Release.select(Release.code_set)}
                chosen = tuple(
                    i.code_set
                    for i in IMPORTERS
                    if i.code_set not in loaded and (not code_sets or i.code_set in code_sets)
                )
                if not chosen:
                    console.print("Every code set is already imported.")
                    await _search_index(console)
                    return True
            report = await run_imports(ctx, rt.engine, chosen, console)
            await _search_index(console)
        finally:
            await stop_runtime(rt)
        for result in report.loaded:
            console.print(f"[green]✓[/] {result.name}: {_summary(result)}")
        for code_set, why in report.skipped.items():
            console.print(f"[yellow]–[/] {code_set} skipped: {why}")
        for code_set, why in report.failed.items():
            console.print(f"[red]✗[/] {code_set} failed, previous release kept: {why}")
        console.print(f"Finished in {report.seconds:.1f} s.")
        return report.ok

    if not asyncio.run(run()):
        raise SystemExit(1)


async def _search_index(console: Console) -> None:
    """Build the search index for what is imported now and keep it as a file, so web
    processes load it in a fraction of a second instead of each building it."""
    from features.case2code.search import service

    started = time.perf_counter()
    with console.status("Building the search index…"):
        index = await service.ready()
    console.print(
        f"[green]✓[/] search index: {len(index.codes)} codes "
        f"({time.perf_counter() - started:.1f} s)"
    )


def _summary(result: LoadResult) -> str:
    if result.skipped:
        return "already loaded"
    text = f"{result.codes} codes, {result.records} records"
    if result.added or result.revised or result.deleted:
        text += f"; {result.added} added, {result.revised} revised, {result.deleted} deleted"
    return text


@data.command("status")
def status() -> None:
    """List the loaded releases."""
    from portal.bootstrap import open_database
    from portal.installed import installed_features
    from portal.settings import get_settings

    async def run() -> list[dict]:
        from features.case2code.tables import Release

        await open_database(get_settings(), installed_features())
        return await Release.select().order_by(Release.code_set).order_by(Release.id)

    table = RichTable("code set", "release", "status", "rows", "imported")
    for row in asyncio.run(run()):
        name = row["name"] + (" (sample)" if row["sample"] else "")
        table.add_row(
            row["code_set"],
            name,
            row["status"],
            str(row["row_count"]),
            f"{row['imported_at']:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to save into (default: PORTAL_STATE_DIR/data, since the shared data folder is "
    "read-only). Import from it with --data-dir or PORTAL_DATA_DIR.",
)
@click.option("--base-url", help="Use this scheme and host instead of https://www.cms.gov.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per read.")
def fetch_(names: tuple[str, ...], dest: Path | None, base_url: str | None, timeout: float) -> None:
    """Download the official CMS files (all when none is named), checking their checksums."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from features.case2code.importing.fetch import SOURCES, Source, fetch, select
    from portal.settings import get_settings

    try:
        chosen = select(names)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from exc
    folder = dest or get_settings().state_dir / "data"
    console = Console(stderr=True)
    console.print(f"Saving into {folder} ({len(chosen)} of {len(SOURCES)} sources)")
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress("{task.description}", *columns, console=console) as progress:
        tasks: dict[str, int] = {}

        def on_bytes(source: Source, done: int, total: int | None) -> None:
            if source.name not in tasks:
                tasks[source.name] = progress.add_task(source.name, total=total)
            progress.update(tasks[source.name], completed=done, total=total)

        results = fetch(
            folder,
            chosen,
            base_url=base_url,
            timeout=timeout,
            say=progress.console.print,
            on_bytes=on_bytes,
        )
    failed = [r for r in results if not r.ok]
    for result in results:
        mark = {"failed": "[red]✗[/]", "manual": "[yellow]–[/]"}.get(result.status, "[green]✓[/]")
        console.print(f"{mark} {result.source.name}: {result.status} {result.message}".rstrip())
    if failed:
        raise SystemExit(1)
