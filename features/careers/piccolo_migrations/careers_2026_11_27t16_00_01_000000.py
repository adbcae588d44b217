"""Unique pairs of CareerCenter (Piccolo declares single-column unique indexes only, and a
migration's raw statements run before its tables are created, hence a migration of their own)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T16:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "careers unique pairs"

# The services upsert on these (ON CONFLICT names their columns).
STATEMENTS = (
    "CREATE UNIQUE INDEX careers_application_pair ON careers_application (job_id, account_id)",
    "CREATE UNIQUE INDEX careers_saved_job_pair ON careers_saved_job (account_id, job_id)",
    "CREATE UNIQUE INDEX careers_alert_delivery_pair ON careers_alert_delivery (alert_id, period)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="careers", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
