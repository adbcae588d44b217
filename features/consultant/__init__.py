"""CaseConsultant: cases by email or web form."""

from pathlib import Path

from portal.feature import Feature, NavEntry
from portal.product_page import landing_page

NAV = NavEntry(
    label="CaseConsultant",
    href="/consultant",
    blurb=(
        "Send a de-identified case by email or web form; get coded answers with "
        "rationale, reviewed by an expert."
    ),
)

feature = Feature(
    name="consultant",
    route_handlers=[landing_page(NAV, "consultant/landing.html")],
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
)
