"""Feature migrations written by hand: tables and columns listed the way Piccolo's auto
migrations would add them, one call each (kept stable: applied migrations must not change)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.indexes import IndexMethod

# ((table class name, table name), column, column class, params besides the defaults)
Column = tuple[tuple[str, str], str, type, dict[str, Any]]


def add_tables(manager: MigrationManager, columns: Sequence[Column]) -> None:
    for class_name, tablename in dict.fromkeys(table for table, *_ in columns):
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for (class_name, tablename), column, column_class, extra in columns:
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
