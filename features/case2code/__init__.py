"""Case2Code: code search and a page per code."""

from pathlib import Path

from features.case2code.cli import data
from features.case2code.controllers import ROUTES
from portal.feature import Feature, NavEntry

NAV = NavEntry(
    label="Case2Code",
    href="/case2code",
    blurb=(
        "Search every code set by code, words or abbreviations, and open a page per code "
        "with its notes, hierarchy, crosswalks, edits and fees."
    ),
)

feature = Feature(
    name="case2code",
    route_handlers=ROUTES,
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.case2code.piccolo_app",
    commands=[data],
)
