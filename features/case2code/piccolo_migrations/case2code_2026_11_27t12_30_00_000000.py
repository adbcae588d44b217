"""My codes: starred codes with private notes, and recent searches, per account."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "my codes and recent searches"

_MY = ("MyCode", "case2code_my_code")
_RECENT = ("RecentSearch", "case2code_recent_search")
_NOW = {"default": TimestamptzNow()}

COLUMNS: tuple[Column, ...] = (
    (_MY, "account_id", Integer, {"default": 0}),
    (_MY, "system", Varchar, {"length": 16, "default": ""}),
    (_MY, "code", Varchar, {"length": 12, "default": ""}),
    (_MY, "starred", Boolean, {"default": False}),
    (_MY, "note", Text, {"default": ""}),
    (_MY, "created_at", Timestamptz, _NOW),
    (_MY, "updated_at", Timestamptz, _NOW),
    (_RECENT, "account_id", Integer, {"default": 0}),
    (_RECENT, "query", Varchar, {"length": 200, "default": ""}),
    (_RECENT, "query_key", Varchar, {"length": 200, "default": ""}),
    (_RECENT, "searched_at", Timestamptz, _NOW),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="case2code", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
