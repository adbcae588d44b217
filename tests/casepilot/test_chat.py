"""CasePilot's chat over HTTP: asking with and without JavaScript, the streamed answer, the
question meter, conversations per account and per guest session, and who may see what."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from features.casepilot.tables import Conversation, Message
from portal import runtime
from portal.accounts.tables import Account
from portal.settings import AssistantSettings
from tests.support.client import PortalClient, text_of, unique_email
from tests.support.fake_llm import FakeLLM, text_reply, tool_reply

pytestmark = pytest.mark.usefixtures("search_ready")

ASK = "/casepilot/ask"
HTMX = {"HX-Request": "true", "HX-Target": "chat-log"}


async def _ask(client: PortalClient, question: str, **fields: str):  # type: ignore[no-untyped-def]
    return await client.submit(ASK, {"question": question, **fields})


def _conversation_url(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert re.fullmatch(r"/casepilot/c/[\w-]+#m-\d+", location), location
    return location.split("#")[0]


async def test_the_page_invites_a_question(client: PortalClient) -> None:
    response = await client.get("/casepilot")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "Your question" in page
    assert "What is CPT code 99213?" in page  # an example to click
    assert "3 of 3 questions left today" in page  # a guest's daily questions


async def test_without_javascript_the_answer_is_written_then_shown(client: PortalClient) -> None:
    response = await _ask(client, "What is ICD-10-CM code E11.9?")
    url = _conversation_url(response)
    page = await client.get(url)
    assert page.status_code == 200
    assert "Type 2 diabetes mellitus without complications" in page.text
    assert 'href="/codes/icd-10-cm/E11.9' in page.text  # a citation to the code page
    assert "ICD-10-CM FY2026" in page.text  # the release the fact came from
    assert "2 of 3 questions left today" in text_of(page.text)


async def test_a_follow_up_joins_the_conversation(client: PortalClient) -> None:
    url = _conversation_url(await _ask(client, "What is ICD-10-CM code E11.9?"))
    key = url.rsplit("/", 1)[1]
    again = await _ask(client, "Is E11.65 billable?", conversation=key)
    assert _conversation_url(again) == url
    rows = await Message.select(Message.role).where(
        Message.conversation_id
        == (await Conversation.select(Conversation.id).where(Conversation.key == key).first())["id"]
    )
    assert [r["role"] for r in rows] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", "Type a question first."), ("x" * 2001, "keep it under 2,000")],
)
async def test_a_bad_question_is_refused_with_a_message(
    client: PortalClient, question: str, message: str
) -> None:
    before = await Message.count()
    response = await _ask(client, question)
    assert response.status_code == 422
    assert message in text_of(response.text)
    assert await Message.count() == before  # nothing stored, nothing charged
    assert "3 of 3 questions left today" in text_of(response.text)


async def test_with_htmx_the_answer_streams_then_is_swapped_in(client: PortalClient) -> None:
    response = await client.submit(ASK, {"question": "What is CPT code 99213?"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["hx-push-url"].startswith("/casepilot/c/")
    stream_url = re.search(r'sse-connect="([^"]+)"', response.text)
    assert stream_url, response.text
    assert 'id="ask-form"' in response.text and 'hx-swap-oob="true"' in response.text
    events = await client.get(stream_url.group(1))
    assert events.headers["content-type"].startswith("text/event-stream")
    names = re.findall(r"^event: (\w+)", events.text, re.M)
    assert names[0] == "piece" and names[-1] == "done"
    assert "AMA" in events.text  # no licensed CPT file here: the answer says why no descriptor
    # A reconnect after the end is told the answer at once, and it is not written twice.
    again = await client.get(stream_url.group(1))
    assert re.findall(r"^event: (\w+)", again.text, re.M) == ["done"]


async def test_a_second_click_does_not_ask_or_charge_twice(client: PortalClient) -> None:
    await client.get("/casepilot")  # the form's page: it names the guest (cookie)
    fields = {"question": "What is ICD-10-CM code J18.9?", "nonce": "a" * 32}
    first, second = await asyncio.gather(client.submit(ASK, fields), client.submit(ASK, fields))
    assert {first.status_code, second.status_code} == {303}
    assert await Message.count().where(Message.nonce == "a" * 32) == 1
    page = await client.get(first.headers["location"].split("#")[0])
    assert "2 of 3 questions left today" in text_of(page.text)


async def test_a_guest_meets_the_daily_limit(client: PortalClient) -> None:
    for n in range(3):
        _conversation_url(await _ask(client, f"What is ICD-10-CM code E11.{n}?"))
    response = await _ask(client, "What is ICD-10-CM code E11.9?")
    assert response.status_code == 429
    page = text_of(response.text)
    assert "You have asked the 3 questions a guest gets today" in page
    assert "Create a free account" in page


async def test_conversations_are_private(app, worker) -> None:  # type: ignore[no-untyped-def]
    async with PortalClient(app) as owner, PortalClient(app) as other:
        url = _conversation_url(await _ask(owner, "What is ICD-10-CM code E11.9?"))
        key = url.rsplit("/", 1)[1]
        assert (await other.get(url)).status_code == 404
        assert (await _ask(other, "And E11.8?", conversation=key)).status_code == 404
        assert (await other.submit(f"{url}/delete")).status_code == 404
        message = (await owner.get(url)).text
        answer_id = re.findall(r'id="m-(\d+)"', message)[-1]
        assert (await other.get(f"/casepilot/stream/{key}/{answer_id}")).status_code == 404
        assert (await owner.get(url)).status_code == 200


async def test_an_account_keeps_lists_and_deletes_its_conversations(client: PortalClient) -> None:
    email = unique_email("pilot")
    await client.register(email)
    account = await Account.select(Account.id).where(Account.email == email).first()
    url = _conversation_url(await _ask(client, "What is modifier RT?"))
    page = await client.get("/casepilot")
    assert url in page.text and "What is modifier RT?" in page.text
    assert "20 of 20" not in text_of(page.text)  # the free account's figure, one question used
    assert "19 of 20 questions left today" in text_of(page.text)
    deleted = await client.submit(f"{url}/delete")
    assert deleted.status_code == 303
    assert (await client.get(url)).status_code == 404
    assert await Conversation.count().where(Conversation.account_id == account["id"]) == 0


async def test_asked_from_a_code_page_the_code_is_in_context(client: PortalClient) -> None:
    page = await client.get("/codes/icd-10-cm/E11.9")
    assert 'action="/casepilot/ask"' in page.text and 'value="icd-10-cm:E11.9"' in page.text
    url = _conversation_url(await _ask(client, "Is this code billable?", code="icd-10-cm:E11.9"))
    answer = text_of((await client.get(url)).text)
    assert "About ICD-10-CM E11.9" in answer
    assert "billable" in answer.lower() and "E11.9" in answer


async def test_with_an_llm_configured_its_answer_is_checked_before_it_is_shown(
    client: PortalClient,
) -> None:
    """The chat asks the configured OpenAI-compatible endpoint (an in-test server); the code the
    model invents is flagged on the page, the looked-up one is cited."""
    current = runtime.current()
    configured = AssistantSettings(llm_base_url=None, llm_model="test-model")
    async with FakeLLM() as llm:
        llm.replies = [
            tool_reply(("call-1", "lookup_code", {"code": "E11.9"})),
            text_reply("Use **E11.9** (type 2 diabetes without complications). ", "Or E11.99."),
        ]
        plain = current.settings
        current.settings = replace(plain, assistant=replace(configured, llm_base_url=llm.base_url))
        try:
            url = _conversation_url(await _ask(client, "Which code for type 2 diabetes?"))
        finally:
            current.settings = plain
    assert [r.body["model"] for r in llm.received] == ["test-model", "test-model"]
    page = await client.get(url)
    text = text_of(page.text)
    assert "some codes in this answer are not right as written" in text
    assert "E11.99" in text
    assert 'href="/codes/icd-10-cm/E11.9' in page.text  # the lookup's citation
