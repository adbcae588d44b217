"""CasePilot's pages: the chat, a conversation, asking, the streamed answer, deleting.

Without JavaScript a question posts, the answer is written in full and the browser is sent to
the conversation (post/redirect/get). With htmx the question's form asks for the two new
messages only; the answer's element opens a Server-Sent Events stream (/casepilot/stream/...)
that shows the words as they are written and swaps in the stored answer at the end.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage
from markupsafe import escape

from features.case2code.systems import CodeFormatError, system_for
from features.casepilot import assistant, conversations
from features.casepilot.assistant import QuestionError
from features.casepilot.conversations import ConversationView, Owner
from features.casepilot.engine import Answer
from portal import runtime
from portal.metering import service as metering
from portal.settings import CASEPILOT_QUESTIONS
from portal.web.forms import form_fields
from portal.web.htmx import is_htmx
from portal.web.identity import current_account, guest_cookie, guest_id, meter_subject
from portal.web.render import render

PageRequest = Request[Any, Any, Any]
LOG_TARGET = "chat-log"
EXAMPLES = (
    "What is ICD-10-CM code E11.9?",
    "What is CPT code 99213?",
    "Can 99213 be billed with 20610?",
    "What is modifier RT?",
    "Which 7th characters does S52.5 take?",
    "Convert ICD-9 250.00 to ICD-10-CM",
    "What does Medicare pay for 99214?",
    "Guidelines for E/M services",
)


async def _owner(request: PageRequest) -> Owner:
    account = await current_account(request)
    if account is not None:
        return Owner(account.id)
    return Owner(None, guest_id(request))  # render() sets the cookie of a newly minted id


def _code_context(raw: str) -> tuple[str, str] | None:
    """ "icd-10-cm:E11.9" from a code page's box -> ("icd-10-cm", "E119"); anything else: None."""
    slug, _, code = raw.partition(":")
    system = system_for(slug.strip())
    if system is None or not code.strip():
        return None
    try:
        return system.slug, system.normalise(code)
    except CodeFormatError:
        return None


async def _quota(request: PageRequest) -> dict[str, Any]:
    subject = await meter_subject(request, create_guest=False)
    remaining = await metering.remaining(subject, CASEPILOT_QUESTIONS)
    meters = runtime.current().settings.meters
    limits = {
        plan: meters.rule(CASEPILOT_QUESTIONS, plan).limit for plan in ("guest", "free", "pro")
    }
    return {
        "remaining": remaining,
        "limit": limits[subject.plan_key],
        "limits": limits,
        "plan": subject.plan_key,
    }


async def _chat_page(
    request: PageRequest,
    conversation: ConversationView | None,
    *,
    question: str = "",
    code: tuple[str, str] | None = None,
    error: str | None = None,
    limit_reached: bool = False,
    status_code: int = 200,
) -> Response[Any]:
    owner = await _owner(request)
    context = {
        "conversation": conversation,
        "messages": await conversations.messages(conversation) if conversation else [],
        "listing": await conversations.listing(owner),
        "form": _form(conversation, question, code, error, limit_reached),
        "quota": await _quota(request),
        "examples": EXAMPLES,
    }
    # htmx posted the form (aimed at the log): it comes back with its message in place.
    refused = error is not None or limit_reached
    return await render(
        request,
        "casepilot/chat.html",
        context,
        fragments={LOG_TARGET: "casepilot/_ask_form.html"} if refused else None,
        status_code=status_code,
        headers={"HX-Retarget": "#ask-form", "HX-Reswap": "outerHTML"} if refused else None,
    )


def _form(
    conversation: ConversationView | None,
    question: str,
    code: tuple[str, str] | None,
    error: str | None,
    limit_reached: bool,
) -> dict[str, Any]:
    if conversation is not None and conversation.code_system and conversation.code:
        code = (conversation.code_system, conversation.code)
    system = system_for(code[0]) if code else None
    return {
        "question": question,
        "nonce": secrets.token_hex(16),
        "conversation": conversation.key if conversation else "",
        "code": f"{code[0]}:{code[1]}" if code else "",
        "code_label": f"{system.label} {system.display(code[1])}" if system and code else "",
        "code_url": f"/codes/{system.slug}/{system.display(code[1])}" if system and code else "",
        "error": error,
        "limit_reached": limit_reached,
        "max_chars": assistant.MAX_QUESTION_CHARS,
    }


def _go(request: PageRequest, path: str) -> Response[Any]:
    """Post/redirect/get (htmx: HX-Redirect), keeping a guest id minted by this request."""
    cookie = guest_cookie(request)
    cookies = [cookie] if cookie else None
    if is_htmx(request):
        return Response("", status_code=200, headers={"HX-Redirect": path}, cookies=cookies)
    return Redirect(path=path, status_code=303, cookies=cookies)


@get("/casepilot", name="casepilot")
async def chat(request: PageRequest, code: FromQuery[str] = "") -> Response[Any]:
    """A new conversation; `code` ("icd-10-cm:E11.9") sets the code it is about."""
    return await _chat_page(request, None, code=_code_context(code[:40]))


@get("/casepilot/c/{key:str}", name="casepilot-conversation")
async def conversation_page(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    found = await conversations.get(await _owner(request), key[:40])
    if found is None:
        raise NotFoundException("There is no such conversation, or it is not yours.")
    return await _chat_page(request, found)


@post("/casepilot/ask", name="casepilot-ask")
async def ask(request: PageRequest) -> Response[Any]:
    fields = await form_fields(request)
    owner = await _owner(request)
    key = fields.get("conversation", "")[:40]
    conversation = await conversations.get(owner, key) if key else None
    if key and conversation is None:
        raise NotFoundException("There is no such conversation, or it is not yours.")
    code = _code_context(fields.get("code", "")[:40])
    raw = fields.get("question", "") or fields.get("example", "")
    try:
        question = assistant.clean_question(raw)
    except QuestionError as exc:
        return await _chat_page(
            request, conversation, question=raw, code=code, error=str(exc), status_code=422
        )
    nonce = fields.get("nonce", "")[:32] or None
    repeat = await conversations.question_by_nonce(nonce) if nonce else None
    if repeat is not None:  # a second click on the same form: show the first one's answer
        return await _after_repeat(request, owner, repeat)
    subject = await meter_subject(request)
    # The form's nonce keys the charge: a second click within the meter's repeat window is free.
    charge_key = f"ask:{nonce or secrets.token_hex(8)}"
    grant = await metering.consume(subject, CASEPILOT_QUESTIONS, charge_key)
    if not grant.granted:
        return await _chat_page(
            request, conversation, question=question, code=code, limit_reached=True, status_code=429
        )
    started = conversation is None
    if conversation is None:
        conversation = await conversations.start(owner, question, code)
    answer_id = await conversations.ask(conversation, question, nonce)
    if answer_id is None:
        # Two clicks raced past the first check: the unique nonce let one in; show its answer.
        if started:
            await conversations.drop_if_empty(conversation)
        repeat = await conversations.question_by_nonce(nonce) if nonce else None
        if repeat is None:
            raise NotFoundException("There is no such conversation, or it is not yours.")
        return await _after_repeat(request, owner, repeat)
    if not is_htmx(request):
        run = await assistant.start_answer(conversation, answer_id)
        if run is not None:
            await run.result()
        return _go(request, f"{conversation.url}#m-{answer_id}")
    return await render(
        request,
        "casepilot/_asked.html",
        {
            "conversation": conversation,
            "messages": (await conversations.messages(conversation))[-2:],
            "form": _form(conversation, "", None, None, False),
            "quota": await _quota(request),
            "listing": await conversations.listing(owner),
        },
        headers={"HX-Push-Url": conversation.url},
    )


async def _after_repeat(
    request: PageRequest, owner: Owner, repeat: tuple[int, int]
) -> Response[Any]:
    known = await conversations.by_id(owner, repeat[0])
    if known is None:
        raise NotFoundException("There is no such conversation, or it is not yours.")
    target = f"{known.url}#m-{repeat[1]}"
    return _go(request, target)


@get("/casepilot/stream/{key:str}/{message_id:int}", name="casepilot-stream")
async def stream(
    request: PageRequest, key: FromPath[str], message_id: FromPath[int]
) -> ServerSentEvent:
    """The answer's words as they are written (event "piece"), then the stored answer as HTML
    (event "done"). A reconnect after the end gets "done" at once."""
    conversation = await conversations.get(await _owner(request), key[:40])
    found = await conversations.message(conversation, message_id) if conversation else None
    if conversation is None or found is None or found.role != "assistant":
        raise NotFoundException("There is no such answer.")
    jinja = runtime.current().jinja

    def done(message: conversations.MessageView) -> ServerSentEventMessage:
        html = jinja.get_template("casepilot/_message.html").render(
            {"m": message, "conversation": conversation}
        )
        return ServerSentEventMessage(data=html, event="done")

    async def events() -> Any:
        run = await assistant.start_answer(conversation, message_id) if found.pending else None
        if run is not None:
            async for piece in run.pieces():
                if isinstance(piece, Answer):
                    break
                yield ServerSentEventMessage(data=str(escape(piece)), event="piece")
        stored = await assistant.wait_for_answer(conversation, message_id)
        if stored is not None and not stored.pending:
            yield done(stored)
        else:
            yield ServerSentEventMessage(data="", event="waiting")

    return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})


@post("/casepilot/c/{key:str}/delete", name="casepilot-delete")
async def delete(request: PageRequest, key: FromPath[str]) -> Response[Any]:
    owner = await _owner(request)
    if not await conversations.delete(owner, key[:40]):
        raise NotFoundException("There is no such conversation, or it is not yours.")
    return _go(request, "/casepilot")


ROUTES = [chat, conversation_page, ask, stream, delete]
