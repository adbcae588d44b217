"""CaseConsultant's intake by email: `portal smtpd` hands every mail for a consult address here.

Who a mail is from decides what happens, because a From header can be forged:

- consult+TOKEN@domain (an account's personal address, its token secret): the token's account,
  whatever the From says; the mail becomes a consult at once, or a follow-up when it replies to
  one of that account's consults. Replies go to the account's own address, never to the From.
- consult@domain (the shared address) from an account's address: held, redacted, until the
  account's owner confirms it from a link mailed to the account's address.
- the shared address from an unknown sender, or a personal address whose token is unknown (a
  typo, or rotated): a polite reply to the From saying how to send cases; nothing is stored.
  (Not a 550 at RCPT time: a bounce is easy to miss, and the reply says what to do instead.)

Nothing of a mail is stored before the service's PHI guard, and never the raw message. A mail
that cannot be taken as a whole (empty, a refused attachment, over the plan's limit) is answered
with the reason and nothing of it is kept: the sender resends it corrected, rather than the
portal analysing half a case. Autoresponders and bounces are never answered (mail loops).
Replies to unknown senders are capped per address, and held mail per account (MAX_WAITING), so
forged mail cannot turn the portal into a flood of mail to somebody.
Logs carry outcomes and sizes, never subjects or bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any, cast

import structlog

from features.consultant import mailin_replies as replies
from features.consultant import service
from features.consultant.attachments import Attachment, AttachmentError, read_attachment
from features.consultant.tables import HeldMail
from portal import runtime
from portal.accounts.service import AccountView, account_by_email
from portal.mail.inbound import InboundMail

log = structlog.get_logger("consultant.mailin")

MESSAGE_ID_CHARS = 250  # ConsultMessage.message_id
_ID = re.compile(r"<[^<>\s]+>")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Anyone can send shared-address mail with a member's From: past this many unconfirmed mails an
# account gets no more confirmation requests (nor rows), so its inbox cannot be flooded.
MAX_WAITING = 10


# Addresses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    token: str | None  # None: the shared address


def recipient(address: str) -> Recipient | None:
    """Which consult address `address` is, or None when it is not one."""
    shared_local, _, shared_domain = runtime.current().settings.consult.address.partition("@")
    local, _, domain = address.strip().lower().rpartition("@")
    base, plus, token = local.partition("+")
    if domain != shared_domain or base != shared_local:
        return None
    return Recipient(token if plus else None)


def takes_address(address: str) -> bool:
    """The Feature's `inbound_addresses`: smtpd refuses other recipients at RCPT time."""
    return recipient(address) is not None


# Parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedMail:
    sender: str  # the From address, lower-case ("" when there is none)
    message_id: str | None
    references: tuple[str, ...]  # In-Reply-To, then References newest first
    subject: str  # without Re:/Fwd: prefixes
    text: str  # the text/plain body, or the HTML body as text
    files: tuple[tuple[str, bytes], ...]  # attachments as sent: (filename, bytes)
    automatic: bool  # an autoresponder's mail or a bounce
    digest: str  # names this mail in dedupe keys (from its Message-ID, else its bytes)

    def __repr__(self) -> str:  # never the content: a repr ends up in logs and tracebacks
        return f"ParsedMail(files={len(self.files)}, chars={len(self.text)})"


def parse(raw: bytes, envelope_from: str = "") -> ParsedMail:
    msg = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
    sender = parseaddr(str(msg.get("From", "")))[1].strip().lower()
    message_id = next(iter(_message_ids(msg.get("Message-ID"))), None)
    references = _message_ids(msg.get("In-Reply-To")) + _message_ids(msg.get("References"))[::-1]
    body = msg.get_body(preferencelist=("plain", "html"))
    return ParsedMail(
        sender=sender or parseaddr(envelope_from)[1].strip().lower(),
        message_id=message_id,
        references=tuple(dict.fromkeys(r for r in references if r != message_id)),
        subject=clean_subject(str(msg.get("Subject", ""))),
        text=_body_text(body) if body is not None else "",
        files=tuple(_files(msg, body)),
        automatic=_automatic(msg, envelope_from),
        digest=hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()[:40],
    )


def _message_ids(value: Any) -> list[str]:
    if not value:
        return []
    text = str(value)
    found = _ID.findall(text) or ([f"<{text.strip()}>"] if text.strip().isprintable() else [])
    # An id longer than the column still has to match itself on a resend: hash it to fit.
    return [
        i if len(i) <= MESSAGE_ID_CHARS else f"<{hashlib.sha256(i.encode()).hexdigest()}@long>"
        for i in found
        if " " not in i
    ]


def clean_subject(subject: str) -> str:
    return _SUBJECT_PREFIX.sub("", " ".join(subject.split()))


def _automatic(msg: Message, envelope_from: str) -> bool:
    """Bounces and autoresponders ("out of office" to our answer's Reply-To) are not cases, and
    answering them would start a mail loop."""
    if not envelope_from.strip("<> "):
        return True
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    own = parseaddr(runtime.current().settings.mail.sender)[1].lower()
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    return (
        auto != "no"
        or precedence in _AUTO_PRECEDENCE
        or any(msg.get(h) for h in ("X-Autoreply", "X-Autorespond"))
        or (bool(own) and sender == own)
    )


def _part_text(part: Message) -> str:
    try:
        return str(cast(EmailMessage, part).get_content())
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _body_text(body: Message) -> str:
    text = _part_text(body)
    return html_to_text(text) if body.get_content_subtype() == "html" else text


def _files(part: Message, body: Message | None) -> list[tuple[str, bytes]]:
    """The mail's attachments. Images shown inside an HTML body (a signature's logo) are not
    attachments; an attached mail (message/rfc822) is one, refused as a type we do not read."""
    if part is body:
        return []
    name = part.get_filename()
    if part.is_attachment() or (name and not part.is_multipart() and not _inline_image(part)):
        return [(name or "attachment", _part_bytes(part))]
    if not part.is_multipart():
        return []
    found: list[tuple[str, bytes]] = []
    for sub in cast(EmailMessage, part).iter_parts():
        found.extend(_files(sub, body))
    return found


def _inline_image(part: Message) -> bool:
    return part.get_content_maintype() == "image" and (
        part.get_content_disposition() == "inline" or bool(part.get("Content-ID"))
    )


def _part_bytes(part: Message) -> bytes:
    if part.is_multipart():
        return part.as_bytes()
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


# HTML and quoted text ------------------------------------------------------------------------

_LINES = {
    "div", "tr", "table", "ul", "ol", "li", "dl", "dt", "dd", "pre", "section", "article",
    "header", "footer", "address", "hr",
}  # fmt: skip
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}


class _HtmlText(HTMLParser):
    """HTML to plain text that keeps the lines: paragraphs get a blank line, breaks, list items
    and blocks a new line, and quoted mail (<blockquote>) gets "> " so a follow-up's quote is
    cut like plain text's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.newlines = 1  # newlines at the end of `out`: none after text
        self.hidden = 0
        self.quote = 0
        self.pre = 0

    def newline(self) -> None:
        self.out.append("\n" + "> " * self.quote)
        self.newlines += 1

    def at_least(self, newlines: int) -> None:
        while self.newlines < newlines:
            self.newline()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
            return
        if tag == "br":
            self.newline()
        elif tag == "blockquote":
            self.at_least(1)
            self.quote += 1
            self.at_least(2)
        elif tag in _PARAGRAPHS:
            self.at_least(2)
        elif tag in _LINES:
            self.at_least(1)
        if tag == "li":
            self.out.append("- ")
            self.newlines = 0
        elif tag == "td" and not self.newlines:
            self.out.append(" ")
        self.pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.at_least(2)
        elif tag in _PARAGRAPHS:
            self.at_least(2)
        elif tag in _LINES:
            self.at_least(1)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            text = data.replace("\n", "\n" + "> " * self.quote)
        else:
            text = re.sub(r"\s+", " ", data)
            if self.newlines:
                text = text.lstrip()
        if text:
            self.out.append(text)
            self.newlines = 0


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.out).replace("\xa0", " ").splitlines()]
    lines = [line if line.strip(" >") else "" for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ATTRIBUTION = re.compile(r"^[ \t]*On\b[^\n]{0,200}(?:\n[^\n]{0,200})?\bwrote:[ \t]*$", re.M)
_ORIGINAL = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Original Message|Forwarded message)[ \t]*-{2,}"
    r"|From:[^\n]*\n(?:[^\n]*\n){0,2}?[ \t]*(?:Sent|Date):)",
    re.M | re.I,
)
_SIGNATURE = re.compile(r"^-- $", re.M)


def strip_quoted(text: str) -> str:
    """A follow-up without the mail it replies to: quoted lines ("> ..."), the "On ... wrote:"
    line, and everything below an Outlook-style "Original Message" block. The answer quoted back
    is ours already, and the case quoted back was stored with the first mail."""
    cut = _ORIGINAL.search(text)
    if cut:
        text = text[: cut.start()]
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return _ATTRIBUTION.sub("", text).strip()


def without_signature(text: str) -> str:
    """Below the standard "-- " line is the sender's signature, not the case."""
    found = _SIGNATURE.search(text)
    return text[: found.start()].rstrip() if found else text


# Routing ----------------------------------------------------------------------------------


class Refused(Exception):
    """The mail cannot be taken as a whole; `reasons` lists what was wrong, for the sender."""

    def __init__(self, kind: str, summary: str, reasons: list[str] | None = None) -> None:
        super().__init__(summary)
        self.kind = kind
        self.summary = summary
        self.reasons = reasons or []


async def handle_inbound(mail: InboundMail) -> bool:
    """The Feature's `inbound_mail` hook: True when the recipient is a consult address."""
    outcome = await receive(mail)
    if outcome == "not_ours":
        return False
    log.info("consult mail", outcome=outcome, bytes=len(mail.raw))
    return True


async def receive(mail: InboundMail) -> str:
    """Route one mail for one recipient; the outcome names what happened (logs and tests)."""
    target = recipient(mail.rcpt_to)
    if target is None:
        return "not_ours"
    try:
        parsed = await asyncio.to_thread(parse, mail.raw, mail.mail_from)
    except Exception as exc:  # a message the email package cannot read: nothing to answer
        log.warning("unreadable consult mail", error=type(exc).__name__, bytes=len(mail.raw))
        return "unreadable"
    if parsed.automatic:
        return "automatic"
    if target.token is not None:
        account = await service.account_for_token(target.token) if target.token else None
        if account is None:
            return await _unknown(parsed, "unknown_address")
        return await _take(account, parsed, held=False)
    account = await account_by_email(parsed.sender) if parsed.sender else None
    if account is None:
        return await _unknown(parsed, "unknown_sender")
    return await _take(account, parsed, held=True)


async def _unknown(parsed: ParsedMail, outcome: str) -> str:
    if parsed.sender:
        await replies.unknown_sender(
            parsed.sender,
            parsed.digest,
            parsed.message_id,
            unknown_address=outcome != "unknown_sender",
        )
    return outcome


async def _take(account: AccountView, parsed: ParsedMail, *, held: bool) -> str:
    if await _seen(account, parsed, held=held):
        return "duplicate"
    thread = await service.thread_for_mail(account.id, list(parsed.references))
    text = without_signature(parsed.text)
    text = strip_quoted(text) if thread is not None else text.strip()
    try:
        files = await _read_files(parsed.files)
        if not text and not files:
            raise Refused("empty", "The mail had no case text and no attachment.")
        return await _store(account, parsed, text, files, thread, held=held)
    except Refused as exc:
        await replies.refused(
            account.email, parsed.digest, parsed.message_id, exc.kind, exc.summary, exc.reasons
        )
        return f"refused_{exc.kind}"
    except service.LimitReached as exc:
        await replies.refused(account.email, parsed.digest, parsed.message_id, "limit", str(exc))
        return "refused_limit"
    except service.ConsultError as exc:
        if await _seen(account, parsed, held=held):  # the same mail on another connection won
            return "duplicate"
        await replies.refused(account.email, parsed.digest, parsed.message_id, "case", str(exc))
        return "refused_case"


async def _store(
    account: AccountView,
    parsed: ParsedMail,
    text: str,
    files: list[Attachment],
    thread: service.ConsultView | None,
    *,
    held: bool,
) -> str:
    if held:
        if await _waiting(account) >= MAX_WAITING:
            return "held_limit"
        await service.hold(
            account,
            parsed.subject,
            text,
            files,
            message_id=parsed.message_id,
            references=list(parsed.references),
        )
        return "held"
    if thread is not None:
        await service.follow_up(
            thread, account, text, files, via="email", message_id=parsed.message_id
        )
        return "follow_up"
    await service.submit(
        account, parsed.subject, text, files, via="email", message_id=parsed.message_id
    )
    return "consult"


async def _seen(account: AccountView, parsed: ParsedMail, *, held: bool) -> bool:
    """The same mail again (a resend, a retry after a 451): its Message-ID is stored already,
    as a consult message or, on the shared address, as mail waiting for confirmation."""
    if not parsed.message_id:
        return False
    if await service.thread_for_mail(account.id, [parsed.message_id]) is not None:
        return True
    return held and bool(await _waiting(account, parsed.message_id))


async def _waiting(account: AccountView, message_id: str | None = None) -> int:
    """The account's held mails waiting for confirmation (with this Message-ID)."""
    where = (
        (HeldMail.account_id == account.id)
        & (HeldMail.status == "held")
        & (HeldMail.expires_at > datetime.now(UTC))
    )
    if message_id is not None:
        where = where & (HeldMail.message_id == message_id)
    count: int = await HeldMail.count().where(where)
    return count


async def _read_files(files: tuple[tuple[str, bytes], ...]) -> list[Attachment]:
    """Every attachment read and checked, or Refused listing each one that is not taken (by
    position and type: a file's name can carry a patient's name, and the reply is stored)."""
    limit = runtime.current().settings.consult.max_attachments
    if len(files) > limit:
        raise Refused(
            "attachment",
            f"The mail had {len(files)} attachments; a case can have at most {limit}.",
        )
    taken: list[Attachment] = []
    problems: list[str] = []
    for number, (name, data) in enumerate(files, 1):
        try:
            # PDF and Word parsing is CPU work: off the loop that serves SMTP and jobs.
            taken.append(await asyncio.to_thread(read_attachment, name, data))
        except AttachmentError as exc:
            # The error's message never quotes the file (attachments.py), so it can go back.
            problems.append(f"{_describe(number, len(files), name, data)}: {exc}")
    if problems:
        raise Refused(
            "attachment",
            "Some attachments could not be taken. We take text (.txt), PDF (.pdf) and Word "
            "(.docx) files:",
            problems,
        )
    return taken


def _describe(number: int, total: int, name: str, data: bytes) -> str:
    # Only a short extension: a longer "extension" can be part of a name ("Jane.Doe").
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    kind = f".{ext}" if ext.isalnum() and len(ext) <= 4 else "file"
    return f"Attachment {number} of {total} ({kind}, {_size(len(data))})"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"
