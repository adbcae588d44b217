"""CasePilot's LLM engine: any OpenAI-compatible chat-completions endpoint, with the portal's
tools as functions the model calls.

One answer is a short loop: the model streams text and/or tool calls; tool calls run through
the tool registry and their results go back as `tool` messages; after at most
`llm_max_tool_rounds` rounds of tools the model must answer. The answer is then checked:
citations are those of the facts the tools returned, every code it names goes through the code
check (codes the tools named are trusted), and flagged codes are marked in the text.

Refusals: an answer no tool fact backs is refused (not shown as an answer), because nothing in it
can be verified. A fact backs an answer when its citation names a release: facts that only say a
tool's input was wrong name none. One exception: a short, code-free "I don't know" passes, since
it claims nothing that needs a source and telling the reader so is the honest answer.

Failures of the endpoint (connection, HTTP status, timeout, a stream that is not the protocol)
end the answer with a refused "unavailable" Answer; nothing is raised out of `answer`.
Logs carry sizes, counts and statuses only: questions and answers may hold health information.
No web framework here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import structlog

from features.case2code.systems import system_for
from features.casepilot import code_check
from features.casepilot.engine import Answer, Context, Piece
from features.casepilot.facts import Citation, ToolResult
from portal.settings import AssistantSettings

log = structlog.get_logger("casepilot.llm")

SYSTEM_PROMPT = """\
You are CasePilot, the coding assistant of a medical coding portal. You answer questions about \
ICD-10-CM, ICD-10-PCS, HCPCS Level II and CPT codes, modifiers, NCCI edits, MUEs, fees, \
MS-DRGs, places of service, LCDs and the official guidelines.

Rules:
- Answer only from the results of the tools you call in this conversation. Call a tool before \
you state any code, title, rule, edit or number, even one you think you know.
- Never invent a code. Name a code only when a tool result names it, written as the result \
writes it (E11.9, not E119).
- Cite every fact: link it to the source the tool result gives, as a Markdown link \
[label](url), and say which release it comes from when it matters.
- If the tools return nothing that answers the question, say plainly that you do not know, \
and suggest searching the codes or sending a consult. Do not guess.
- Be brief and exact. Do not give medical advice; the question is about coding.
"""

UNAVAILABLE_TEXT = (
    "The assistant is unavailable right now, so this question has no answer. "
    "Please try again in a few minutes, [search the codes](/case2code) or "
    "[send a consult](/consultant)."
)
UNVERIFIED_TEXT = (
    "I could not verify an answer to this question against the portal's code data, so I am not "
    "showing one. Try [searching the codes](/case2code) or [send a consult](/consultant) to a "
    "certified coder."
)

_MAX_HISTORY_TURNS = 10  # earlier turns add tokens more than they add context
_MAX_TOOL_CONTENT_CHARS = 12_000  # one tool result; larger payloads drop their data, keep facts
_ABSTENTION_MAX_CHARS = 600
_ABSTENTION = re.compile(
    r"\bI (?:do not|don't|don’t|cannot|can't|can’t|could not|couldn't|couldn’t|am unable to|"
    r"am not able to|was unable to|was not able to) (?:know|find|verify|confirm|answer|tell)\b"
    r"|\bI(?:'m| am) not sure\b|\bI don(?:'|’)?t have (?:enough|that)\b",
    re.IGNORECASE,
)


class ToolSpecLike(Protocol):
    """What the engine needs of a tool (features.casepilot.tools.ToolSpec has it)."""

    name: str
    description: str
    parameters: dict[str, Any]

    def run(self, arguments: dict[str, Any]) -> Awaitable[ToolResult]: ...


class EndpointError(Exception):
    """The endpoint did not give a usable reply; the message is safe to log (no text of it)."""


@dataclass
class ToolCall:
    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""  # JSON, as the model wrote it (streamed in fragments)


@dataclass
class Round:
    """What one streamed completion said: its text and the tool calls it asked for."""

    content: str = ""
    calls: dict[int, ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None

    def absorb(self, event: Any) -> str:
        """Take one stream event in; return the text it adds (to stream on at once)."""
        if not isinstance(event, dict):
            raise EndpointError("an event that is not a JSON object")
        if event.get("error"):
            raise EndpointError("an error event in the stream")
        choices = event.get("choices") or []
        if not isinstance(choices, list):
            raise EndpointError("choices that are not a list")
        added = []
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n=1 is asked for; other choices are not this answer
            added.append(self._absorb_choice(choice))
        return "".join(added)

    def _absorb_choice(self, choice: dict[str, Any]) -> str:
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise EndpointError("a delta that is not an object")
        for position, fragment in enumerate(delta.get("tool_calls") or []):
            self._absorb_tool_call(position, fragment)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.content += content
            return content
        return ""

    def _absorb_tool_call(self, position: int, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            raise EndpointError("a tool call fragment that is not an object")
        # Fragments of one call share its index; the first one carries its id and name.
        index = fragment.get("index", position)
        call = self.calls.setdefault(index, ToolCall(index=index))
        call.id = fragment.get("id") or call.id
        function = fragment.get("function") or {}
        name = function.get("name") or ""
        # Some servers repeat the whole name in every fragment, others split it.
        if name and name != call.name:
            call.name += name
        call.arguments += function.get("arguments") or ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [self.calls[i] for i in sorted(self.calls) if self.calls[i].name]


@dataclass
class Run:
    """Everything one answer gathered: the tools it called and what they returned."""

    results: list[ToolResult] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    text: str = ""
    requests: int = 0

    @property
    def citations(self) -> tuple[Citation, ...]:
        # A citation that names no release comes from a tool refusing its input (bad arguments:
        # no data was read), so it backs nothing and is not shown as a source.
        cited = (c for r in self.results for c in r.citations if c.release)
        return tuple(dict.fromkeys(cited))

    @property
    def trusted(self) -> frozenset[tuple[str, str]]:
        # A not-found result names the code it looked for: that is no reason to trust it.
        return frozenset(code for r in self.results if r.ok for code in r.codes)


def _sse_data(lines: list[str]) -> str | None:
    """The data of one server-sent event (its `data:` lines joined), None when it has none."""
    data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
    return "\n".join(data) if data else None


async def _events(response: httpx.Response) -> AsyncIterator[str]:
    """The data of each event of an SSE body, in order; comments and other fields skipped."""
    pending: list[str] = []
    async for line in response.aiter_lines():
        if line.strip():
            pending.append(line)
            continue
        data = _sse_data(pending)
        pending = []
        if data is not None:
            yield data
    data = _sse_data(pending)
    if data is not None:
        yield data


def _tool_content(result: ToolResult) -> str:
    body: dict[str, Any] = {
        "tool": result.tool,
        "ok": result.ok,
        "facts": [
            {
                "text": f.text,
                "source": f.citation.label,
                "url": f.citation.url,
                "release": f.citation.release,
            }
            for f in result.facts
        ],
        "data": result.data,
    }
    content = json.dumps(body, ensure_ascii=False, default=str)
    if len(content) > _MAX_TOOL_CONTENT_CHARS:
        body["data"] = {"omitted": "too large to send; the facts above are complete"}
        content = json.dumps(body, ensure_ascii=False, default=str)
    return content


def _page_note(context: Context) -> str | None:
    if context.code is None:
        return None
    slug, code = context.code
    system = system_for(slug)
    if system is None:
        return None
    at = system.dot_at
    shown = f"{code[:at]}.{code[at:]}" if at is not None and len(code) > at else code
    return (
        f"The user asks from the portal's page for {system.label} {shown}. "
        "Questions that do not name a code are about this one."
    )


def build_messages(question: str, context: Context) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    note = _page_note(context)
    if note:
        messages.append({"role": "system", "content": note})
    for turn in context.history[-_MAX_HISTORY_TURNS:]:
        messages.append({"role": turn.role, "content": turn.text})
    messages.append({"role": "user", "content": question})
    return messages


def is_abstention(text: str) -> bool:
    """A short "I don't know" that names no code: it passes without citations."""
    return (
        len(text) <= _ABSTENTION_MAX_CHARS
        and bool(_ABSTENTION.search(text))
        and not any(m.certain for m in code_check.find_codes(text))
    )


class LLMEngine:
    """AnswerEngine over an OpenAI-compatible chat-completions endpoint (see the module doc)."""

    name = "llm"

    def __init__(
        self,
        settings: AssistantSettings | None = None,
        tools: Mapping[str, ToolSpecLike] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if settings is None:
            from portal.settings import Settings

            settings = Settings.from_env().assistant
        self.settings = settings
        self._tools = tools
        self._transport = transport

    @property
    def tools(self) -> Mapping[str, ToolSpecLike]:
        if self._tools is None:
            # Imported on first use: the registry pulls in the catalog and every tool.
            from features.casepilot.tools import TOOLS

            self._tools = TOOLS
        return self._tools

    async def answer(self, question: str, context: Context) -> AsyncIterator[Piece]:
        run = Run()
        started = time.monotonic()
        log.info("casepilot.llm.start", question_chars=len(question), history=len(context.history))
        try:
            async with self._client() as client:
                async for piece in self._converse(client, build_messages(question, context), run):
                    yield piece
            final = await self._final(run)
        except Exception as exc:  # the chat must always get its Answer, whatever failed
            log.warning(
                "casepilot.llm.unavailable",
                error=type(exc).__name__,
                reason=str(exc) if isinstance(exc, EndpointError) else None,
                requests=run.requests,
            )
            final = Answer(
                text=UNAVAILABLE_TEXT,
                citations=(),
                engine=self.name,
                refused=True,
                tools=tuple(run.tools),
            )
        log.info(
            "casepilot.llm.done",
            answer_chars=len(final.text),
            citations=len(final.citations),
            flags=len(final.flags),
            refused=final.refused,
            tools=list(final.tools),
            requests=run.requests,
            seconds=round(time.monotonic() - started, 3),
        )
        yield final

    def _client(self) -> httpx.AsyncClient:
        headers = {"Accept": "text/event-stream"}
        if self.settings.llm_api_key:
            headers["Authorization"] = f"Bearer {self.settings.llm_api_key}"
        # The timeout bounds connecting and each wait for the next bytes, so a long answer that
        # keeps streaming is not cut, but a stalled endpoint is.
        return httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self.settings.llm_timeout_s),
            transport=self._transport,
        )

    def _functions(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                },
            }
            for spec in self.tools.values()
        ]

    async def _converse(
        self, client: httpx.AsyncClient, messages: list[dict[str, Any]], run: Run
    ) -> AsyncIterator[str]:
        rounds = max(0, self.settings.llm_max_tool_rounds)
        for number in range(rounds + 1):
            may_call = number < rounds
            reply = Round()
            run.requests += 1
            async for piece in self._complete(client, messages, reply, may_call):
                yield piece
            calls = reply.tool_calls
            if not (calls and may_call):
                run.text = reply.content  # earlier rounds' text was "let me look that up"
                return
            messages.append(_assistant_message(reply, calls))
            for call in calls:
                result = await self._run_tool(call)
                run.results.append(result)
                run.tools.append(call.name)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": _tool_content(result)}
                )

    async def _complete(
        self,
        client: httpx.AsyncClient,
        messages: list[dict[str, Any]],
        reply: Round,
        may_call: bool,
    ) -> AsyncIterator[str]:
        payload: dict[str, Any] = {
            "model": self.settings.llm_model,
            "messages": messages,
            "stream": True,
        }
        functions = self._functions()
        if functions:
            payload["tools"] = functions
            # The last round must answer: tools stay declared (the history holds tool messages)
            # but the model may not call them.
            payload["tool_choice"] = "auto" if may_call else "none"
        done = False
        async with client.stream("POST", self._url(), json=payload) as response:
            await _raise_for_status(response)
            async for data in _events(response):
                if data.strip() == "[DONE]":
                    done = True
                    break
                try:
                    event = json.loads(data)
                except ValueError as exc:
                    raise EndpointError("an event that is not JSON") from exc
                piece = reply.absorb(event)
                if piece:
                    yield piece
        if not done and reply.finish_reason is None:
            raise EndpointError("the stream ended before the answer did")

    def _url(self) -> str:
        if not self.settings.llm_base_url:
            raise EndpointError("no endpoint configured")
        return f"{self.settings.llm_base_url.rstrip('/')}/chat/completions"

    async def _run_tool(self, call: ToolCall) -> ToolResult:
        """The tool's result; never raises (a failed call tells the model what went wrong)."""
        spec = self.tools.get(call.name)
        if spec is None:
            return ToolResult(call.name, ok=False, data={"error": f"no tool named {call.name}"})
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            return ToolResult(call.name, ok=False, data={"error": "arguments must be an object"})
        try:
            result = await spec.run(arguments)
        except Exception as exc:  # a tool bug must not end the answer; the model is told
            log.warning("casepilot.llm.tool_failed", tool=call.name, error=type(exc).__name__)
            return ToolResult(call.name, ok=False, data={"error": "the tool failed"})
        log.info("casepilot.llm.tool", tool=call.name, ok=result.ok, facts=len(result.facts))
        return result

    async def _final(self, run: Run) -> Answer:
        text = run.text.strip()
        flags = await code_check.check(text, run.trusted)
        citations = run.citations
        tools = tuple(run.tools)
        if text and (citations or is_abstention(text)):
            return Answer(
                text=code_check.mark(text, flags),
                citations=citations,
                engine=self.name,
                flags=flags,
                tools=tools,
            )
        return Answer(
            text=UNVERIFIED_TEXT,
            citations=(),
            engine=self.name,
            flags=flags,
            refused=True,
            tools=tools,
        )


async def _raise_for_status(response: httpx.Response) -> None:
    log.info("casepilot.llm.response", status=response.status_code)
    if response.status_code >= 400:
        body = await response.aread()
        raise EndpointError(f"HTTP {response.status_code} ({len(body)} bytes)")


def _assistant_message(reply: Round, calls: list[ToolCall]) -> dict[str, Any]:
    for call in calls:
        call.id = call.id or f"call_{call.index}"  # some servers omit ids; tool messages need one
    return {
        "role": "assistant",
        "content": reply.content or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in calls
        ],
    }
