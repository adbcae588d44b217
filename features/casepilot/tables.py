"""CasePilot's conversations and their messages.

Rows name the account by id rather than by a foreign key (the `account` table is another
Piccolo app's); the feature's `on_account_deleted` hook removes them. A guest's conversation
belongs to the guest's signed cookie id and is pruned a day after its last question.
"""

from piccolo.columns import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Conversation(Table, tablename="casepilot_conversation"):
    key = Varchar(length=32, unique=True)  # random; the URL names a conversation by it
    account_id = Integer(null=True, default=None, index=True)
    guest_id = Varchar(length=64, null=True, default=None, index=True)
    title = Varchar(length=200)  # the first question, shortened
    code_system = Varchar(length=16, null=True, default=None)  # asked from a code page
    code = Varchar(length=12, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Message(Table, tablename="casepilot_message"):
    conversation_id = Integer(index=True)
    role = Varchar(length=10)  # user | assistant
    text = Text(default="")  # the question, or the answer's Markdown
    # A question carries the nonce of the form that sent it: a second click finds the first.
    nonce = Varchar(length=32, null=True, default=None, unique=True)
    status = Varchar(length=10, default="done")  # pending | running | done (assistant rows)
    claimed_at = Timestamptz(null=True, default=None)
    engine = Varchar(length=20, default="")
    intent = Varchar(length=40, default="")
    refused = Boolean(default=False)
    citations = JSON(default="[]")  # [{label, url, release}]
    flags = JSON(default="[]")  # [{code, system, problem, note}]
    created_at = Timestamptz(default=TimestamptzNow())
