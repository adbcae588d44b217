"""The security audit log (portal/accounts/audit.py): one row per sign-in, failure, password or
email change, role or plan change, deletion and single sign-on link. No foreign key to the
account: the rows outlive it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "security audit log"

_A = ("AuditEvent", "audit_event")

COLUMNS: tuple[Column, ...] = (
    (_A, "account_id", Integer, {"default": None, "null": True, "index": True}),
    (_A, "event", Varchar, {"length": 40, "default": "", "index": True}),
    (_A, "address_hash", Varchar, {"length": 16, "default": None, "null": True}),
    (_A, "device", Varchar, {"length": 60, "default": ""}),
    (_A, "detail", JSON, {"default": "{}"}),
    (_A, "created_at", Timestamptz, {"default": TimestamptzNow(), "index": True}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
