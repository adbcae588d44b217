"""Run importers with progress; a missing data set is skipped with a reason, a malformed file
fails with its line and leaves the previous release in place."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from piccolo.engine.base import Engine
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from features.case2code.importing.base import LoadResult, MalformedFile, MissingSource, load
from features.case2code.importing.context import ImportContext
from features.case2code.importing.registry import IMPORTERS, Importer


@dataclass
class RunReport:
    loaded: list[LoadResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # code set -> why
    failed: dict[str, str] = field(default_factory=dict)  # code set -> file:line: reason
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


async def run_imports(
    ctx: ImportContext, engine: Engine, only: Sequence[str] = (), console: Console | None = None
) -> RunReport:
    console = console or Console(stderr=True)
    chosen: list[Importer] = [i for i in IMPORTERS if not only or i.code_set in only]
    report = RunReport()
    start = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        overall = progress.add_task("Importing code sets", total=len(chosen))
        for item in chosen:
            task = progress.add_task(f"  {item.label}: reading", total=None)
            try:
                datasets = await asyncio.to_thread(lambda item=item: list(item.datasets(ctx)))
                for dataset in datasets:
                    progress.update(task, description=f"  {dataset.release.name}: loading")
                    report.loaded.append(await load(dataset, engine))
                progress.update(task, description=f"  {item.label}: done", total=1, completed=1)
            except MissingSource as exc:
                report.skipped[item.code_set] = str(exc)
                progress.update(
                    task, description=f"  {item.label}: skipped ({exc})", total=1, completed=1
                )
            except MalformedFile as exc:
                report.failed[item.code_set] = str(exc)
                progress.update(
                    task, description=f"  {item.label}: FAILED ({exc})", total=1, completed=0
                )
            progress.advance(overall)
    report.seconds = time.perf_counter() - start
    return report
