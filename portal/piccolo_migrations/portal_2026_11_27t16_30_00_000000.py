"""Single sign-on identities (portal/accounts/identities.py): an account may hold several, each
an OpenID Connect issuer and subject. The unique (issuer, subject) index is the next migration:
a migration's raw statements run before its tables are created."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from portal.migration_columns import Column, add_tables

ID = "2026-11-27T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "single sign-on identities"


class Account(Table, tablename="account", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


_I = ("Identity", "account_identity")

COLUMNS: tuple[Column, ...] = (
    (
        _I,
        "account",
        ForeignKey,
        {
            "references": Account,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "default": None,
            "index": True,
        },
    ),
    (_I, "provider", Varchar, {"length": 40, "default": ""}),
    (_I, "issuer", Varchar, {"length": 500, "default": ""}),
    (_I, "subject", Varchar, {"length": 255, "default": ""}),
    (_I, "email", Varchar, {"length": 320, "default": ""}),
    (_I, "created_at", Timestamptz, {"default": TimestamptzNow()}),
    (_I, "last_login_at", Timestamptz, {"default": None, "null": True}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    add_tables(manager, COLUMNS)
    return manager
