"""CaseConsultant: consults, messages, attachments, personal addresses, held mail."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Float, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T15:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "consults"

_C = ("Consult", "consult")
_M = ("ConsultMessage", "consult_message")
_A = ("ConsultAttachment", "consult_attachment")
_AD = ("ConsultAddress", "consult_address")
_H = ("HeldMail", "consult_held_mail")
_NOW = {"default": TimestamptzNow()}
_NULL = {"default": None, "null": True}

# (table, column, column class, extra params), as Piccolo's auto migrations would write them.
COLUMNS: tuple[Column, ...] = (
    (_C, "key", Varchar, {"length": 32, "default": "", "unique": True}),
    (_C, "account_id", Integer, {"default": 0, "index": True}),
    (_C, "subject", Varchar, {"length": 200, "default": ""}),
    (_C, "status", Varchar, {"length": 12, "default": "received"}),
    (_C, "via", Varchar, {"length": 8, "default": "web"}),
    (_C, "due_at", Timestamptz, {**_NOW, "index": True}),
    (_C, "draft", Text, {"default": ""}),
    (_C, "draft_data", JSON, {"default": "{}"}),
    (_C, "confidence", Float, {"default": 0.0}),
    (_C, "redactions", JSON, {"default": "[]"}),
    (_C, "approved_by", Integer, _NULL),
    (_C, "answered_at", Timestamptz, _NULL),
    (_C, "created_at", Timestamptz, _NOW),
    (_C, "updated_at", Timestamptz, _NOW),
    (_M, "consult_id", Integer, {"default": 0, "index": True}),
    (_M, "author", Varchar, {"length": 12, "default": ""}),
    (_M, "account_id", Integer, _NULL),
    (_M, "kind", Varchar, {"length": 12, "default": ""}),
    (_M, "via", Varchar, {"length": 8, "default": "web"}),
    (_M, "body", Text, {"default": ""}),
    (_M, "message_id", Varchar, {"length": 250, **_NULL, "unique": True}),
    (_M, "created_at", Timestamptz, _NOW),
    (_A, "message_id", Integer, {"default": 0, "index": True}),
    (_A, "filename", Varchar, {"length": 120, "default": ""}),
    (_A, "kind", Varchar, {"length": 8, "default": ""}),
    (_A, "size", Integer, {"default": 0}),
    (_A, "text", Text, {"default": ""}),
    (_AD, "account_id", Integer, {"default": 0, "unique": True}),
    (_AD, "token", Varchar, {"length": 40, "default": "", "unique": True}),
    (_AD, "created_at", Timestamptz, _NOW),
    (_H, "token_hash", Varchar, {"length": 64, "default": "", "unique": True}),
    (_H, "account_id", Integer, {"default": 0, "index": True}),
    (_H, "subject", Varchar, {"length": 200, "default": ""}),
    (_H, "body", Text, {"default": ""}),
    (_H, "attachments", JSON, {"default": "[]"}),
    (_H, "redactions", JSON, {"default": "[]"}),
    (_H, "message_id", Varchar, {"length": 250, **_NULL}),
    (_H, "references", JSON, {"default": "[]"}),
    (_H, "status", Varchar, {"length": 12, "default": "held"}),
    (_H, "expires_at", Timestamptz, _NOW),
    (_H, "created_at", Timestamptz, _NOW),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="consultant", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
