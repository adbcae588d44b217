"""CaseConsultant on the web: sending a case (PHI removed before storing), the analysis job,
the monthly limit, bad uploads, privacy, the consultants' review and the answer mail."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace

import pytest

from features.consultant import service
from features.consultant.tables import Consult, ConsultAttachment, ConsultMessage
from portal import runtime
from portal.accounts.service import forget_account
from portal.accounts.tables import Account
from portal.mail.tables import OutboxMessage
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("search_ready")

CASE = (
    "Patient: John Smith, DOB 01/02/1960, MRN 4455667.\n"
    "58 y/o M with HTN and DM2 with CKD stage 3. Fell on outstretched hand, X-ray shows a "
    "fracture of the left distal radius, initial encounter. Denies chest pain."
)


async def _account(
    client: PortalClient, role: str = "member", plan: str = "free"
) -> tuple[int, str]:
    email = unique_email("consult")
    await client.register(email)
    rows = (
        await Account.update({Account.role: role, Account.plan: plan})
        .where(Account.email == email)
        .returning(Account.id)
    )
    forget_account(rows[0]["id"])
    return int(rows[0]["id"]), email


async def _send(client: PortalClient, text: str = CASE, files: dict | None = None, **fields: str):  # type: ignore[no-untyped-def]
    """Post the new-consult form (multipart, as the browser sends it)."""
    data = {"_csrf_token": await client.csrf(), "subject": "", "text": text, **fields}
    upload = files or {"files": ("", b"", "application/octet-stream")}  # an empty file input
    return await client.post("/consultant", data=data, files=upload)


async def _settled(key: str, within_s: float = 60.0) -> dict:
    """The consult once its analysis job has run (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + within_s
    while True:
        row = await Consult.select().where(Consult.key == key).output(load_json=True).first()
        if row["status"] not in ("received", "analysing"):
            return row
        assert time.monotonic() < deadline, f"consult still {row['status']}"
        await asyncio.sleep(0.1)


def _key(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:1000]
    found = re.fullmatch(r"/consultant/([\w-]+)\?sent=1", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


async def _stored_text(key: str) -> str:
    consult = await Consult.select().where(Consult.key == key).first()
    bodies = await ConsultMessage.select(ConsultMessage.body).where(
        ConsultMessage.consult_id == consult["id"]
    )
    return " ".join([consult["subject"], consult["draft"], *(b["body"] for b in bodies)])


async def test_a_guest_is_asked_to_register(client: PortalClient) -> None:
    page = await client.get("/consultant")
    assert page.status_code == 200
    assert "Consults need a free account" in text_of(page.text)
    assert (await _send(client)).status_code == 401


async def test_a_case_is_redacted_stored_analysed_and_shown(client: PortalClient) -> None:
    await _account(client)
    key = _key(await _send(client))
    stored = await _stored_text(key)
    for phi in ("John Smith", "01/02/1960", "4455667"):
        assert phi not in stored
    page = text_of((await client.get(f"/consultant/{key}?sent=1")).text)
    assert "Removed before storing" in page and "name" in page
    row = await _settled(key)
    assert row["status"] == "in_review"
    assert "I10" in row["draft"] and "E11.22" in row["draft"]
    assert row["draft_data"]["for_message"]


async def test_the_thread_polls_until_the_job_is_done(client: PortalClient) -> None:
    await _account(client)
    key = _key(await _send(client, "Patient with essential hypertension, follow-up visit."))
    await _settled(key)
    poll = await client.get(
        f"/consultant/{key}", headers={"HX-Request": "true", "HX-Target": "consult-status"}
    )
    assert poll.headers.get("hx-refresh") == "true"


async def test_the_monthly_limit_and_a_second_click(client: PortalClient) -> None:
    await _account(client)
    first = await _send(client, "Type 2 diabetes without complications.", nonce="b" * 32)
    again = await _send(client, "Type 2 diabetes without complications.", nonce="b" * 32)
    assert again.status_code == 303 and again.headers["location"].startswith(
        first.headers["location"].split("?")[0]
    )
    over = await _send(client, "Another case: asthma.")
    assert over.status_code == 429
    assert "1 consult your plan includes this month" in text_of(over.text)


@pytest.mark.parametrize(
    ("text", "files", "message"),
    [
        ("   ", None, "The case is empty"),
        ("Op note", {"files": ("note.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")}, ""),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: PortalClient, text: str, files: dict | None, message: str
) -> None:
    await _account(client)
    before = (await Consult.count(), await ConsultMessage.count(), await ConsultAttachment.count())
    response = await _send(client, text, files=files)
    assert response.status_code == 422
    assert message in text_of(response.text)
    assert 'id="consult-error"' in response.text
    after = (await Consult.count(), await ConsultMessage.count(), await ConsultAttachment.count())
    assert after == before


async def test_a_text_attachment_is_read_and_redacted(client: PortalClient) -> None:
    await _account(client)
    note = b"Name: Jane Roe\nPhone 555-123-4567\nAcute appendicitis, laparoscopic appendectomy."
    named = ("Jane_Roe_0412_op-note.txt", note, "text/plain")  # the patient in the file name
    key = _key(await _send(client, "", files={"files": named}))
    consult = await Consult.select().where(Consult.key == key).first()
    messages = await ConsultMessage.select(ConsultMessage.id).where(
        ConsultMessage.consult_id == consult["id"]
    )
    files = await ConsultAttachment.select().where(
        ConsultAttachment.message_id == messages[0]["id"]
    )
    assert [f["filename"] for f in files] == ["op note.txt"]
    assert "appendectomy" in files[0]["text"]
    assert "Jane Roe" not in files[0]["text"] and "555-123-4567" not in files[0]["text"]


async def test_consults_are_private(app, worker) -> None:  # type: ignore[no-untyped-def]
    async with PortalClient(app) as owner, PortalClient(app) as other:
        await _account(owner)
        await _account(other)
        key = _key(await _send(owner, "Essential hypertension."))
        assert (await other.get(f"/consultant/{key}")).status_code == 404
        reply = await other.post(
            f"/consultant/{key}/reply", data={"_csrf_token": await other.csrf(), "text": "x"}
        )
        assert reply.status_code == 404
        assert (await other.get("/consultant/review")).status_code == 403


async def test_a_consultant_reviews_edits_and_approves_once(app, worker, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    async with PortalClient(app) as coder, PortalClient(app) as expert:
        _, email = await _account(coder)
        expert_id, _ = await _account(expert, role="consultant")
        key = _key(await _send(coder, "Essential hypertension, established patient visit."))
        await _settled(key)
        queue = await expert.get("/consultant/review")
        assert f"/consultant/review/{key}" in queue.text
        review = await expert.get(f"/consultant/review/{key}")
        assert "I10" in review.text
        answer = "Code **I10** Essential (primary) hypertension. Reviewed."
        form = {"_csrf_token": await expert.csrf(), "action": "approve", "draft": answer}
        done = await expert.post(f"/consultant/review/{key}", data=form)
        assert done.status_code == 303
        again = await expert.post(f"/consultant/review/{key}", data=form)  # a second click
        assert again.status_code == 303
        row = await Consult.select().where(Consult.key == key).first()
        assert row["status"] == "answered" and row["approved_by"] == expert_id
        answers = await ConsultMessage.select().where(
            (ConsultMessage.consult_id == row["id"]) & (ConsultMessage.kind == "answer")
        )
        assert len(answers) == 1 and answers[0]["account_id"] == expert_id
        mail = await mailbox.wait_for(email, "Re:")
        assert "I10" in mail.text
        assert mail.message["Message-ID"] == answers[0]["message_id"]
        assert "consult+" in str(mail.message["Reply-To"])
        page = text_of((await coder.get(f"/consultant/{key}")).text)
        assert "Answered" in page and "Reviewed." in page
        await asyncio.sleep(0.5)
        assert len(mailbox.find(email, "Re:")) == 1


async def test_a_job_killed_after_drafting_and_retried_sends_one_answer(
    client: PortalClient, mailbox: Mailbox
) -> None:
    _, email = await _account(client, plan="pro")
    key = _key(await _send(client, "Essential hypertension."))
    row = await _settled(key)  # the queued job drafted it (instant mode off)
    message_id = row["draft_data"]["for_message"]
    current = runtime.current()
    plain = current.settings
    current.settings = replace(
        plain, consult=replace(plain.consult, instant=True, instant_min_confidence=0.0)
    )
    try:
        # The job died after drafting, before sending: its retries find the draft and send once.
        assert await service.analyse_job(row["id"], message_id) == "answered"
        assert await service.analyse_job(row["id"], message_id) == "answered"
    finally:
        current.settings = plain
    await mailbox.wait_for(email, "Re:")
    await asyncio.sleep(0.5)
    assert len(mailbox.find(email, "Re:")) == 1
    assert await OutboxMessage.count().where(OutboxMessage.to_addr == email) >= 1
    answers = await ConsultMessage.count().where(
        (ConsultMessage.consult_id == row["id"]) & (ConsultMessage.kind == "answer")
    )
    assert answers == 1
    assert (await Consult.select().where(Consult.key == key).first())["approved_by"] == 0
