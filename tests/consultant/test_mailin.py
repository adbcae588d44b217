"""CaseConsultant by email, over real SMTP: `portal smtpd` (aiosmtpd, its own thread) hands mail
to the consultant's handler on this loop; the replies the portal sends are read from the test
mailbox. Personal addresses, held mail on the shared address, threading, forged headers,
unknown senders, PHI, and mail that cannot be taken."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest

from features.consultant import mailin, mailin_replies, service
from features.consultant.tables import (
    Consult,
    ConsultAddress,
    ConsultAttachment,
    ConsultMessage,
    HeldMail,
)
from portal import runtime
from portal.accounts.service import AccountView, register
from portal.feature import Feature
from portal.jobs.tables import Job
from portal.mail.inbound import InboundMail
from portal.mail.tables import OutboxMessage
from portal.smtpd import MAX_MESSAGE_BYTES, make_controller
from tests.support.client import unique_email
from tests.support.jobs import wait_for_job
from tests.support.mailbox import Mailbox, Received

pytestmark = pytest.mark.usefixtures("worker", "search_ready")

CASE = (
    "Patient: John Smith, DOB 01/02/1960.\n"
    "58 y/o M with type 2 diabetes and CKD stage 3. Fell on outstretched hand; X-ray shows a "
    "fracture of the left distal radius, initial encounter."
)
TABLES = (Consult, ConsultMessage, ConsultAttachment, ConsultAddress, HeldMail)
ANALYSIS = importlib.util.find_spec("features.consultant.analysis") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _features() -> list[Feature]:
    """The installed features, or (while the consultant feature does not register its hook yet)
    one that does."""
    installed = runtime.current().features
    if any(f.inbound_mail is mailin.handle_inbound for f in installed):
        return installed
    hook = Feature(
        name="consultant-mail",
        inbound_mail=mailin.handle_inbound,
        inbound_addresses=mailin.takes_address,
    )
    return [*installed, hook]


@pytest.fixture(scope="module")
async def smtpd(app) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    """`portal smtpd` on a free port, bridged to this loop as `portal smtpd` bridges to its own."""
    port = _free_port()
    controller = make_controller(asyncio.get_running_loop(), "127.0.0.1", port, _features())
    controller.start()
    yield port
    controller.stop()


def _shared() -> str:
    return runtime.current().settings.consult.address


async def _account(prefix: str = "mailer") -> AccountView:
    account = await register(unique_email(prefix), "correct horse battery")
    assert account is not None
    return account


def _mail(
    sender: str,
    to: str,
    text: str | None = CASE,
    *,
    subject: str = "Wrist fracture coding",
    html: str | None = None,
    files: tuple[tuple[str, bytes], ...] = (),
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"A Coder <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="coder.example.org")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and text is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text or "")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


async def _send(port: int, msg: EmailMessage, to: str | None = None) -> None:
    await aiosmtplib.send(
        msg,
        hostname="127.0.0.1",
        port=port,
        sender=str(msg["From"].addresses[0].addr_spec),
        recipients=[to or str(msg["To"])],
        timeout=60,
    )


async def _counts() -> dict[str, int]:
    return {t._meta.tablename: await t.count() for t in TABLES}


async def _consults_of(account: AccountView) -> list[dict]:
    return await Consult.select().where(Consult.account_id == account.id).order_by(Consult.id)


async def _messages_of(consult_id: int) -> list[dict]:
    return (
        await ConsultMessage.select()
        .where(ConsultMessage.consult_id == consult_id)
        .order_by(ConsultMessage.id)
    )


async def _everything_stored() -> str:
    """Every row of every consultant table, as text: what a PHI leak would show up in."""
    rows = []
    for table in TABLES:
        rows.extend(await table.select())
    return "\n".join(repr(r) for r in rows)


async def _settled(consult_id: int) -> None:
    """Once its analysis jobs are done, when the analysis module exists (another engineer's): a
    job still running could change the consult under the test."""
    if not ANALYSIS:
        return
    ids = [m["id"] for m in await _messages_of(consult_id)]
    for job in await Job.select(Job.id).where(
        Job.dedupe_key.is_in([f"consult-analyse:{i}" for i in ids])
    ):
        row = await wait_for_job(str(job["id"]), within_s=60)
        assert (row["status"], row["error"]) == ("done", None)
    consult = await Consult.select().where(Consult.id == consult_id).first()
    assert consult["draft"], "the analysis drafted an answer"


async def _outbox_to(address: str) -> list[dict]:
    return await OutboxMessage.select().where(OutboxMessage.to_addr == address)


async def _no_more_mail(mailbox: Mailbox, to: str, expected: int) -> None:
    """Every delivery queued for `to` is finished, and `expected` mails arrived."""
    for row in await _outbox_to(to):
        job = await Job.select(Job.id).where(Job.dedupe_key == f"mail:{row['id']}").first()
        await wait_for_job(str(job["id"]))
    assert len(mailbox.find(to)) == expected


async def _wait_rows(table, where, count: int = 1, within_s: float = 15.0) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within_s
    while True:
        rows = await table.select().where(where)
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"{table._meta.tablename}: {len(rows)} rows"
        await asyncio.sleep(0.05)


# Personal address ---------------------------------------------------------------------------


async def test_mail_to_the_personal_address_becomes_a_consult_without_the_phi(
    smtpd: int, mailbox: Mailbox
) -> None:
    account = await _account()
    address = await service.personal_address(account.id)
    # The From is not the account's: the personal address alone says who it is.
    msg = _mail(
        "someone-else@example.net",
        address,
        subject="Re: Fwd: Wrist fracture coding",
        files=(("notes.txt", b"Addendum. Patient: John Smith. Cast applied, follow up 2 weeks."),),
    )
    await _send(smtpd, msg)

    [consult] = await _consults_of(account)
    assert (consult["via"], consult["subject"]) == ("email", "Wrist fracture coding")
    [message] = await _messages_of(consult["id"])
    assert (message["kind"], message["via"], message["message_id"]) == (
        "case",
        "email",
        msg["Message-ID"],
    )
    assert "fracture of the left distal radius" in message["body"]
    [attachment] = await ConsultAttachment.select().where(
        ConsultAttachment.message_id == message["id"]
    )
    assert attachment["filename"] == "notes.txt"
    assert "Cast applied" in attachment["text"]
    stored = await _everything_stored()
    assert "John Smith" not in stored
    assert "Smith" not in stored
    assert "01/02/1960" not in stored
    assert await Job.count().where(Job.dedupe_key == f"consult-analyse:{message['id']}") == 1
    await _settled(consult["id"])
    assert mailbox.find("someone-else@example.net") == [], "nothing goes to the forged From"


async def test_the_same_mail_twice_makes_one_consult(smtpd: int) -> None:
    account = await _account()
    address = await service.personal_address(account.id)
    msg = _mail("coder@example.org", address)
    await _send(smtpd, msg)
    await _send(smtpd, msg)
    consults = await _consults_of(account)
    assert len(consults) == 1
    assert len(await _messages_of(consults[0]["id"])) == 1
    refusals = [r for r in await _outbox_to(account.email) if "not taken" in r["subject"]]
    assert refusals == [], "a resend is not refused, just not taken twice"
    await _settled(consults[0]["id"])


async def test_html_only_mail_becomes_a_consult_with_its_text(smtpd: int) -> None:
    account = await _account()
    address = await service.personal_address(account.id)
    html = (
        "<html><head><style>p { color: red }</style></head><body>"
        "<p>Left knee arthroscopy with partial medial meniscectomy.</p>"
        "<p>Findings:<br>tear of the medial meniscus</p>"
        "<ul><li>Modifier RT?</li><li>Global period &amp; follow-up</li></ul>"
        "<script>alert(1)</script></body></html>"
    )
    await _send(smtpd, _mail("coder@example.org", address, None, html=html, subject="Knee"))
    [consult] = await _consults_of(account)
    [message] = await _messages_of(consult["id"])
    assert message["body"] == (
        "Left knee arthroscopy with partial medial meniscectomy.\n\n"
        "Findings:\ntear of the medial meniscus\n\n"
        "- Modifier RT?\n- Global period & follow-up"
    )
    await _settled(consult["id"])


# Threads --------------------------------------------------------------------------------------


async def test_replies_join_the_thread_and_a_forged_reference_does_not(
    smtpd: int, mailbox: Mailbox
) -> None:
    owner = await _account("owner")
    owner_address = await service.personal_address(owner.id)
    first = _mail(owner.email, owner_address)
    await _send(smtpd, first)
    [consult] = await _consults_of(owner)
    await _settled(consult["id"])

    # The answer goes to the account, threaded under the first mail, replies to the personal
    # address; a reply to it (quoting it) joins the consult, without the quote.
    view = await service.by_id(consult["id"])
    assert view is not None
    await service.approve(view, approver=None, text="**Codes**: S52.501A, E11.22, N18.30")
    answer = await mailbox.wait_for(owner.email, "Re: Wrist fracture coding")
    assert answer.message["In-Reply-To"] == first["Message-ID"]
    assert answer.message["Reply-To"] == owner_address
    assert "S52.501A" in answer.text and "<strong>Codes</strong>" in answer.html
    assert f"http://testserver/consultant/{view.key}" in answer.text
    reply = _mail(
        owner.email,
        owner_address,
        "Would a 7th character D apply at the follow-up?\n\n"
        "On Mon, Jan 5, 2026 at 10:00 AM Coding Portal <no-reply@portal.localhost> wrote:\n"
        + "".join(f"> {line}\n" for line in answer.text.splitlines()),
        subject="Re: Wrist fracture coding",
        in_reply_to=str(answer.message["Message-ID"]),
    )
    await _send(smtpd, reply)
    messages = await _messages_of(consult["id"])
    assert [m["kind"] for m in messages] == ["case", "answer", "followup"]
    assert messages[-1]["body"] == "Would a 7th character D apply at the follow-up?"
    assert len(await _consults_of(owner)) == 1

    # Another account replying to the owner's mail: a consult of its own, the owner's untouched.
    other = await _account("other")
    forged = _mail(
        owner.email,  # the From forged too: the personal address decides
        await service.personal_address(other.id),
        "Please add this to the wrist case.",
        subject="Re: Wrist fracture coding",
        in_reply_to=first["Message-ID"],
    )
    await _send(smtpd, forged)
    assert len(await _messages_of(consult["id"])) == 3
    [theirs] = await _consults_of(other)
    [their_message] = await _messages_of(theirs["id"])
    assert (their_message["kind"], their_message["body"]) == (
        "case",
        "Please add this to the wrist case.",
    )
    await _settled(consult["id"])
    await _settled(theirs["id"])


# Shared address -------------------------------------------------------------------------------


async def test_shared_address_mail_is_held_until_confirmed(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("held")
    before = await _counts()
    msg = _mail(account.email, _shared(), subject="Fwd: Wrist fracture coding")
    await _send(smtpd, msg)

    confirm = await mailbox.wait_for(account.email, "Confirm the case")
    link = confirm.link("/consultant/confirm/")
    assert link in confirm.html
    assert await _consults_of(account) == []
    [held] = await HeldMail.select().where(HeldMail.account_id == account.id)
    assert (held["status"], held["message_id"]) == ("held", msg["Message-ID"])
    assert "John Smith" not in repr(held)
    after = await _counts()
    assert after["consult_held_mail"] == before["consult_held_mail"] + 1
    assert after["consult"] == before["consult"]

    await _send(smtpd, msg)  # resent: still one held mail and one confirmation
    assert await HeldMail.count().where(HeldMail.account_id == account.id) == 1

    consult = await service.confirm_held(link.rsplit("/", 1)[1], account)
    assert (consult.via, consult.subject) == ("email", "Wrist fracture coding")
    [message] = await _messages_of(consult.id)
    assert message["message_id"] == msg["Message-ID"]
    assert "fracture of the left distal radius" in message["body"]
    assert "John Smith" not in message["body"]
    await _no_more_mail(mailbox, account.email, 2)  # the verification mail and one confirmation
    await _settled(consult.id)


async def test_an_unknown_sender_gets_one_polite_reply_and_nothing_is_stored(
    smtpd: int, mailbox: Mailbox
) -> None:
    stranger = unique_email("stranger")
    before = await _counts()
    msg = _mail(stranger, _shared())
    await _send(smtpd, msg)
    await _send(smtpd, msg)  # a resend is not answered twice

    reply = await mailbox.wait_for(stranger, "How to send a case")
    assert "http://testserver/account/register" in reply.text
    assert "personal consult address" in reply.text
    assert reply.message["In-Reply-To"] == msg["Message-ID"]
    assert "Wrist" not in reply.text + reply.subject, "the mail is not quoted back"
    assert await _counts() == before
    await _no_more_mail(mailbox, stranger, 1)
    assert "John Smith" not in await _everything_stored()


async def test_replies_to_one_unknown_sender_are_capped(smtpd: int, mailbox: Mailbox) -> None:
    # A From header can be forged: the portal must not flood somebody's inbox with replies.
    stranger = unique_email("flooded")
    for _ in range(mailin_replies.UNKNOWN_PER_WINDOW + 2):
        await _send(smtpd, _mail(stranger, _shared()))
    await _no_more_mail(mailbox, stranger, mailin_replies.UNKNOWN_PER_WINDOW)


async def test_held_mail_per_account_is_capped(
    smtpd: int, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailin, "MAX_WAITING", 2)
    account = await _account("forged")
    for _ in range(4):
        await _send(smtpd, _mail(account.email, _shared()))
    assert await HeldMail.count().where(HeldMail.account_id == account.id) == 2
    await _no_more_mail(mailbox, account.email, 3)  # verification and two confirmations


async def test_an_unknown_personal_address_gets_the_reply_and_nothing_is_stored(
    smtpd: int, mailbox: Mailbox
) -> None:
    account = await _account("rotated")
    old = await service.personal_address(account.id)
    await service.rotate_address(account.id)
    before = await _counts()
    await _send(smtpd, _mail(account.email, old))
    reply = await mailbox.wait_for(account.email, "How to send a case")
    assert "not a current CaseConsultant address" in reply.text
    assert await _counts() == before


async def test_other_addresses_are_refused_at_rcpt(smtpd: int) -> None:
    domain = _shared().partition("@")[2]
    for address in (f"postmaster@{domain}", "consult@elsewhere.example.org"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await _send(smtpd, _mail("coder@example.org", address))
        assert refused.value.recipients[0].code == 550


async def _other_smtpd(*features: Feature):  # type: ignore[no-untyped-def]
    port = _free_port()
    controller = make_controller(asyncio.get_running_loop(), "127.0.0.1", port, features)
    controller.start()
    return port, controller


async def test_without_an_address_check_smtpd_refuses_after_data() -> None:
    seen: list[InboundMail] = []

    async def nobody_takes_it(mail: InboundMail) -> bool:
        seen.append(mail)
        return False

    port, controller = await _other_smtpd(Feature(name="x", inbound_mail=nobody_takes_it))
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await _send(port, _mail("coder@example.org", "Anyone@Example.org"))
    finally:
        controller.stop()
    assert refused.value.code == 550
    assert [m.rcpt_to for m in seen] == ["anyone@example.org"]
    assert "Smith" not in repr(seen[0]), "an InboundMail's repr is no place for the mail"


async def test_a_failing_handler_asks_the_sender_to_retry() -> None:
    async def broken(mail: InboundMail) -> bool:
        raise ConnectionError("database down")

    port, controller = await _other_smtpd(
        Feature(name="x", inbound_mail=broken, inbound_addresses=lambda a: True)
    )
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await _send(port, _mail("coder@example.org", "consult@example.org"))
    finally:
        controller.stop()
    assert refused.value.code == 451


# Mail that is not taken -------------------------------------------------------------------------


async def _refused(
    smtpd: int, mailbox: Mailbox, account: AccountView, msg: EmailMessage, count: int = 1
) -> Received:
    before = await _counts()
    await _send(smtpd, msg)
    reply = await mailbox.wait_for(account.email, "not taken", count=count)
    assert await _counts() == before, "nothing of a refused mail is stored"
    assert await _consults_of(account) == []
    return reply


async def test_an_empty_mail_is_answered_and_not_stored(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("empty")
    address = await service.personal_address(account.id)
    reply = await _refused(smtpd, mailbox, account, _mail(account.email, address, "\n  \n"))
    assert "no case text and no attachment" in reply.text


async def test_a_wrong_attachment_type_refuses_the_mail(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("exe")
    address = await service.personal_address(account.id)
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 8
    msg = _mail(
        account.email,
        address,
        files=(("notes.txt", b"Cast applied."), ("John_Smith_op_note.exe", program)),
    )
    reply = await _refused(smtpd, mailbox, account, msg)
    assert "Attachment 2 of 2 (.exe, 2 KB): This type of file is not taken." in reply.text
    assert "Attachment 1" not in reply.text
    assert "Smith" not in reply.text + reply.html, "file names are not repeated"

    # Renamed: the content decides.
    disguised = _mail(account.email, address, files=(("op_note.pdf", program),))
    reply = await _refused(smtpd, mailbox, account, disguised, count=2)
    assert "Attachment 1 of 1 (.pdf, 2 KB): The file's name says .pdf" in reply.text


async def test_an_attachment_over_5_mb_is_refused(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("bigfile")
    address = await service.personal_address(account.id)
    big = b"Progress note line with nothing in it.\n" * (6 * 1024 * 1024 // 39)
    reply = await _refused(
        smtpd, mailbox, account, _mail(account.email, address, files=(("notes.txt", big),))
    )
    assert "the limit is 5 MB per file" in reply.text


async def test_a_huge_mail_is_refused_by_smtp(smtpd: int) -> None:
    account = await _account("huge")
    address = await service.personal_address(account.id)
    before = await _counts()
    blob = b"x" * (MAX_MESSAGE_BYTES + 1024)
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await _send(smtpd, _mail(account.email, address, files=(("huge.txt", blob),)))
    assert refused.value.code == 552
    assert await _counts() == before


async def test_a_consult_over_the_monthly_limit_is_answered(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("limit")  # free: one consult a month
    address = await service.personal_address(account.id)
    await _send(smtpd, _mail(account.email, address))
    [consult] = await _consults_of(account)
    await _send(smtpd, _mail(account.email, address, "Another case: CPT 29881 with 29877?"))
    reply = await mailbox.wait_for(account.email, "not taken")
    assert "consult your plan includes this month" in reply.text
    assert [c["id"] for c in await _consults_of(account)] == [consult["id"]]
    await _settled(consult["id"])


async def test_autoreplies_are_neither_taken_nor_answered(smtpd: int, mailbox: Mailbox) -> None:
    account = await _account("away")
    address = await service.personal_address(account.id)
    before = await _counts()
    msg = _mail(
        account.email,
        address,
        "I am out of the office until Monday.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    await _send(smtpd, msg)
    assert await _counts() == before
    outcome = await mailin.receive(
        InboundMail(mail_from=account.email, rcpt_to=address, raw=msg.as_bytes())
    )
    assert outcome == "automatic"
    await _no_more_mail(mailbox, account.email, 1)  # the verification mail only


def test_subjects_lose_reply_and_forward_prefixes() -> None:
    assert mailin.clean_subject("Re: RE: Fwd:  Knee   scope") == "Knee scope"
    assert mailin.clean_subject("AW: Re[2]: FW: 99213 with 20610") == "99213 with 20610"
    assert mailin.clean_subject("Reason for visit") == "Reason for visit"


def test_quoted_text_is_cut_from_replies() -> None:
    outlook = "Thanks!\n\n-----Original Message-----\nFrom: Coding Portal\nSent: Monday\n\nOld"
    assert mailin.strip_quoted(outlook) == "Thanks!"
    gmail = (
        "New question.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Coding Portal <no-reply@portal.l\n"
        "ocalhost> wrote:\n> Old answer\n>\n> more\n"
    )
    assert mailin.strip_quoted(gmail) == "New question."
    inline = "> Is 99213 right?\nYes, with modifier 25.\n> And 20610?\nSeparately."
    assert mailin.strip_quoted(inline) == "Yes, with modifier 25.\nSeparately."
