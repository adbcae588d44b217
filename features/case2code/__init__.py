"""Case2Code: code search and a page per code."""

from pathlib import Path

from features.case2code import mycodes
from features.case2code.api import ROUTES as API_ROUTES
from features.case2code.case_views import ROUTES as CASE_ROUTES
from features.case2code.cli import data
from features.case2code.controllers import ROUTES
from features.case2code.search import service as search
from features.case2code.search_views import ROUTES as SEARCH_ROUTES
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
    route_handlers=[*SEARCH_ROUTES, *ROUTES, *API_ROUTES, *CASE_ROUTES],
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.case2code.piccolo_app",
    commands=[data],
    on_account_deleted=mycodes.delete_account_data,
    warm_up=search.warm_up,
)
