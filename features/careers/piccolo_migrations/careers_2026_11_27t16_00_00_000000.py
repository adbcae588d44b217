"""CareerCenter: files, employer profiles, jobs, applications, saved jobs, alerts."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import (
    JSON,
    Boolean,
    Bytea,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "careers"

_F = ("StoredFile", "careers_file")
_E = ("EmployerProfile", "careers_employer")
_J = ("Job", "careers_job")
_A = ("Application", "careers_application")
_S = ("SavedJob", "careers_saved_job")
_L = ("JobAlert", "careers_alert")
_D = ("AlertDelivery", "careers_alert_delivery")
_NOW = {"default": TimestamptzNow()}
_NULL = {"default": None, "null": True}


def _text(length: int, default: str = "", **extra: object) -> dict[str, object]:
    return {"length": length, "default": default, **extra}


COLUMNS: tuple[Column, ...] = (
    (_F, "owner_id", Integer, {"default": 0, "index": True}),
    (_F, "kind", Varchar, _text(8)),
    (_F, "filename", Varchar, _text(120)),
    (_F, "size", Integer, {"default": 0}),
    (_F, "data", Bytea, {"default": b""}),
    (_F, "created_at", Timestamptz, _NOW),
    (_E, "account_id", Integer, {"default": 0, "unique": True}),
    (_E, "organisation", Varchar, _text(160)),
    (_E, "website", Varchar, _text(300)),
    (_E, "about", Text, {"default": ""}),
    (_E, "logo_file_id", Integer, _NULL),
    (_E, "created_at", Timestamptz, _NOW),
    (_E, "updated_at", Timestamptz, _NOW),
    (_J, "account_id", Integer, {"default": 0, "index": True}),
    (_J, "title", Varchar, _text(160)),
    (_J, "organisation", Varchar, _text(160)),
    (_J, "city", Varchar, _text(100)),
    (_J, "state", Varchar, _text(2, index=True)),
    (_J, "work_mode", Varchar, _text(8, index=True)),
    (_J, "employment_type", Varchar, _text(12)),
    (_J, "credentials", JSON, {"default": "[]"}),
    (_J, "specialties", JSON, {"default": "[]"}),
    (_J, "experience", Varchar, _text(8, index=True)),
    (_J, "salary_min", Integer, _NULL),
    (_J, "salary_max", Integer, _NULL),
    (_J, "salary_period", Varchar, _text(6, "year")),
    (_J, "description", Text, {"default": ""}),
    (_J, "apply_mode", Varchar, _text(8, "portal")),
    (_J, "apply_url", Varchar, _text(500)),
    (_J, "status", Varchar, _text(10, "draft", index=True)),
    (_J, "reject_reason", Text, {"default": ""}),
    (_J, "search_text", Text, {"default": ""}),
    (_J, "posted_at", Timestamptz, {**_NULL, "index": True}),
    (_J, "expires_at", Timestamptz, {**_NULL, "index": True}),
    (_J, "created_at", Timestamptz, _NOW),
    (_J, "updated_at", Timestamptz, _NOW),
    (_A, "job_id", Integer, {"default": 0, "index": True}),
    (_A, "account_id", Integer, {"default": 0, "index": True}),
    (_A, "cover_note", Text, {"default": ""}),
    (_A, "resume_file_id", Integer, {"default": 0}),
    (_A, "status", Varchar, _text(10, "new")),
    (_A, "created_at", Timestamptz, _NOW),
    (_A, "updated_at", Timestamptz, _NOW),
    (_S, "account_id", Integer, {"default": 0, "index": True}),
    (_S, "job_id", Integer, {"default": 0}),
    (_S, "created_at", Timestamptz, _NOW),
    (_L, "account_id", Integer, {"default": 0, "index": True}),
    (_L, "query", JSON, {"default": "{}"}),
    (_L, "frequency", Varchar, _text(6, "daily")),
    (_L, "active", Boolean, {"default": True}),
    (_L, "created_at", Timestamptz, _NOW),
    (_D, "alert_id", Integer, {"default": 0, "index": True}),
    (_D, "period", Varchar, _text(12)),
    (_D, "job_ids", JSON, {"default": "[]"}),
    (_D, "sent_at", Timestamptz, _NOW),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="careers", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
