"""My codes: starred codes with private notes, and recent searches, per account."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "my codes and recent searches"

# (table class, table name, column, column class, extra params), as Piccolo's auto migrations
# would write them one add_column call each.
COLUMNS: tuple[tuple[str, str, str, type, dict[str, Any]], ...] = (
    ("MyCode", "case2code_my_code", "account_id", Integer, {"default": 0}),
    ("MyCode", "case2code_my_code", "system", Varchar, {"length": 16, "default": ""}),
    ("MyCode", "case2code_my_code", "code", Varchar, {"length": 12, "default": ""}),
    ("MyCode", "case2code_my_code", "starred", Boolean, {"default": False}),
    ("MyCode", "case2code_my_code", "note", Text, {"default": ""}),
    ("MyCode", "case2code_my_code", "created_at", Timestamptz, {"default": TimestamptzNow()}),
    ("MyCode", "case2code_my_code", "updated_at", Timestamptz, {"default": TimestamptzNow()}),
    ("RecentSearch", "case2code_recent_search", "account_id", Integer, {"default": 0}),
    ("RecentSearch", "case2code_recent_search", "query", Varchar, {"length": 200, "default": ""}),
    (
        "RecentSearch",
        "case2code_recent_search",
        "query_key",
        Varchar,
        {"length": 200, "default": ""},
    ),
    (
        "RecentSearch",
        "case2code_recent_search",
        "searched_at",
        Timestamptz,
        {"default": TimestamptzNow()},
    ),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="case2code", description=DESCRIPTION)

    manager.add_table(class_name="MyCode", tablename="case2code_my_code", schema=None, columns=None)
    manager.add_table(
        class_name="RecentSearch",
        tablename="case2code_recent_search",
        schema=None,
        columns=None,
    )

    for class_name, tablename, column, column_class, extra in COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=column,
            db_column_name=column,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "null": False,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
                **extra,
            },
            schema=None,
        )

    return manager
