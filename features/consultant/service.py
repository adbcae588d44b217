"""Consults: intake, the analysis job, review, answers and threads. No web framework here.

The PHI guard runs before anything is stored (`_guarded`). A consult's life: received ->
analysing (the job drafts an answer) -> in_review (a consultant edits and approves) ->
answered (the answer mailed and shown in the thread) -> closed. A follow-up from the submitter
(web or mail) sends it round again. Instant mode sends a confident draft without review.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from features.consultant import filenames, phi
from features.consultant.attachments import Attachment
from features.consultant.tables import (
    Consult,
    ConsultAddress,
    ConsultAttachment,
    ConsultMessage,
    HeldMail,
)
from portal import runtime
from portal.accounts.service import AccountView, get_account
from portal.mail.sender import send_mail
from portal.metering import service as metering
from portal.metering.service import Subject
from portal.settings import CONSULTS

log = structlog.get_logger("consultant")

STATUSES = ("received", "analysing", "in_review", "answered", "closed")
STATUS_LABELS = {
    "received": "Received",
    "analysing": "Analysing",
    "in_review": "In review",
    "answered": "Answered",
    "closed": "Closed",
}
OPEN = ("received", "analysing", "in_review")
SUBJECT_CHARS = 200
STAFF_ROLES = ("consultant", "admin")


class ConsultError(ValueError):
    """A consult that cannot be taken as sent; the message says why, for the sender."""


class LimitReached(ConsultError):
    pass


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    kind: str
    size: int
    text: str


@dataclass(frozen=True)
class MessageView:
    id: int
    author: str
    kind: str
    via: str
    body: str
    created_at: datetime
    attachments: tuple[AttachmentView, ...] = ()


@dataclass(frozen=True)
class ConsultView:
    id: int
    key: str
    account_id: int
    subject: str
    status: str
    via: str
    due_at: datetime
    draft: str
    confidence: float
    redactions: list[str]
    approved_by: int | None
    answered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    draft_data: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"/consultant/{self.key}"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def working(self) -> bool:
        """The job is on it: the thread page polls while this holds."""
        return self.status in ("received", "analysing")


@dataclass(frozen=True)
class Submitted:
    consult: ConsultView
    redactions: list[str]  # what the PHI guard removed, for the sender to see
    follow_up: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _view(row: dict[str, Any]) -> ConsultView:
    return ConsultView(
        id=row["id"],
        key=row["key"],
        account_id=row["account_id"],
        subject=row["subject"],
        status=row["status"],
        via=row["via"],
        due_at=row["due_at"],
        draft=row["draft"],
        confidence=row["confidence"],
        redactions=row["redactions"] or [],
        approved_by=row["approved_by"],
        answered_at=row["answered_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        draft_data=row["draft_data"] or {},
    )


def is_staff(account: AccountView | None) -> bool:
    return account is not None and account.role in STAFF_ROLES


def mail_domain() -> str:
    return runtime.current().settings.consult.address.partition("@")[2] or "portal.localhost"


# Reading ----------------------------------------------------------------------------------


async def _consult(where: Any) -> ConsultView | None:
    row = await Consult.select().where(where).output(load_json=True).first()
    return _view(row) if row else None


async def get(key: str, reader: AccountView) -> ConsultView | None:
    """The consult with this key for its submitter or staff; None for anybody else."""
    found = await _consult(Consult.key == key)
    if found is None or (found.account_id != reader.id and not is_staff(reader)):
        return None
    return found


async def by_id(consult_id: int) -> ConsultView | None:
    return await _consult(Consult.id == consult_id)


async def consults_of(account_id: int, limit: int = 100) -> list[ConsultView]:
    rows = (
        await Consult.select()
        .where(Consult.account_id == account_id)
        .order_by(Consult.updated_at, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    return [_view(r) for r in rows]


async def review_queue(limit: int = 200) -> list[ConsultView]:
    """Open consults, the one due first at the top."""
    rows = (
        await Consult.select()
        .where(Consult.status.is_in(list(OPEN)))
        .order_by(Consult.due_at)
        .limit(limit)
        .output(load_json=True)
    )
    return [_view(r) for r in rows]


async def messages(consult: ConsultView) -> list[MessageView]:
    rows = (
        await ConsultMessage.select()
        .where(ConsultMessage.consult_id == consult.id)
        .order_by(ConsultMessage.id)
    )
    files = await ConsultAttachment.select().where(
        ConsultAttachment.message_id.is_in([r["id"] for r in rows] or [0])
    )
    by_message: dict[int, list[AttachmentView]] = {}
    for f in files:
        by_message.setdefault(f["message_id"], []).append(
            AttachmentView(f["filename"], f["kind"], f["size"], f["text"])
        )
    return [
        MessageView(
            r["id"],
            r["author"],
            r["kind"],
            r["via"],
            r["body"],
            r["created_at"],
            tuple(by_message.get(r["id"], ())),
        )
        for r in rows
    ]


async def thread_for_mail(account_id: int, message_ids: list[str]) -> ConsultView | None:
    """The account's consult a mail replies to (In-Reply-To / References). Only the sender's
    own consults count: a forged reference to another account's consult attaches nothing."""
    ids = [m.strip() for m in message_ids if m and m.strip()][:50]
    if not ids:
        return None
    rows = await ConsultMessage.select(ConsultMessage.consult_id).where(
        ConsultMessage.message_id.is_in(ids)
    )
    for row in rows:
        found = await _consult(
            (Consult.id == row["consult_id"]) & (Consult.account_id == account_id)
        )
        if found is not None:
            return found
    return None


# Intake -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Guarded:
    body: str
    attachments: tuple[AttachmentView, ...]
    redactions: list[str]


def _guarded(text: str, attachments: list[Attachment]) -> _Guarded:
    """The case text and attachment texts with PHI redacted: the only form that is stored."""
    settings = runtime.current().settings.consult
    text = (text or "").strip()
    if not text and not any(a.text.strip() for a in attachments):
        raise ConsultError("The case is empty: paste the case text or attach a file.")
    if len(text) > settings.max_text_chars:
        raise ConsultError(
            f"The case text is {len(text):,} characters; the limit is "
            f"{settings.max_text_chars:,}. Attach long notes as a file instead."
        )
    if len(attachments) > settings.max_attachments:
        raise ConsultError(f"Attach at most {settings.max_attachments} files.")
    redacted = phi.redact(text)
    found = list(redacted.findings)
    files = []
    for position, a in enumerate(attachments, start=1):
        clean = phi.redact(a.text[: settings.max_text_chars * 4])
        found.extend(clean.findings)
        # "John_Smith_opnote.pdf" names the patient with no cue: only document words are kept.
        name = filenames.stored_name(a.filename, position)
        files.append(AttachmentView(name, a.kind, a.size, clean.text))
    summary = phi.summary(phi.Redaction(text="", findings=tuple(found)))
    return _Guarded(redacted.text, tuple(files), summary)


def _subject(raw: str, body: str) -> str:
    subject = " ".join((raw or "").split())
    if not subject:
        first = next((line for line in body.splitlines() if line.strip()), "Coding question")
        subject = " ".join(first.split())
    subject = phi.redact(subject).text  # subjects carry names too ("Re: John Smith's op note")
    return subject if len(subject) <= 80 else subject[:79].rstrip() + "…"


async def _charge(account: AccountView, key: str) -> None:
    grant = await metering.consume(Subject.user(account.id, account.plan), CONSULTS, key)
    if not grant.granted:
        rule = runtime.current().settings.meters.rule(CONSULTS, account.plan)
        raise LimitReached(
            f"You have sent the {rule.limit} consult{'s' if rule.limit != 1 else ''} your plan "
            "includes this month." + (" Pro includes 20 a month." if account.plan == "free" else "")
        )


async def _store_message(
    consult_id: int,
    guarded: _Guarded,
    *,
    author: str,
    kind: str,
    via: str,
    account_id: int | None,
    message_id: str | None,
) -> int | None:
    """The message and its attachments; None when this mail (Message-ID) is stored already."""
    inserted = (
        await ConsultMessage.insert(
            ConsultMessage(
                consult_id=consult_id,
                author=author,
                account_id=account_id,
                kind=kind,
                via=via,
                body=guarded.body,
                message_id=message_id,
                created_at=_now(),
            )
        )
        .on_conflict(target=ConsultMessage.message_id, action="DO NOTHING")
        .returning(ConsultMessage.id)
    )
    if not inserted:
        return None
    mid = int(inserted[0]["id"])
    if guarded.attachments:
        await ConsultAttachment.insert(
            *(
                ConsultAttachment(
                    message_id=mid, filename=a.filename, kind=a.kind, size=a.size, text=a.text
                )
                for a in guarded.attachments
            )
        )
    return mid


async def submit(
    account: AccountView,
    subject: str,
    text: str,
    attachments: list[Attachment],
    *,
    via: str = "web",
    message_id: str | None = None,
    charge_key: str | None = None,
) -> Submitted:
    """A new consult: guarded, charged (one a `charge_key`: a resent form is free), stored, and
    its analysis queued."""
    guarded = _guarded(text, attachments)
    await _charge(account, f"consult:{charge_key or message_id or secrets.token_hex(8)}")
    now = _now()
    hours = runtime.current().settings.consult.due_hours.get(account.plan, 72)
    row = Consult(
        key=secrets.token_urlsafe(18)[:24],
        account_id=account.id,
        subject=_subject(subject, guarded.body or next((a.text for a in guarded.attachments), "")),
        status="received",
        via=via,
        due_at=now + timedelta(hours=hours),
        redactions=guarded.redactions,
        created_at=now,
        updated_at=now,
    )
    await row.save()
    consult = await by_id(int(row.id))
    assert consult is not None
    mid = await _store_message(
        consult.id,
        guarded,
        author="submitter",
        kind="case",
        via=via,
        account_id=account.id,
        message_id=message_id,
    )
    if mid is None:  # the same mail twice: the first one's consult stands
        await Consult.delete().where(Consult.id == consult.id)
        raise ConsultError("This message was received already.")
    await _queue_analysis(consult, mid)
    return Submitted(consult, guarded.redactions)


async def follow_up(
    consult: ConsultView,
    account: AccountView,
    text: str,
    attachments: list[Attachment],
    *,
    via: str = "web",
    message_id: str | None = None,
) -> Submitted:
    """The submitter writes again: the consult goes round again (not charged)."""
    if consult.account_id != account.id:
        raise ConsultError("Only the consult's sender can add to it.")
    guarded = _guarded(text, attachments)
    mid = await _store_message(
        consult.id,
        guarded,
        author="submitter",
        kind="followup",
        via=via,
        account_id=account.id,
        message_id=message_id,
    )
    if mid is not None:
        await Consult.update(
            {
                Consult.status: "received",
                Consult.updated_at: _now(),
                Consult.redactions: sorted({*consult.redactions, *guarded.redactions}),
            }
        ).where(Consult.id == consult.id)
        await _queue_analysis(consult, mid)
    fresh = await by_id(consult.id)
    assert fresh is not None
    return Submitted(fresh, guarded.redactions, follow_up=True)


async def _queue_analysis(consult: ConsultView, message_id: int) -> None:
    await runtime.current().jobs.enqueue(
        "consult.analyse",
        dedupe_key=f"consult-analyse:{message_id}",
        consult_id=consult.id,
        message_id=message_id,
    )


async def submitter_text(consult: ConsultView) -> str:
    """Everything the submitter sent, attachments included, in order (already redacted)."""
    parts = []
    for m in await messages(consult):
        if m.author != "submitter":
            continue
        parts.append(m.body)
        parts.extend(f"[{a.filename}]\n{a.text}" for a in m.attachments)
    return "\n\n".join(p for p in parts if p.strip())


# The analysis job ---------------------------------------------------------------------------


async def analyse_job(consult_id: int, message_id: int) -> str:
    """Job: draft the answer for the consult as of `message_id`, then (instant mode, confident
    draft) send it. Idempotent: a draft made for this message is not made again, and the answer
    is keyed by the message it answers, so a retried job sends one answer."""
    consult = await draft_for(consult_id, message_id)
    if consult is None:
        return "missing"
    settings = runtime.current().settings.consult
    current = consult.draft_data.get("for_message") == message_id  # no newer message since
    if settings.instant and current and consult.confidence >= settings.instant_min_confidence:
        await approve(consult, approver=None, text=consult.draft, answers=message_id)
        return "answered"
    return "drafted"


async def draft_for(consult_id: int, message_id: int) -> ConsultView | None:
    """The job's first step: the consult with its draft as of `message_id` (made if missing)."""
    from features.consultant import analysis  # the catalog's heavier imports, on first use

    consult = await by_id(consult_id)
    if consult is None or consult.draft_data.get("for_message") == message_id:
        return consult
    await _set_status(consult.id, "analysing")
    draft = await analysis.analyse(await submitter_text(consult))
    await Consult.update(
        {
            Consult.draft: draft.markdown,
            Consult.draft_data: {**_jsonable(draft), "for_message": message_id},
            Consult.confidence: float(draft.confidence),
            Consult.status: "in_review",
            Consult.updated_at: _now(),
        }
    ).where(Consult.id == consult.id)
    return await by_id(consult_id)


def _jsonable(draft: Any) -> dict[str, Any]:
    return dataclasses.asdict(draft) if dataclasses.is_dataclass(draft) else dict(draft)


async def _set_status(consult_id: int, status: str) -> None:
    await Consult.update({Consult.status: status, Consult.updated_at: _now()}).where(
        Consult.id == consult_id
    )


# Review and answers -------------------------------------------------------------------------


async def save_draft(consult: ConsultView, text: str) -> None:
    await Consult.update({Consult.draft: text, Consult.updated_at: _now()}).where(
        Consult.id == consult.id
    )


def answer_message_id(consult: ConsultView, answers_message: int) -> str:
    """Our Message-ID for the answer to one submitter message: the same on every retry."""
    return f"<consult-{consult.key}-{answers_message}@{mail_domain()}>"


async def _submitter_message(consult: ConsultView, message_id: int | None) -> dict[str, Any] | None:
    """The submitter's message `message_id`, or their latest one."""
    where = (ConsultMessage.consult_id == consult.id) & (ConsultMessage.author == "submitter")
    if message_id is not None:
        where = where & (ConsultMessage.id == message_id)
    row: dict[str, Any] | None = (
        await ConsultMessage.select()
        .where(where)
        .order_by(ConsultMessage.id, ascending=False)
        .first()
    )
    return row


async def approve(
    consult: ConsultView, approver: AccountView | None, text: str, answers: int | None = None
) -> bool:
    """Send `text` as the answer to the submitter's message `answers` (default: the latest), in
    the thread and by mail. False when that message has its answer already (a second click, a
    retried job)."""
    text = (text or "").strip()
    if not text:
        raise ConsultError("The answer is empty.")
    last = await _submitter_message(consult, answers)
    if last is None:
        raise ConsultError("This consult has no message to answer.")
    our_id = answer_message_id(consult, last["id"])
    inserted = (
        await ConsultMessage.insert(
            ConsultMessage(
                consult_id=consult.id,
                author="consultant" if approver else "portal",
                account_id=approver.id if approver else None,
                kind="answer",
                via="web",
                body=text,
                message_id=our_id,
                created_at=_now(),
            )
        )
        .on_conflict(target=ConsultMessage.message_id, action="DO NOTHING")
        .returning(ConsultMessage.id)
    )
    now = _now()
    if inserted:
        await Consult.update(
            {
                Consult.status: "answered",
                Consult.approved_by: approver.id if approver else 0,
                Consult.answered_at: now,
                Consult.updated_at: now,
            }
        ).where(Consult.id == consult.id)
    # Mailed whether or not this call stored the answer: a retry after a crash between the two
    # finds the answer stored and the mail not yet queued. The outbox key sends it once.
    await _mail_answer(consult, our_id, last, text)
    return bool(inserted)


async def _references(consult: ConsultView) -> list[str]:
    rows = await ConsultMessage.select(ConsultMessage.message_id).where(
        (ConsultMessage.consult_id == consult.id) & ConsultMessage.message_id.is_not_null()
    )
    return [r["message_id"] for r in rows]


async def _mail_answer(
    consult: ConsultView, our_id: str, answered: dict[str, Any], text: str
) -> None:
    account = await get_account(consult.account_id)
    if account is None:
        return
    references = [r for r in await _references(consult) if r != our_id]
    headers = {
        "Message-ID": our_id,
        "Reply-To": runtime.current().settings.consult.personal_address(
            await address_token(account.id)
        ),
    }
    if answered.get("message_id"):
        headers["In-Reply-To"] = answered["message_id"]
    if references:
        headers["References"] = " ".join(references[-20:])
    await send_mail(
        account.email,
        f"Re: {consult.subject}",
        "consult_answer",
        {"consult": consult, "answer": text, "url": consult.url},
        dedupe_key=f"consult-answer:{our_id}",
        headers=headers,
    )


async def close(consult: ConsultView) -> None:
    await _set_status(consult.id, "closed")


# Consult addresses and held mail ------------------------------------------------------------


async def address_token(account_id: int) -> str:
    row = await ConsultAddress.select().where(ConsultAddress.account_id == account_id).first()
    if row:
        return str(row["token"])
    token = secrets.token_hex(10)
    await (
        ConsultAddress.insert(ConsultAddress(account_id=account_id, token=token))
        .on_conflict(target=ConsultAddress.account_id, action="DO NOTHING")
        .run()
    )
    row = await ConsultAddress.select().where(ConsultAddress.account_id == account_id).first()
    return str(row["token"])


async def personal_address(account_id: int) -> str:
    return runtime.current().settings.consult.personal_address(await address_token(account_id))


async def rotate_address(account_id: int) -> str:
    """A new personal address; mail to the old one is no longer taken."""
    await address_token(account_id)
    await ConsultAddress.update(
        {ConsultAddress.token: secrets.token_hex(10), ConsultAddress.created_at: _now()}
    ).where(ConsultAddress.account_id == account_id)
    return await personal_address(account_id)


async def account_for_token(token: str) -> AccountView | None:
    row = await ConsultAddress.select().where(ConsultAddress.token == token.lower()).first()
    return await get_account(row["account_id"]) if row else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def hold(
    account: AccountView,
    subject: str,
    text: str,
    attachments: list[Attachment],
    *,
    message_id: str | None,
    references: list[str],
) -> None:
    """Mail to the shared address from a known sender: kept (redacted) until the account's
    owner confirms it from the link mailed to the account's address."""
    guarded = _guarded(text, attachments)
    token = secrets.token_urlsafe(24)
    hours = runtime.current().settings.consult.held_mail_hours
    await HeldMail.delete().where(HeldMail.expires_at < _now())  # unconfirmed mail is not kept
    await HeldMail(
        token_hash=_hash(token),
        account_id=account.id,
        subject=_subject(subject, guarded.body),
        body=guarded.body,
        attachments=[dataclasses.asdict(a) for a in guarded.attachments],
        redactions=guarded.redactions,
        message_id=message_id,
        references=references[:50],
        expires_at=_now() + timedelta(hours=hours),
    ).save()
    await send_mail(
        account.email,
        "Confirm the case you mailed to CaseConsultant",
        "consult_confirm",
        {"token": token, "hours": hours, "redactions": guarded.redactions},
        dedupe_key=f"consult-hold:{_hash(token)}",
    )


async def confirm_held(token: str, account: AccountView) -> ConsultView:
    """The held mail becomes a consult (or joins the thread it replies to)."""
    row = (
        await HeldMail.select()
        .where((HeldMail.token_hash == _hash(token)) & (HeldMail.account_id == account.id))
        .output(load_json=True)
        .first()
    )
    if row is None or row["expires_at"] < _now():
        raise ConsultError("This confirmation link is not valid any more. Send the mail again.")
    files = [Attachment(**a) for a in row["attachments"]]
    if row["status"] == "confirmed":
        found = await thread_for_mail(account.id, [row["message_id"] or ""])
        if found is None:
            raise ConsultError("This mail was confirmed already.")
        return found
    await HeldMail.update({HeldMail.status: "confirmed"}).where(HeldMail.id == row["id"])
    stored = await thread_for_mail(account.id, [row["message_id"] or ""])
    if stored is not None:  # the same mail reached the personal address too: taken already
        return stored
    thread = await thread_for_mail(account.id, row["references"])
    if thread is not None:
        done = await follow_up(
            thread, account, row["body"], files, via="email", message_id=row["message_id"]
        )
    else:
        done = await submit(
            account,
            row["subject"],
            row["body"],
            files,
            via="email",
            message_id=row["message_id"],
            charge_key=f"held:{row['id']}",
        )
    return done.consult


async def delete_account_data(account_id: int) -> None:
    ids = [
        r["id"] for r in await Consult.select(Consult.id).where(Consult.account_id == account_id)
    ]
    if ids:
        mids = [
            r["id"]
            for r in await ConsultMessage.select(ConsultMessage.id).where(
                ConsultMessage.consult_id.is_in(ids)
            )
        ]
        if mids:
            await ConsultAttachment.delete().where(ConsultAttachment.message_id.is_in(mids))
        await ConsultMessage.delete().where(ConsultMessage.consult_id.is_in(ids))
        await Consult.delete().where(Consult.id.is_in(ids))
    await ConsultAddress.delete().where(ConsultAddress.account_id == account_id)
    await HeldMail.delete().where(HeldMail.account_id == account_id)
