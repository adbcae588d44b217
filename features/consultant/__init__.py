"""CaseConsultant: cases by email or web form, analysed in the background, answered by experts."""

from pathlib import Path

from features.consultant import mailin, service
from features.consultant.views import ROUTES
from portal.feature import Feature, NavEntry
from portal.jobs.spec import JobSpec

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
    route_handlers=ROUTES,
    nav=NAV,
    template_dir=Path(__file__).parent / "templates",
    piccolo_app="features.consultant.piccolo_app",
    jobs=[JobSpec("consult.analyse", service.analyse_job, timeout_s=120, max_tries=3)],
    on_account_deleted=service.delete_account_data,
    inbound_mail=mailin.handle_inbound,
    inbound_addresses=mailin.takes_address,
)
