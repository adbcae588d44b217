"""Browse pages: ICD-10-CM chapters → blocks → categories; PCS sections → tables; HCPCS letter
ranges; CPT ranges. Each returns the context for case2code/browse.html."""

from __future__ import annotations

from typing import Any

from features.case2code import catalog
from features.case2code.systems import SYSTEMS, System

# What the first level of each system is, and what a group of that level contains.
TOP_KIND = {"icd-10-cm": "chapter", "icd-10-pcs": "section", "hcpcs": "range", "cpt": "range"}
CHILD_KIND = {"chapter": "block", "section": "table"}


async def overview() -> list[dict[str, Any]]:
    """Each system with its current release, for the Case2Code home page."""
    return [
        {"system": system, "release": await catalog.current_release(system.code_set)}
        for system in SYSTEMS.values()
    ]


async def root(system: System) -> dict[str, Any]:
    kind = TOP_KIND[system.slug]
    groups = await catalog.groups(system.slug, kind)
    release = await catalog.current_release(system.code_set)
    return {
        "system": system,
        "title": f"{system.label}",
        "groups": groups,
        "codes": [],
        "group": None,
        "release": release,
        "breadcrumbs": [(system.label, f"/codes/{system.slug}")],
    }


async def group_page(system: System, kind: str, key: str) -> dict[str, Any] | None:
    group = await catalog.group(system.slug, kind, key)
    if group is None:
        return None
    child_kind = CHILD_KIND.get(kind)
    groups = await catalog.groups(system.slug, child_kind, key) if child_kind else []
    if child_kind:
        codes: list[catalog.CodeView] = []
    elif system.slug == "icd-10-cm":
        codes = await catalog.top_level(system.slug, key)
    else:
        codes = await catalog.in_group(system.slug, key)
    crumbs = [(system.label, f"/codes/{system.slug}")]
    if group.parent_key:
        parent_kind = next((k for k, v in CHILD_KIND.items() if v == kind), None)
        if parent_kind:
            crumbs.append(
                (group.parent_key, f"/codes/{system.slug}/{parent_kind}/{group.parent_key}")
            )
    crumbs.append((group.key, f"/codes/{system.slug}/{kind}/{group.key}"))
    return {
        "system": system,
        "title": f"{group.key}: {group.title}",
        "groups": groups,
        "codes": codes,
        "group": group,
        "release": group.release,
        "breadcrumbs": crumbs,
    }
