"""CareerCenter: the job board for coders."""

from pathlib import Path

from portal.feature import Feature, NavEntry
from portal.product_page import landing_page

NAV = NavEntry(
    label="CareerCenter",
    href="/careers",
    blurb=("Coding and billing jobs: search, save, apply with your resume, and get alerts."),
)

feature = Feature(
    name="careers",
    route_handlers=[landing_page(NAV, "careers/landing.html")],
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.careers.piccolo_app",
)
