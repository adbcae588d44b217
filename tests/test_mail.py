"""Outbound mail: the outbox row, delivery over real SMTP by the arq worker, dedupe, the kept
outbox without SMTP, failures and retries; SMTP_URL parsing."""

from __future__ import annotations

import asyncio
import uuid
from email.utils import parseaddr

import pytest

from portal.jobs.tables import Job
from portal.mail.sender import SmtpTarget, send_mail
from portal.mail.tables import OutboxMessage
from tests.support.client import unique_email
from tests.support.jobs import closed_port, job_options, smtp_url, wait_for_job

pytestmark = pytest.mark.usefixtures("worker")


async def send_verification_mail(
    to: str, key: str | None = None, subject: str | None = None
) -> int:
    return await send_mail(
        to,
        subject or f"Confirm your email address {uuid.uuid4().hex[:6]}",
        "verify_email",
        {"link": "http://testserver/account/verify/abc123", "hours": 48},
        dedupe_key=key or f"test-mail:{uuid.uuid4().hex}",
    )


async def delivery_job(outbox_id: int) -> str:
    row = await Job.select(Job.id).where(Job.dedupe_key == f"mail:{outbox_id}").first()
    assert row is not None, "send_mail queues a delivery job"
    return str(row["id"])


async def outbox_row(outbox_id: int) -> dict:
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert row is not None
    return row


async def test_send_mail_delivers_text_and_html_over_smtp(mailbox) -> None:
    to = unique_email("mail")
    subject = f"Confirm your email address {uuid.uuid4().hex[:6]}"
    outbox_id = await send_verification_mail(to, subject=subject)

    received = await mailbox.wait_for(to, subject)
    assert received.to == [to]
    assert parseaddr(str(received.message["From"])) == (
        "Coding Portal",
        "no-reply@portal.localhost",
    )
    assert str(received.message["To"]) == to
    assert received.subject == subject
    assert received.message["Message-ID"]
    assert received.message.get_content_type() == "multipart/alternative"
    assert "http://testserver/account/verify/abc123" in received.text
    assert "<html" not in received.text
    assert 'href="http://testserver/account/verify/abc123"' in received.html
    assert f"<title>{subject}</title>" in received.html

    job = await wait_for_job(await delivery_job(outbox_id))
    assert (job["status"], job["result"]) == ("done", "sent")
    row = await outbox_row(outbox_id)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 1, None)
    assert row["sent_at"] is not None


async def test_the_same_dedupe_key_twice_sends_one_message(mailbox) -> None:
    to = unique_email("dedupe")
    key = f"test-dedupe:{uuid.uuid4().hex}"
    first = await send_verification_mail(to, key=key, subject="First of two")
    second = await send_verification_mail(to, key=key, subject="Second of two")
    assert first == second
    assert await OutboxMessage.count().where(OutboxMessage.dedupe_key == key) == 1
    assert await Job.count().where(Job.dedupe_key == f"mail:{first}") == 1

    await mailbox.wait_for(to, "First of two")
    await wait_for_job(await delivery_job(first))
    assert len(mailbox.find(to)) == 1, "the only delivery job has finished: one message"


async def test_the_same_dedupe_key_at_once_sends_one_message(mailbox) -> None:
    # A double click: two requests send the same mail concurrently.
    to = unique_email("double")
    key = f"test-double:{uuid.uuid4().hex}"
    ids = await asyncio.gather(
        *(send_verification_mail(to, key=key, subject="Double click") for _ in range(5))
    )
    assert len(set(ids)) == 1
    assert await OutboxMessage.count().where(OutboxMessage.dedupe_key == key) == 1
    await wait_for_job(await delivery_job(ids[0]))
    await mailbox.wait_for(to, "Double click")
    assert len(mailbox.find(to)) == 1


async def test_a_repeated_call_queues_the_delivery_an_interrupted_call_did_not(mailbox) -> None:
    # The first call wrote the outbox row and stopped (a crash) before queueing the delivery.
    to = unique_email("resumed")
    key = f"test-resumed:{uuid.uuid4().hex}"
    rows = await OutboxMessage.insert(
        OutboxMessage(
            dedupe_key=key,
            to_addr=to,
            subject="Interrupted before queueing",
            text_body="Text",
            html_body="<p>HTML</p>",
        )
    ).returning(OutboxMessage.id)
    outbox_id = await send_verification_mail(to, key=key)
    assert outbox_id == rows[0]["id"]
    job = await wait_for_job(await delivery_job(outbox_id))
    assert (job["status"], job["result"]) == ("done", "sent")
    assert (await outbox_row(outbox_id))["status"] == "sent"
    await mailbox.wait_for(to, "Interrupted before queueing")


async def test_without_smtp_url_the_message_is_kept_in_the_outbox(mailbox) -> None:
    to = unique_email("kept")
    with smtp_url(None):
        outbox_id = await send_verification_mail(to)
        job = await wait_for_job(await delivery_job(outbox_id))
    assert (job["status"], job["result"]) == ("done", "kept")
    row = await outbox_row(outbox_id)
    assert (row["status"], row["sent_at"]) == ("kept", None)
    assert "http://testserver/account/verify/abc123" in row["text_body"]
    assert mailbox.find(to) == []


async def test_an_unreachable_smtp_server_fails_the_job_and_records_the_error(mailbox) -> None:
    to = unique_email("unreachable")
    with (
        smtp_url(f"smtp://127.0.0.1:{closed_port()}"),
        job_options("mail.deliver", max_tries=3, retry_delay_s=0),
    ):
        outbox_id = await send_verification_mail(to)
        job = await wait_for_job(await delivery_job(outbox_id))
    assert job["status"] == "failed"
    assert job["attempts"] == 3, "retried up to max_tries"
    assert "SMTPConnectError" in job["error"]
    row = await outbox_row(outbox_id)
    assert row["status"] == "failed"
    assert row["attempts"] == 3
    assert row["error"].startswith("SMTPConnectError")
    assert row["sent_at"] is None
    assert mailbox.find(to) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpTarget("mail.example.org", 25, None, None, False, False)),
        ("smtp://127.0.0.1:2525", SmtpTarget("127.0.0.1", 2525, None, None, False, False)),
        ("smtps://mail.example.org", SmtpTarget("mail.example.org", 465, None, None, True, False)),
        ("smtps://relay:4650", SmtpTarget("relay", 4650, None, None, True, False)),
        (
            "smtp://no-reply%40portal.org:p%40ss%3Aw%2Frd@relay.example.org:587?starttls=1",
            SmtpTarget("relay.example.org", 587, "no-reply@portal.org", "p@ss:w/rd", False, True),
        ),
        (
            "smtp://user:secret@relay?starttls=0",
            SmtpTarget("relay", 25, "user", "secret", False, False),
        ),
        ("smtp://relay?nostarttls=1", SmtpTarget("relay", 25, None, None, False, False)),
    ],
)
def test_smtp_url_is_parsed(url: str, expected: SmtpTarget) -> None:
    assert SmtpTarget.parse(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "mail.example.org:25", "smtpx://relay"])
def test_an_smtp_url_with_another_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpTarget.parse(url)
