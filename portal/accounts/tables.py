from piccolo.columns import Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
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
