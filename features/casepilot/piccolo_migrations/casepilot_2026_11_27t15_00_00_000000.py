"""CasePilot's conversations and messages."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "casepilot conversations and messages"

_CONV = ("Conversation", "casepilot_conversation")
_MSG = ("Message", "casepilot_message")
_NOW = {"default": TimestamptzNow()}

# (table, column, column class, extra params), as Piccolo's auto migrations would write them.
COLUMNS: tuple[Column, ...] = (
    (_CONV, "key", Varchar, {"length": 32, "default": "", "unique": True}),
    (_CONV, "account_id", Integer, {"default": None, "null": True, "index": True}),
    (_CONV, "guest_id", Varchar, {"length": 64, "default": None, "null": True, "index": True}),
    (_CONV, "title", Varchar, {"length": 200, "default": ""}),
    (_CONV, "code_system", Varchar, {"length": 16, "default": None, "null": True}),
    (_CONV, "code", Varchar, {"length": 12, "default": None, "null": True}),
    (_CONV, "created_at", Timestamptz, _NOW),
    (_CONV, "updated_at", Timestamptz, _NOW),
    (_MSG, "conversation_id", Integer, {"default": 0, "index": True}),
    (_MSG, "role", Varchar, {"length": 10, "default": ""}),
    (_MSG, "text", Text, {"default": ""}),
    (_MSG, "nonce", Varchar, {"length": 32, "default": None, "null": True, "unique": True}),
    (_MSG, "status", Varchar, {"length": 10, "default": "done"}),
    (_MSG, "claimed_at", Timestamptz, {"default": None, "null": True}),
    (_MSG, "engine", Varchar, {"length": 20, "default": ""}),
    (_MSG, "intent", Varchar, {"length": 40, "default": ""}),
    (_MSG, "refused", Boolean, {"default": False}),
    (_MSG, "citations", JSON, {"default": "[]"}),
    (_MSG, "flags", JSON, {"default": "[]"}),
    (_MSG, "created_at", Timestamptz, _NOW),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="casepilot", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
