"""CaseConsultant's consults, their messages and attachments, personal consult addresses and
mail held for confirmation.

Everything here is stored after the PHI guard (features/consultant/phi.py): message bodies and
attachment texts are redacted; an attachment's original bytes are never kept. Rows name accounts
by id (the `account` table is another Piccolo app's); `on_account_deleted` removes them.
"""

from piccolo.columns import JSON, Float, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Consult(Table, tablename="consult"):
    key = Varchar(length=32, unique=True)  # random; the URL names a consult by it
    account_id = Integer(index=True)  # the submitter
    subject = Varchar(length=200)
    status = Varchar(length=12, default="received")  # received analysing in_review answered closed
    via = Varchar(length=8, default="web")  # web | email: where the case came from
    due_at = Timestamptz(index=True)
    draft = Text(default="")  # the analysis's Markdown answer, as the reviewer edits it
    draft_data = JSON(default="{}")  # the structured draft (codes, gaps, conflicts, citations)
    confidence = Float(default=0.0)
    redactions = JSON(default="[]")  # what the PHI guard removed, as kinds and counts only
    approved_by = Integer(null=True, default=None)  # who approved the last answer; 0 = instant
    answered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ConsultMessage(Table, tablename="consult_message"):
    consult_id = Integer(index=True)
    author = Varchar(length=12)  # submitter | consultant | portal
    account_id = Integer(null=True, default=None)
    kind = Varchar(length=12)  # case | followup | answer
    via = Varchar(length=8, default="web")  # web | email
    body = Text()  # redacted
    # The mail's Message-ID (received mail, or our answer as sent): threads mail to the consult.
    message_id = Varchar(length=250, null=True, default=None, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsultAttachment(Table, tablename="consult_attachment"):
    message_id = Integer(index=True)  # ConsultMessage.id
    filename = Varchar(length=120)
    kind = Varchar(length=8)  # txt | pdf | docx
    size = Integer()
    text = Text()  # extracted and redacted; the file itself is not kept


class ConsultAddress(Table, tablename="consult_address"):
    """An account's personal consult address: consult+TOKEN@... (rotated on request)."""

    account_id = Integer(unique=True)
    token = Varchar(length=40, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class HeldMail(Table, tablename="consult_held_mail"):
    """Mail to the shared address from a known sender, redacted, waiting for the account's owner
    to confirm it from a link mailed to the account's address (a From header can be forged)."""

    token_hash = Varchar(length=64, unique=True)
    account_id = Integer(index=True)
    subject = Varchar(length=200)
    body = Text()  # redacted
    attachments = JSON(default="[]")  # [{filename, kind, size, text}], redacted
    redactions = JSON(default="[]")
    message_id = Varchar(length=250, null=True, default=None)
    references = JSON(default="[]")  # In-Reply-To and References ids, for threading on confirm
    status = Varchar(length=12, default="held")  # held | confirmed
    expires_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
