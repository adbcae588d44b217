from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox_message"):
    """Every mail the portal sends is written here first; delivery is a job that reads it."""

    dedupe_key = Varchar(length=200, unique=True)
    to_addr = Varchar(length=320, index=True)
    subject = Varchar(length=300)
    text_body = Text()
    html_body = Text()
    # Headers of the message's own: Message-ID, In-Reply-To, References, Reply-To (threading).
    headers = JSON(default="{}")
    status = Varchar(length=20, default="queued")  # queued sent kept failed
    attempts = Integer(default=0)
    error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
