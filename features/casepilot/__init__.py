"""CasePilot: the coding assistant."""

from pathlib import Path

from portal.feature import Feature, NavEntry
from portal.product_page import landing_page

NAV = NavEntry(
    label="CasePilot",
    href="/casepilot",
    blurb=(
        "Ask a coding question in plain words and get an answer built from the portal's "
        "own data, with a citation for every fact."
    ),
)

feature = Feature(
    name="casepilot",
    route_handlers=[landing_page(NAV, "casepilot/landing.html")],
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
)
