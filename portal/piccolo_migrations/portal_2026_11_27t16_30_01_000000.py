"""One account per single sign-on identity: (issuer, subject) is unique. Piccolo declares
single-column indexes only, and raw statements run before a migration's tables are created,
hence a migration of its own."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T16:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "single sign-on identities unique index"

# identities.link names these columns in ON CONFLICT.
STATEMENTS = (
    "CREATE UNIQUE INDEX account_identity_issuer_subject_key ON account_identity (issuer, subject)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
