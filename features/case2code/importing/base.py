"""What every importer produces, and the one loader that writes it.

An importer parses its files completely into a Dataset (in memory) before the database is
touched, so a malformed file fails with its line and reason and the previous release stays.
`load()` then replaces the code set's rows in one transaction, records the release, and, when an
earlier release of the same set exists, what this release added, revised or deleted per code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from features.case2code.tables import Code, CodeGroup, Record, Release

Progress = Callable[[str], None]


class MalformedFile(Exception):
    """A source file that cannot be imported; says where and why."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = str(path), line, reason


class MissingSource(Exception):
    """A data set that is not on this machine (a package or file is absent)."""


@dataclass(frozen=True)
class ReleaseInfo:
    code_set: str
    name: str
    version: str
    source: str
    checksum: str
    effective_date: date | None = None
    sample: bool = False


@dataclass
class CodeRow:
    system: str
    code: str  # normalised: upper case, no dot
    display: str
    title: str
    kind: str = "code"
    billable: bool = False
    parent: str | None = None
    group_key: str | None = None
    short_title: str | None = None
    sort: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class GroupRow:
    system: str
    kind: str
    key: str
    title: str
    parent_key: str | None = None
    sort: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordRow:
    kind: str
    key: str
    data: dict[str, Any]
    key2: str | None = None


@dataclass
class Dataset:
    """One release of one code set, parsed and ready to load.

    `systems`: the Code (and CodeGroup) rows of these systems are replaced; `code_prefixes`
    narrows that to codes starting with one of the prefixes (a release that covers one section
    only). `record_kinds`: the Record rows of these kinds are replaced.
    """

    release: ReleaseInfo
    systems: tuple[str, ...] = ()
    record_kinds: tuple[str, ...] = ()
    codes: list[CodeRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    records: list[RecordRow] = field(default_factory=list)
    code_prefixes: tuple[str, ...] = ()
    replace_groups: bool = True


@dataclass(frozen=True)
class LoadResult:
    code_set: str
    release_id: int
    name: str
    skipped: bool  # the same release (checksum) was already loaded
    codes: int = 0
    records: int = 0
    added: int = 0
    revised: int = 0
    deleted: int = 0


def sha256_of(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def normalise_code(raw: str) -> str:
    return raw.strip().replace(".", "").upper()


_encode = msgspec.json.Encoder().encode


def _json(value: dict[str, Any]) -> str:
    return _encode(value).decode()


async def _bulk_insert(
    engine: Engine, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows inside the current transaction, the fast way for each engine."""
    if not rows:
        return
    connection = engine.current_transaction.get().connection  # type: ignore[union-attr]
    if isinstance(engine, PostgresEngine):
        await connection.copy_records_to_table(table, columns=list(columns), records=rows)
        return
    marks = ", ".join("?" for _ in columns)
    await connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
        rows,
    )


def _prefix_filter(column: Any, prefixes: tuple[str, ...]) -> Any:
    condition = None
    for prefix in prefixes:
        clause = column.like(f"{prefix}%")
        condition = clause if condition is None else condition | clause
    return condition


async def load(dataset: Dataset, engine: Engine) -> LoadResult:
    info = dataset.release
    # Skipped when this file was ever loaded for the set, current or superseded: an importer
    # that yields a chain (a prior release, then the current one) is re-run whole, and the
    # prior link must not be loaded again over the later one.
    existing = (
        await Release.select(Release.id)
        .where((Release.code_set == info.code_set) & (Release.checksum == info.checksum))
        .first()
    )
    if existing:
        return LoadResult(info.code_set, existing["id"], info.name, skipped=True)

    had_release = await Release.exists().where(Release.code_set == info.code_set)
    async with engine.transaction():
        rows = await Release.insert(
            Release(
                code_set=info.code_set,
                name=info.name,
                version=info.version,
                effective_date=info.effective_date,
                source=info.source,
                checksum=info.checksum,
                sample=info.sample,
                status="loading",
            )
        ).returning(Release.id)
        release_id = rows[0]["id"]

        added = revised = deleted = 0
        for system in dataset.systems:
            where = Code.system == system
            if dataset.code_prefixes:
                where = where & _prefix_filter(Code.code, dataset.code_prefixes)
            before = {
                r["code"]: r["title"] for r in await Code.select(Code.code, Code.title).where(where)
            }
            await Code.delete().where(where)
            if dataset.replace_groups:
                await CodeGroup.delete().where(CodeGroup.system == system)
            new = {c.code: c.title for c in dataset.codes if c.system == system}
            if had_release and before:
                changes = (
                    [
                        (system, code, release_id, "added", None, title)
                        for code, title in new.items()
                        if code not in before
                    ]
                    + [
                        (system, code, release_id, "revised", before[code], title)
                        for code, title in new.items()
                        if code in before and before[code] != title
                    ]
                    + [
                        (system, code, release_id, "deleted", title, None)
                        for code, title in before.items()
                        if code not in new
                    ]
                )
                added += sum(1 for c in changes if c[3] == "added")
                revised += sum(1 for c in changes if c[3] == "revised")
                deleted += sum(1 for c in changes if c[3] == "deleted")
                await _bulk_insert(
                    engine,
                    "catalog_code_change",
                    ("system", "code", "release", "change", "old_title", "new_title"),
                    changes,
                )
        for kind in dataset.record_kinds:
            await Record.delete().where(Record.kind == kind)

        await _bulk_insert(
            engine,
            "catalog_code",
            (
                "system",
                "code",
                "display",
                "title",
                "short_title",
                "kind",
                "billable",
                "parent",
                "group_key",
                "sort",
                "release",
                "details",
            ),
            [
                (
                    c.system,
                    c.code,
                    c.display,
                    c.title,
                    c.short_title,
                    c.kind,
                    c.billable,
                    c.parent,
                    c.group_key,
                    c.sort,
                    release_id,
                    _json(c.details),
                )
                for c in dataset.codes
            ],
        )
        await _bulk_insert(
            engine,
            "catalog_group",
            ("system", "kind", "key", "title", "parent_key", "sort", "release", "details"),
            [
                (
                    g.system,
                    g.kind,
                    g.key,
                    g.title,
                    g.parent_key,
                    g.sort,
                    release_id,
                    _json(g.details),
                )
                for g in dataset.groups
            ],
        )
        await _bulk_insert(
            engine,
            "catalog_record",
            ("kind", "key", "key2", "release", "data"),
            [(r.kind, r.key, r.key2, release_id, _json(r.data)) for r in dataset.records],
        )
        await Release.update({Release.status: "superseded"}).where(
            (Release.code_set == info.code_set) & (Release.id != release_id)
        )
        await Release.update(
            {
                Release.status: "current",
                Release.row_count: len(dataset.codes) + len(dataset.records) + len(dataset.groups),
            }
        ).where(Release.id == release_id)
    return LoadResult(
        info.code_set,
        release_id,
        info.name,
        skipped=False,
        codes=len(dataset.codes),
        records=len(dataset.records),
        added=added,
        revised=revised,
        deleted=deleted,
    )
