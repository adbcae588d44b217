"""Composite indexes on the catalog tables (Piccolo declares single-column indexes only)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T09:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog composite indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX catalog_code_system_code ON catalog_code (system, code)",
    "CREATE INDEX catalog_code_system_parent ON catalog_code (system, parent)",
    "CREATE INDEX catalog_code_system_group ON catalog_code (system, group_key)",
    "CREATE UNIQUE INDEX catalog_group_key ON catalog_group (system, kind, key)",
    "CREATE INDEX catalog_group_parent ON catalog_group (system, parent_key)",
    "CREATE INDEX catalog_change_code ON catalog_code_change (system, code)",
    "CREATE INDEX catalog_record_key ON catalog_record (kind, key)",
    "CREATE INDEX catalog_record_key2 ON catalog_record (kind, key2)",
    "CREATE INDEX catalog_record_release ON catalog_record (release)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="case2code", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
