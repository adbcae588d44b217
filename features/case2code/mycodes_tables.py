"""My codes: what a signed-in account keeps in Case2Code (stars, private notes, recent searches).

Rows name the account by id rather than by a foreign key: the core's `account` table lives in
another Piccolo app, and the feature's `on_account_deleted` hook removes these rows.
Composite unique indexes are in the migration (Piccolo declares single-column ones only).
"""

from piccolo.columns import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class MyCode(Table, tablename="case2code_my_code"):
    """One code an account starred or wrote a note on; unique per (account, system, code)."""

    account_id = Integer()
    system = Varchar(length=16)
    code = Varchar(length=12)  # normalised: upper case, no dot
    starred = Boolean(default=False)
    note = Text(default="")  # plain text, escaped wherever it is shown
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RecentSearch(Table, tablename="case2code_recent_search"):
    """A query an account searched; unique per (account, query_key)."""

    account_id = Integer()
    query = Varchar(length=200)  # as typed (whitespace collapsed)
    query_key = Varchar(length=200)  # case-folded: "E11.9" and "e11.9" are one search
    searched_at = Timestamptz(default=TimestamptzNow())
