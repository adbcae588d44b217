"""Outbox messages carry mail headers of their own (Message-ID, In-Reply-To, References,
Reply-To): consult answers are threaded replies. The inbound mail table goes: received mail is
handled by the feature it is for, after the PHI guard, and never stored raw."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T15:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox message headers; no raw inbound mail"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_column(
        table_class_name="OutboxMessage",
        tablename="outbox_message",
        column_name="headers",
        db_column_name="headers",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "{}",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    manager.drop_table(class_name="InboundMessage", tablename="inbound_message")
    return manager
