from piccolo.columns import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class MeterEvent(Table, tablename="meter_event"):
    """The append-only ledger: one row per unit consumed. It is the truth for every meter."""

    meter = Varchar(length=40)
    subject = Varchar(length=80, index=True)  # "user:<id>" or "guest:<cookie id>"
    address = Varchar(length=64, null=True, default=None, index=True)  # keyed hash, guests only
    key = Varchar(length=200)  # what was consumed, e.g. "icd-10-cm:E11.9"
    idempotency_key = Varchar(length=255, unique=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
