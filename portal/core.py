"""The core as a Feature: pages and jobs every product shares."""

from __future__ import annotations

from portal.accounts import audit
from portal.accounts.controllers import AuthController
from portal.accounts.oidc_controllers import SsoController
from portal.accounts.settings_controller import SettingsController
from portal.admin.audit_controller import AuditController
from portal.admin.controllers import AdminController
from portal.feature import Feature
from portal.home import home
from portal.jobs.controllers import job_status_page
from portal.mail.sender import JOBS as MAIL_JOBS
from portal.ops import MetricsController, healthz, readyz

core = Feature(
    name="core",
    route_handlers=[
        home,
        AuthController,
        SsoController,
        SettingsController,
        AdminController,
        AuditController,
        job_status_page,
        healthz,
        readyz,
        MetricsController,
    ],
    piccolo_app="portal.piccolo_app",
    jobs=[*MAIL_JOBS, *audit.JOBS],
    schedules=audit.SCHEDULES,
)
