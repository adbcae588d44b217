"""CareerCenter: the job board for coders."""

from pathlib import Path

from features.careers import (
    alerts,
    applications,
    views_applicants,
    views_employer,
    views_jobs,
    views_moderation,
    views_seeker,
)
from portal.feature import Feature, NavEntry


async def forget_account(account_id: int) -> None:
    """What an account leaves in CareerCenter: applications, saved jobs, alerts, its files."""
    await applications.forget_account(account_id)
    await alerts.forget_account(account_id)


NAV = NavEntry(
    label="CareerCenter",
    href="/careers",
    blurb=("Coding and billing jobs: search, save, apply with your resume, and get alerts."),
)

feature = Feature(
    name="careers",
    route_handlers=[
        *views_jobs.ROUTES,
        *views_employer.ROUTES,
        *views_moderation.ROUTES,
        *views_seeker.ROUTES,
        *views_applicants.ROUTES,
    ],
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.careers.piccolo_app",
    jobs=alerts.JOBS,
    schedules=alerts.SCHEDULES,
    on_account_deleted=forget_account,
)
