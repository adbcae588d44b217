"""The catalog's public service: what other features (search, the assistant, consults) may use.

Read-only lookups of codes, their hierarchy, history and keyed records, each carrying the name
of the release it came from. No web framework here.

Record kinds (Record.kind -> key, key2, data) are documented by the importer that writes them
(features/case2code/importing/*.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from features.case2code.tables import Code, CodeChange, CodeGroup, Record, Release


@dataclass(frozen=True)
class ReleaseRef:
    id: int
    code_set: str
    name: str
    sample: bool

    @property
    def label(self) -> str:
        return (
            f"{self.name} (sample)"
            if self.sample and "sample" not in self.name.lower()
            else self.name
        )


@dataclass(frozen=True)
class CodeView:
    system: str
    code: str
    display: str
    title: str
    short_title: str | None
    kind: str
    billable: bool
    parent: str | None
    group_key: str | None
    release: ReleaseRef
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"/codes/{self.system}/{self.display}"

    @property
    def needs_seventh(self) -> bool:
        return bool(self.details.get("needs_seventh"))


@dataclass(frozen=True)
class RecordView:
    kind: str
    key: str
    key2: str | None
    data: dict[str, Any]
    release: ReleaseRef


@dataclass(frozen=True)
class Change:
    change: str  # added | revised | deleted
    old_title: str | None
    new_title: str | None
    release: ReleaseRef


CODE_COLUMNS = (  # a code's columns as CodeView and search documents read them
    Code.system,
    Code.code,
    Code.display,
    Code.title,
    Code.short_title,
    Code.kind,
    Code.billable,
    Code.parent,
    Code.group_key,
    Code.release,
    Code.details,
)
_RELEASES_TTL_S = 30.0
_releases: tuple[float, dict[int, ReleaseRef]] = (0.0, {})


async def releases(need: Iterable[int] = ()) -> dict[int, ReleaseRef]:
    """Every release by id; re-read every 30 s, or at once when a release in `need` is not
    known yet (an import finished since), so no figure is shown without its release."""
    global _releases
    loaded_at, cached = _releases
    fresh_enough = time.monotonic() - loaded_at < _RELEASES_TTL_S
    if cached and fresh_enough and all(n in cached for n in need):
        return cached
    rows = await Release.select(Release.id, Release.code_set, Release.name, Release.sample)
    fresh = {r["id"]: ReleaseRef(r["id"], r["code_set"], r["name"], r["sample"]) for r in rows}
    _releases = (time.monotonic(), fresh)
    return fresh


async def _refs(ids: Iterable[int]) -> dict[int, ReleaseRef]:
    """Release references for these ids; an id no longer in the table gets a blank one."""
    ids = set(ids)
    known = await releases(ids)
    return {i: known.get(i) or ReleaseRef(i, "", "", False) for i in ids}


async def current_release(code_set: str) -> ReleaseRef | None:
    row = (
        await Release.select(Release.id)
        .where((Release.code_set == code_set) & (Release.status == "current"))
        .order_by(Release.id, ascending=False)
        .first()
    )
    if row is None:
        return None
    return (await _refs({row["id"]}))[row["id"]]


async def _views(rows: Iterable[dict[str, Any]]) -> list[CodeView]:
    rows = list(rows)
    refs = await _refs(r["release"] for r in rows)
    return [
        CodeView(
            system=r["system"],
            code=r["code"],
            display=r["display"],
            title=r["title"],
            short_title=r["short_title"],
            kind=r["kind"],
            billable=r["billable"],
            parent=r["parent"],
            group_key=r["group_key"],
            release=refs[r["release"]],
            details=r["details"] or {},
        )
        for r in rows
    ]


async def _select(where: Any, limit: int | None = None) -> list[CodeView]:
    """Code views matching `where`, in the release's order."""
    query = Code.select(*CODE_COLUMNS).where(where).order_by(Code.sort).order_by(Code.code)
    if limit is not None:
        query = query.limit(limit)
    return await _views(await query.output(load_json=True))


async def get_code(system: str, code: str) -> CodeView | None:
    views = await _select((Code.system == system) & (Code.code == code))
    return views[0] if views else None


async def cpt_without_licence(code: str) -> CodeView | None:
    """A CPT code known only from public CMS data (fee schedule, edits): no AMA descriptor."""
    fee = (
        await Record.select(Record.release)
        .where((Record.kind == "fee") & (Record.key == code))
        .first()
    )
    if fee is None:
        return None
    release = (await _refs({fee["release"]}))[fee["release"]]
    return CodeView(
        system="cpt",
        code=code,
        display=code,
        title="CPT descriptor not shown: it needs an AMA CPT licence file",
        short_title=None,
        kind="code",
        billable=True,
        parent=None,
        group_key=None,
        release=release,
        details={"unlicensed": True},
    )


async def codes(system: str, codes_: Iterable[str]) -> dict[str, CodeView]:
    wanted = list(dict.fromkeys(codes_))
    if not wanted:
        return {}
    views = await _select((Code.system == system) & Code.code.is_in(wanted))
    return {v.code: v for v in views}


async def ancestors(view: CodeView) -> list[CodeView]:
    """Parents from the category down to the code's direct parent."""
    chain: list[CodeView] = []
    parent = view.parent
    # Parents are prefixes of the code (the 7-character ones add X placeholders): one query.
    candidates = {view.code[:n] for n in range(3, len(view.code))}
    found = await codes(view.system, candidates) if candidates else {}
    while parent and parent in found:
        chain.append(found[parent])
        parent = found[parent].parent
    return list(reversed(chain))


async def children(system: str, code: str, limit: int = 500) -> list[CodeView]:
    return await _select((Code.system == system) & (Code.parent == code), limit)


async def in_group(system: str, group_key: str, limit: int = 1000) -> list[CodeView]:
    return await _select((Code.system == system) & (Code.group_key == group_key), limit)


async def top_level(system: str, group_key: str) -> list[CodeView]:
    """The categories of a block (codes without a parent in the group)."""
    in_block = (Code.system == system) & (Code.group_key == group_key)
    return await _select(in_block & Code.parent.is_null())


async def nearest(system: str, code: str, limit: int = 8) -> list[CodeView]:
    """Existing codes that share the longest prefix with `code` (for the not-found page)."""
    for length in range(len(code) - 1, 0, -1):
        found = await _select((Code.system == system) & Code.code.like(f"{code[:length]}%"), limit)
        if found:
            return found
    return []


@dataclass(frozen=True)
class GroupView:
    system: str
    kind: str
    key: str
    title: str
    parent_key: str | None
    release: ReleaseRef
    details: dict[str, Any]


async def _groups(where: Any) -> list[GroupView]:
    rows = (
        await CodeGroup.select()
        .where(where)
        .order_by(CodeGroup.sort)
        .order_by(CodeGroup.key)
        .output(load_json=True)
    )
    refs = await _refs(r["release"] for r in rows)
    return [
        GroupView(
            r["system"],
            r["kind"],
            r["key"],
            r["title"],
            r["parent_key"],
            refs[r["release"]],
            r["details"] or {},
        )
        for r in rows
    ]


async def groups(system: str, kind: str, parent_key: str | None = None) -> list[GroupView]:
    where = (CodeGroup.system == system) & (CodeGroup.kind == kind)
    if parent_key is not None:
        where = where & (CodeGroup.parent_key == parent_key)
    return await _groups(where)


async def group(system: str, kind: str, key: str) -> GroupView | None:
    found = await _groups(
        (CodeGroup.system == system) & (CodeGroup.kind == kind) & (CodeGroup.key == key)
    )
    return found[0] if found else None


async def records(
    kinds: Iterable[str], key: str, *, by_key2: bool = False, limit: int = 500
) -> dict[str, list[RecordView]]:
    """Records of these kinds whose key (or key2) is `key`, by kind."""
    kinds = list(kinds)
    column = Record.key2 if by_key2 else Record.key
    rows = (
        await Record.select()
        .where(Record.kind.is_in(kinds) & (column == key))
        .order_by(Record.id)
        .limit(limit)
        .output(load_json=True)
    )
    refs = await _refs(r["release"] for r in rows)
    found: dict[str, list[RecordView]] = {k: [] for k in kinds}
    for r in rows:
        found[r["kind"]].append(
            RecordView(
                r["kind"],
                r["key"],
                r["key2"],
                r["data"] or {},
                refs[r["release"]],
            )
        )
    return found


async def history(system: str, code: str) -> list[Change]:
    rows = (
        await CodeChange.select()
        .where((CodeChange.system == system) & (CodeChange.code == code))
        .order_by(CodeChange.release)
    )
    refs = await _refs(r["release"] for r in rows)
    return [
        Change(
            r["change"],
            r["old_title"],
            r["new_title"],
            refs[r["release"]],
        )
        for r in rows
    ]


async def release_chain(code_set: str) -> list[ReleaseRef]:
    """The releases of a code set, oldest first."""
    refs = await releases()
    return sorted((r for r in refs.values() if r.code_set == code_set), key=lambda r: r.id)
