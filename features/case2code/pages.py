"""Everything a code page shows, assembled from the catalog (no web framework here).

A page is a header (code, title, billable or why not, release), the official and common-language
descriptions, and five sections per system, each stamped with the releases it comes from.
Pages are read-only data, so assembled pages are kept in a small in-process cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from markupsafe import Markup

from features.case2code import catalog, describe
from features.case2code.catalog import CodeView, ReleaseRef
from features.case2code.systems import System
from portal import runtime


@dataclass
class Section:
    id: str
    title: str
    template: str  # under case2code/sections/
    sources: list[str] = field(default_factory=list)  # release names shown with the section
    data: dict[str, Any] = field(default_factory=dict)
    html: Markup = field(default_factory=Markup)  # rendered once, shown to everyone entitled


@dataclass
class CodePage:
    system: System
    code: CodeView
    breadcrumbs: list[tuple[str, str]]  # (label, href)
    plain: list[str]  # the common-language description
    status: str  # "Billable" / "Not billable: needs a 7th character" / ...
    sections: list[Section]
    release_names: list[str]
    # The page (and its body) as each kind of reader sees it, rendered on first need by
    # portal.web.render: it lives and expires with the page.
    rendered: dict[Any, Any] = field(default_factory=dict)

    @cached_property  # asked on every view of a cached page
    def data_releases(self) -> list[str]:
        """Every release the page shows, once each (the footer names them)."""
        names = self.release_names + [n for s in self.sections for n in s.sources]
        return list(dict.fromkeys(names))

    @property
    def path(self) -> str:
        return f"/codes/{self.system.slug}/{self.code.display}"


def sources(*refs: ReleaseRef | None) -> list[str]:
    return list(dict.fromkeys(r.label for r in refs if r is not None and r.name))


def status_of(view: CodeView) -> str:
    if view.kind == "modifier":
        return "Modifier"
    if view.billable:
        return "Billable"
    if view.needs_seventh:
        return "Not billable: needs a 7th character"
    if view.details.get("terminated"):
        return f"Not billable: terminated {view.details['terminated']}"
    if view.system in ("icd-10-cm",):
        return "Not billable: a heading with more specific codes below it"
    return "Not billable"


async def history_section(view: CodeView, code_set: str) -> Section:
    changes = await catalog.history(view.system, view.code)
    chain = await catalog.release_chain(code_set)
    return Section(
        "history",
        "Code history",
        "history.html",
        sources(*chain),
        {"changes": changes, "chain": chain},
    )


async def _icd10cm(system: System, view: CodeView) -> CodePage:
    lineage = await catalog.ancestors(view)
    parent = lineage[-1] if lineage else None
    kids = await catalog.children(view.system, view.code)
    siblings = (
        [c for c in await catalog.children(view.system, parent.code) if c.code != view.code]
        if parent
        else []
    )
    block = await catalog.group(view.system, "block", view.group_key) if view.group_key else None
    chapter = (
        await catalog.group(view.system, "chapter", block.parent_key)
        if block and block.parent_key
        else None
    )

    # Notes that apply to the code: its own, then each ancestor's, block's and chapter's.
    inherited: dict[str, list[str]] = {}
    note_levels: list[tuple[str, str, dict[str, list[str]]]] = []
    for level in reversed(lineage):
        notes = level.details.get("notes") or {}
        if notes:
            note_levels.append((level.display, level.title, notes))
        for kind, texts in notes.items():
            inherited.setdefault(kind, texts)
    for grp in (block, chapter):
        if grp and grp.details.get("notes"):
            label = f"Block {grp.key}" if grp.kind == "block" else f"Chapter {grp.key}"
            note_levels.append((label, grp.title, grp.details["notes"]))
    seventh = next(
        (v.details["seventh"] for v in [view, *reversed(lineage)] if v.details.get("seventh")), None
    )
    picker = kids if view.needs_seventh else (siblings if view.details.get("seventh_char") else [])

    related = await catalog.records(("gem-10-9", "drg-cc", "index-code"), view.code)
    reverse = await catalog.records(("gem-9-10",), view.code, by_key2=True)
    icd9 = await catalog.codes(
        "icd-9-cm",
        [r.key2 for r in related["gem-10-9"] if r.key2] + [r.key for r in reverse["gem-9-10"]],
    )
    drg_refs = [r.release for r in related["drg-cc"]]
    drg_release = drg_refs[0] if drg_refs else await catalog.current_release("ms-drg")
    gem_release = await catalog.current_release("gems")

    breadcrumbs = [(system.label, f"/codes/{system.slug}")]
    if chapter:
        breadcrumbs.append(
            (f"Chapter {chapter.key}", f"/codes/{system.slug}/chapter/{chapter.key}")
        )
    if block:
        breadcrumbs.append((block.key, f"/codes/{system.slug}/block/{block.key}"))
    breadcrumbs += [(a.display, a.url) for a in lineage]

    sections = [
        Section(
            "notes",
            "Instructional notes",
            "icd10cm_notes.html",
            sources(view.release),
            {
                "own": view.details.get("notes") or {},
                "levels": note_levels,
                "seventh": seventh,
                "code": view,
            },
        ),
        Section(
            "hierarchy",
            "Hierarchy and related codes",
            "icd10cm_hierarchy.html",
            sources(view.release, *(r.release for r in related["index-code"][:1])),
            {
                "chapter": chapter,
                "block": block,
                "lineage": lineage,
                "children": kids,
                "siblings": siblings[:60],
                "picker": picker,
                "seventh": seventh,
                "code": view,
                "index": related["index-code"][:40],
            },
        ),
        Section(
            "crosswalks",
            "Crosswalks (GEMs)",
            "icd10cm_crosswalks.html",
            sources(gem_release),
            {
                "to_icd9": related["gem-10-9"],
                "from_icd9": reverse["gem-9-10"],
                "icd9": icd9,
                "loaded": gem_release is not None,
            },
        ),
        Section(
            "drg",
            "MS-DRG impact",
            "icd10cm_drg.html",
            sources(drg_release),
            {"designation": related["drg-cc"], "loaded": drg_release is not None, "code": view},
        ),
        await history_section(view, system.code_set),
    ]
    plain = describe.icd10cm(
        view, parent=parent, siblings=siblings, children=kids, inherited=inherited, seventh=seventh
    )
    return CodePage(
        system, view, breadcrumbs, plain, status_of(view), sections, sources(view.release)
    )


async def _generic(system: System, view: CodeView) -> CodePage:
    """Systems whose sections come from their own builders (see pages_other.py)."""
    from features.case2code import pages_other

    return await pages_other.build(system, view)


_BUILDERS = {"icd-10-cm": _icd10cm}

_CACHE: OrderedDict[tuple[str, str], tuple[float, CodePage]] = OrderedDict()
_CACHE_SIZE = 2048
_CACHE_TTL_S = 60.0


async def code_page(system: System, code: str) -> CodePage | None:
    """The assembled page of a code, or None when the system has no such code.

    Catalog data changes only by import, so a page is kept for a minute: an import shows up
    within that time without a restart.
    """
    key = (system.slug, code)
    hit = _CACHE.get(key)
    if hit and time.monotonic() - hit[0] < _CACHE_TTL_S:
        _CACHE.move_to_end(key)
        return hit[1]
    view = await catalog.get_code(system.slug, code)
    if view is None and system.slug == "cpt":
        view = await catalog.cpt_without_licence(code)
    if view is None:
        return None
    page = await _BUILDERS.get(system.slug, _generic)(system, view)
    _prerender(page)
    _CACHE[key] = (time.monotonic(), page)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return page


def _prerender(page: CodePage) -> None:
    """Render each section's content once: it is the same for every reader of the page (who
    sees it is decided per request, in the template), and rendering it was most of a page's
    cost."""
    jinja = runtime.current().jinja
    for section in page.sections:
        template = jinja.get_template(f"case2code/sections/{section.template}")
        section.html = Markup(template.render(s=section.data, code=page.code))  # noqa: S704
