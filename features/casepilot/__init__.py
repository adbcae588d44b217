"""CasePilot: the coding assistant."""

from pathlib import Path

from features.casepilot import conversations
from features.casepilot.views import ROUTES
from portal.feature import Feature, NavEntry

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
    route_handlers=ROUTES,
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.casepilot.piccolo_app",
    on_account_deleted=conversations.delete_account_data,
)
