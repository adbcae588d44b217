"""Unique indexes of My codes (Piccolo declares single-column indexes only, and a migration's
raw statements run before its tables are created, hence a migration of their own)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T12:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "my codes unique indexes"

# The upserts in features/case2code/mycodes.py name these columns in ON CONFLICT.
STATEMENTS = (
    "CREATE UNIQUE INDEX case2code_my_code_key ON case2code_my_code (account_id, system, code)",
    "CREATE UNIQUE INDEX case2code_recent_search_key "
    "ON case2code_recent_search (account_id, query_key)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="case2code", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
