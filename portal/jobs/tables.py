from piccolo.columns import JSON, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Job(Table, tablename="job"):
    """One background job: the database row is its status, whichever runner executes it."""

    id = UUID(primary_key=True)
    name = Varchar(length=80, index=True)
    dedupe_key = Varchar(length=200, unique=True, null=True, default=None)
    status = Varchar(length=20, default="queued", index=True)  # queued running done failed
    attempts = Integer(default=0)
    max_tries = Integer(default=3)
    owner_id = Integer(null=True, default=None, index=True)
    kwargs = JSON(default="{}")
    result = JSON(null=True, default=None)
    error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
