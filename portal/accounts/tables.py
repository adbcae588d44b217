from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Account(Table, tablename="account"):
    email = Varchar(length=320, unique=True, index=True)
    password_hash = Varchar(length=255)
    email_verified_at = Timestamptz(null=True, default=None)
    role = Varchar(length=20, default="member")
    plan = Varchar(length=20, default="free")
    disabled = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class AccountToken(Table, tablename="account_token"):
    """A single-use, expiring secret sent by mail; only its SHA-256 is stored."""

    account = ForeignKey(Account, on_delete=OnDelete.cascade)
    purpose = Varchar(length=20)
    token_hash = Varchar(length=64, unique=True)
    new_email = Varchar(length=320, null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuditEvent(Table, tablename="audit_event"):
    """A security event of an account (see portal/accounts/audit.py for what a row may hold).

    `account_id` is a plain integer, not a foreign key: the rows outlive a deleted account.
    """

    account_id = Integer(null=True, default=None, index=True)
    event = Varchar(length=40, index=True)
    address_hash = Varchar(length=16, null=True, default=None)  # keyed hash of the network
    device = Varchar(length=60, default="")  # "Firefox on Linux", never the User-Agent
    detail = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class Identity(Table, tablename="account_identity"):
    """A single sign-on identity (issuer + subject) that signs in to an account.

    (issuer, subject) is unique through an index of its own (a migration's raw statement)."""

    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    provider = Varchar(length=40)  # the configured key it came through, for display
    issuer = Varchar(length=500)
    subject = Varchar(length=255)
    email = Varchar(length=320, default="")  # as the provider last said, shown in settings
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
