"""The one way the portal sends mail: write the outbox row, then a job delivers it.

With SMTP_URL the job hands the message to that server (aiosmtplib); without it the message is
kept in the local outbox, which admins read at /admin/outbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

from portal import runtime
from portal.jobs.spec import JobSpec
from portal.mail.tables import OutboxMessage

log = structlog.get_logger("portal.mail")


THREAD_HEADERS = (
    "Message-ID",
    "In-Reply-To",
    "References",
    "Reply-To",
    # A digest's one-click unsubscribe (RFC 8058).
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


async def send_mail(
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    *,
    dedupe_key: str,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Render `mail/<template>.txt` and `.html`, keep them in the outbox, queue delivery.

    `dedupe_key` makes a repeated call (a retried job, a double click) send one message.
    `headers` may set THREAD_HEADERS (a reply in a thread); others are refused.
    """
    unknown = set(headers or {}) - set(THREAD_HEADERS)
    if unknown:
        raise ValueError(f"send_mail sets only {', '.join(THREAD_HEADERS)}, not {unknown}")
    rt = runtime.current()
    existing = await _outbox_id(dedupe_key)
    if existing is None:
        ctx = {"base_url": rt.settings.base_url, "subject": subject, **context}
        text = rt.jinja.get_template(f"mail/{template}.txt").render(ctx)
        html = rt.jinja.get_template(f"mail/{template}.html").render(ctx)
        rows = (
            await OutboxMessage.insert(
                OutboxMessage(
                    dedupe_key=dedupe_key,
                    to_addr=to,
                    subject=subject,
                    text_body=text,
                    html_body=html,
                    headers=dict(headers or {}),
                )
            )
            .on_conflict(target=OutboxMessage.dedupe_key, action="DO NOTHING")
            .returning(OutboxMessage.id)
        )
        # No row back: a concurrent call with the same key inserted first; use its message.
        existing = rows[0]["id"] if rows else await _outbox_id(dedupe_key)
        assert existing is not None
    outbox_id: int = existing
    # Deduplicated too, so a repeated call queues the delivery if an earlier one stopped short.
    await rt.jobs.enqueue("mail.deliver", dedupe_key=f"mail:{outbox_id}", outbox_id=outbox_id)
    return outbox_id


async def _outbox_id(dedupe_key: str) -> int | None:
    row = (
        await OutboxMessage.select(OutboxMessage.id)
        .where(OutboxMessage.dedupe_key == dedupe_key)
        .first()
    )
    return row["id"] if row else None


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=parse_qs(parts.query).get("starttls") == ["1"],
        )


def build_message(row: dict[str, Any], sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row["to_addr"]
    msg["Subject"] = row["subject"]
    own = row.get("headers") or {}
    if isinstance(own, str):  # a JSON column read without load_json
        own = json.loads(own or "{}")
    msg["Message-ID"] = own.get("Message-ID") or make_msgid(
        idstring=f"outbox{row['id']}", domain="portal.localhost"
    )
    for name in THREAD_HEADERS[1:]:
        if own.get(name):
            msg[name] = own[name]
    msg.set_content(row["text_body"])
    msg.add_alternative(row["html_body"], subtype="html")
    return msg


async def deliver(outbox_id: int) -> str:
    """Job: deliver one outbox message. Idempotent: a sent message is not sent again."""
    rt = runtime.current()
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    if row is None:
        return "missing"
    if row["status"] in ("sent", "kept"):
        return row["status"]
    smtp_url = rt.settings.mail.smtp_url
    await OutboxMessage.update({OutboxMessage.attempts: OutboxMessage.attempts + 1}).where(
        OutboxMessage.id == outbox_id
    )
    if not smtp_url:
        await OutboxMessage.update({OutboxMessage.status: "kept"}).where(
            OutboxMessage.id == outbox_id
        )
        return "kept"
    target = SmtpTarget.parse(smtp_url)
    try:
        await aiosmtplib.send(
            build_message(row, rt.settings.mail.sender),
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=rt.settings.mail.smtp_timeout_s,
        )
    except Exception as exc:
        await OutboxMessage.update(
            {OutboxMessage.status: "failed", OutboxMessage.error: f"{type(exc).__name__}: {exc}"}
        ).where(OutboxMessage.id == outbox_id)
        raise
    await OutboxMessage.update(
        {
            OutboxMessage.status: "sent",
            OutboxMessage.sent_at: datetime.now(UTC),
            OutboxMessage.error: None,
        }
    ).where(OutboxMessage.id == outbox_id)
    log.info("mail sent", outbox_id=outbox_id)
    return "sent"


JOBS = [JobSpec(name="mail.deliver", func=deliver, timeout_s=30, max_tries=5, retry_delay_s=5)]
