"""The LLM engine against an in-test server that speaks the OpenAI chat-completions streaming
protocol over real HTTP (chunked server-sent events), scripted per test, with tools built on the
real catalog."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from features.case2code import catalog
from features.case2code.systems import SYSTEMS, CodeFormatError
from features.casepilot import llm_engine
from features.casepilot.engine import Answer, Context, Turn
from features.casepilot.facts import Citation, Fact, ToolResult
from features.casepilot.llm_engine import UNAVAILABLE_TEXT, UNVERIFIED_TEXT, LLMEngine
from portal.settings import AssistantSettings
from tests.support.fake_llm import FakeLLM, Reply, chunk, text_reply, tool_reply

pytestmark = pytest.mark.usefixtures("catalog_loaded")

QUESTION = "My patient Jane Doe has type 2 diabetes without complications: which code?"


# --- tools built on the catalog, in the ToolSpec shape ------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], Awaitable[ToolResult]]


async def _lookup_code(arguments: dict[str, Any]) -> ToolResult:
    slug = str(arguments.get("system") or "icd-10-cm")
    raw = str(arguments.get("code") or "")
    system = SYSTEMS[slug]
    try:
        code = system.normalise(raw)
    except CodeFormatError as exc:
        # A refusal of the input: no data read, so no release named.
        refusal = Citation("CasePilot lookup_code", "/casepilot", "")
        return ToolResult("lookup_code", ok=False, facts=(Fact(str(exc), refusal),))
    view = await catalog.get_code(slug, code)
    if view is None:
        release = await catalog.current_release(system.code_set)
        search = Citation(f"Search: {raw}", f"/case2code?q={raw}", release.label if release else "")
        missing = Fact(f"{raw} is not {system.article} {system.label} code.", search)
        return ToolResult("lookup_code", ok=False, facts=(missing,))
    citation = Citation(f"{system.label} {view.display}", view.url, view.release.label)
    billable = "billable" if view.billable else "not billable"
    return ToolResult(
        "lookup_code",
        ok=True,
        facts=(Fact(f"{view.display} {view.title} ({billable}).", citation),),
        data={"code": view.display, "title": view.title, "billable": view.billable},
        codes=((slug, view.code),),
    )


async def _broken(arguments: dict[str, Any]) -> ToolResult:
    raise RuntimeError("a bug in a tool")


TOOLS = {
    "lookup_code": Tool(
        "lookup_code",
        "Look up one code: its title, whether it is billable, its release.",
        {
            "type": "object",
            "properties": {
                "system": {"type": "string", "enum": list(SYSTEMS)},
                "code": {"type": "string"},
            },
            "required": ["code"],
        },
        _lookup_code,
    ),
    "broken": Tool("broken", "Always fails.", {"type": "object", "properties": {}}, _broken),
}


# --- helpers ------------------------------------------------------------------------------


def settings_for(base_url: str, **overrides: Any) -> AssistantSettings:
    values: dict[str, Any] = {
        "llm_base_url": base_url,
        "llm_api_key": "sk-test-123",
        "llm_model": "test-model",
        "llm_timeout_s": 2.0,
        "llm_max_tool_rounds": 3,
    }
    return AssistantSettings(**{**values, **overrides})


async def ask(
    engine: LLMEngine, question: str = QUESTION, context: Context | None = None
) -> tuple[list[str], Answer]:
    pieces: list[str] = []
    answers: list[Answer] = []
    stream: AsyncIterator[Any] = engine.answer(question, context or Context())
    async for piece in stream:
        if isinstance(piece, Answer):
            answers.append(piece)
        else:
            assert not answers, "text after the Answer"
            pieces.append(piece)
    assert len(answers) == 1
    return pieces, answers[0]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


def engine_for(llm: FakeLLM, **overrides: Any) -> LLMEngine:
    return LLMEngine(settings_for(llm.base_url, **overrides), TOOLS)


ANSWER_E119 = (
    "Report ",
    "[E11.9](/codes/icd-10-cm/E11.9) ",
    "Type 2 diabetes mellitus ",
    "without complications: it is billable ",
    "(ICD-10-CM FY2026).",
)


# --- (a) a tool call, then an answer citing it ---------------------------------------------


async def test_a_looked_up_code_is_answered_with_its_citation_and_streamed(
    llm: FakeLLM,
) -> None:
    llm.replies = [
        tool_reply(("call_1", "lookup_code", {"system": "icd-10-cm", "code": "E11.9"})),
        text_reply(*ANSWER_E119),
    ]
    pieces, answer = await ask(engine_for(llm))

    assert pieces == list(ANSWER_E119)  # streamed as the model wrote them
    assert answer.text == "".join(ANSWER_E119)
    assert not answer.refused and answer.flags == ()
    assert answer.engine == "llm" and answer.tools == ("lookup_code",)
    [citation] = answer.citations
    assert citation.label == "ICD-10-CM E11.9"
    assert citation.url == "/codes/icd-10-cm/E11.9"
    assert "ICD-10-CM FY2026" in citation.release

    # The second request carries the call and its result back to the model.
    assert len(llm.received) == 2
    messages = llm.received[1].body["messages"]
    assistant, tool = messages[-2], messages[-1]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert assistant["tool_calls"][0]["function"]["name"] == "lookup_code"
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_1"
    result = json.loads(tool["content"])
    assert result["ok"] is True
    assert "Type 2 diabetes mellitus without complications" in result["facts"][0]["text"]
    assert result["facts"][0]["url"] == "/codes/icd-10-cm/E11.9"


# --- (b) invented codes -------------------------------------------------------------------


async def test_an_invented_code_without_tools_is_refused_and_flagged(llm: FakeLLM) -> None:
    llm.replies = [text_reply("Use ", "E11.99 for type 2 diabetes ", "without complications.")]
    pieces, answer = await ask(engine_for(llm))

    assert "".join(pieces) == "Use E11.99 for type 2 diabetes without complications."
    assert answer.refused
    assert answer.text == UNVERIFIED_TEXT and answer.citations == ()
    [flag] = answer.flags
    assert (flag.code, flag.problem, flag.system) == ("E11.99", "unknown", "icd-10-cm")


async def test_an_invented_code_beside_a_cited_one_is_marked(llm: FakeLLM) -> None:
    llm.replies = [
        tool_reply(("call_1", "lookup_code", {"code": "E11.9"})),
        text_reply(
            "Report E11.9 ", "([source](/codes/icd-10-cm/E11.9)); ", "E11.99 is more exact."
        ),
    ]
    _, answer = await ask(engine_for(llm))

    assert not answer.refused
    assert [(f.code, f.problem) for f in answer.flags] == [("E11.99", "unknown")]
    assert answer.text == (
        "Report E11.9 ([source](/codes/icd-10-cm/E11.9)); "
        "E11.99 **[not a valid code]** is more exact."
    )


async def test_a_code_the_tools_named_is_trusted_even_as_a_heading(llm: FakeLLM) -> None:
    llm.replies = [
        tool_reply(("c1", "lookup_code", {"code": "E11"})),
        text_reply("E11 is a category, not billable: choose a code under it."),
    ]
    _, answer = await ask(engine_for(llm))
    assert not answer.refused and answer.flags == ()
    assert [c.label for c in answer.citations] == ["ICD-10-CM E11"]


async def test_a_plain_i_do_not_know_passes_without_citations(llm: FakeLLM) -> None:
    llm.replies = [text_reply("I don't know: the portal's data does not answer that.")]
    _, answer = await ask(engine_for(llm), "What will the 2031 fee schedule pay?")
    assert not answer.refused
    assert answer.text == "I don't know: the portal's data does not answer that."
    assert answer.citations == ()


async def test_a_not_found_lookup_backs_a_no_such_code_answer(llm: FakeLLM) -> None:
    llm.replies = [
        tool_reply(("c1", "lookup_code", {"code": "E11.99"})),
        text_reply("E11.99 is not an ICD-10-CM code."),
    ]
    _, answer = await ask(engine_for(llm))
    assert not answer.refused
    assert [c.label for c in answer.citations] == ["Search: E11.99"]
    # A not-found result does not make the code trusted: it is still marked.
    assert answer.text == "E11.99 **[not a valid code]** is not an ICD-10-CM code."


# --- (c) streamed tool calls in fragments -------------------------------------------------


async def test_a_refusal_of_the_input_backs_no_answer(llm: FakeLLM) -> None:
    llm.replies = [
        tool_reply(("c1", "lookup_code", {"code": "not a code!"})),
        text_reply("Type 2 diabetes is coded in category E11 anyway."),
    ]
    _, answer = await ask(engine_for(llm))
    assert answer.refused and answer.text == UNVERIFIED_TEXT
    assert answer.tools == ("lookup_code",)


async def test_tool_calls_streamed_in_fragments_are_put_together(llm: FakeLLM) -> None:
    def call(index: int, **function: str) -> dict[str, Any]:
        return chunk({"tool_calls": [{"index": index, "function": function}]})

    first = chunk(
        {
            "role": "assistant",
            "content": "Let me look both up. ",
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "lookup_code", "arguments": ""},
                }
            ],
        }
    )
    second = chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "lookup_code", "arguments": '{"co'},
                }
            ]
        }
    )
    llm.replies = [
        Reply(
            [
                first,
                call(0, arguments='{"sys'),
                call(0, arguments='tem": "icd-10-cm", '),
                second,
                call(0, arguments='"code": "E1'),
                call(1, arguments='de": "S93.402A"'),
                call(0, arguments='1.9"}'),
                call(1, arguments="}"),
                chunk({}, "tool_calls"),
            ]
        ),
        text_reply("E11.9 and S93.402A are both billable ", "(see the code pages)."),
    ]
    pieces, answer = await ask(engine_for(llm))

    assert pieces[0] == "Let me look both up. "
    assert answer.text == "E11.9 and S93.402A are both billable (see the code pages)."
    assert answer.tools == ("lookup_code", "lookup_code")
    assert {c.label for c in answer.citations} == {"ICD-10-CM E11.9", "ICD-10-CM S93.402A"}
    assert answer.flags == () and not answer.refused

    sent = llm.received[1].body["messages"]
    calls = sent[-3]["tool_calls"]
    assert [(c["id"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("call_a", {"system": "icd-10-cm", "code": "E11.9"}),
        ("call_b", {"code": "S93.402A"}),
    ]
    assert [(m["role"], m["tool_call_id"]) for m in sent[-2:]] == [
        ("tool", "call_a"),
        ("tool", "call_b"),
    ]


async def test_bad_arguments_unknown_and_failing_tools_are_told_to_the_model(
    llm: FakeLLM,
) -> None:
    llm.replies = [
        Reply(
            [
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "x1",
                                "function": {"name": "lookup_code", "arguments": "{not json"},
                            }
                        ]
                    }
                ),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "x2",
                                "function": {"name": "no_such_tool", "arguments": "{}"},
                            }
                        ]
                    }
                ),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 2,
                                "id": "x3",
                                "function": {"name": "broken", "arguments": "{}"},
                            }
                        ]
                    }
                ),
                chunk({}, "tool_calls"),
            ]
        ),
        text_reply("I could not find an answer with the tools."),
    ]
    _, answer = await ask(engine_for(llm))
    results = [json.loads(m["content"]) for m in llm.received[1].body["messages"][-3:]]
    assert [r["ok"] for r in results] == [False, False, False]
    assert [r["data"]["error"] for r in results] == [
        "arguments must be an object",
        "no tool named no_such_tool",
        "the tool failed",
    ]
    assert not answer.refused  # an honest "could not find" with no code in it


async def test_tool_rounds_stop_at_the_limit_and_the_model_must_answer(llm: FakeLLM) -> None:
    lookup = ("c", "lookup_code", {"code": "E11.9"})
    llm.replies = [tool_reply(lookup), tool_reply(lookup), text_reply("E11.9 is billable.")]
    _, answer = await ask(engine_for(llm, llm_max_tool_rounds=2))

    assert [r.body["tool_choice"] for r in llm.received] == ["auto", "auto", "none"]
    assert answer.tools == ("lookup_code", "lookup_code")
    assert answer.text == "E11.9 is billable." and not answer.refused


async def test_a_model_that_still_calls_tools_at_the_limit_gets_no_answer(llm: FakeLLM) -> None:
    lookup = ("c", "lookup_code", {"code": "E11.9"})
    llm.replies = [tool_reply(lookup), tool_reply(lookup)]
    _, answer = await ask(engine_for(llm, llm_max_tool_rounds=1))
    assert answer.refused and answer.text == UNVERIFIED_TEXT
    assert len(llm.received) == 2


# --- (d) failures end with a refused Answer -----------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500),
        Reply(status=401),
        Reply(status=429),
        Reply(delay_s=1.5),  # the client waits 0.5 s
        Reply(["{this is not json"]),
        Reply([chunk({"content": "Half an ans"})], done=False, cut=True),
        Reply([{"error": {"message": "context length exceeded"}}]),
    ],
    ids=["500", "401", "429", "timeout", "malformed", "cut", "error-event"],
)
async def test_an_endpoint_failure_is_a_refused_unavailable_answer(
    llm: FakeLLM, reply: Reply
) -> None:
    llm.replies = [reply]
    _, answer = await ask(engine_for(llm, llm_timeout_s=0.5))
    assert answer.refused and answer.text == UNAVAILABLE_TEXT
    assert answer.engine == "llm" and answer.citations == ()


async def test_a_failure_after_a_tool_round_is_unavailable_too(llm: FakeLLM) -> None:
    llm.replies = [tool_reply(("c", "lookup_code", {"code": "E11.9"})), Reply(status=503)]
    _, answer = await ask(engine_for(llm))
    assert answer.refused and answer.text == UNAVAILABLE_TEXT
    assert answer.tools == ("lookup_code",)


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed at once: nothing listens there
    engine = LLMEngine(settings_for(f"http://127.0.0.1:{port}/v1"), TOOLS)
    _, answer = await ask(engine)
    assert answer.refused and answer.text == UNAVAILABLE_TEXT


async def test_no_endpoint_configured_is_unavailable() -> None:
    _, answer = await ask(LLMEngine(AssistantSettings(), TOOLS))
    assert answer.refused and answer.text == UNAVAILABLE_TEXT


# --- (e) what the endpoint receives ---------------------------------------------------------


async def test_the_endpoint_gets_the_key_model_tools_and_conversation(llm: FakeLLM) -> None:
    llm.replies = [text_reply("I don't know.")]
    context = Context(
        code=("icd-10-cm", "E119"),
        history=(Turn("user", "What is E11.9?"), Turn("assistant", "Type 2 diabetes.")),
    )
    await ask(engine_for(llm, llm_model="my-model-v2"), "Is it billable?", context)

    [request] = llm.received
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert body["model"] == "my-model-v2" and body["stream"] is True
    assert [t["type"] for t in body["tools"]] == ["function", "function"]
    lookup = body["tools"][0]["function"]
    assert lookup["name"] == "lookup_code"
    assert lookup["description"] == TOOLS["lookup_code"].description
    assert lookup["parameters"] == TOOLS["lookup_code"].parameters
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "system", "user", "assistant", "user"]
    assert "only from the results of the tools" in body["messages"][0]["content"]
    assert "Never invent a code" in body["messages"][0]["content"]
    assert "ICD-10-CM E11.9" in body["messages"][1]["content"]
    assert body["messages"][-1] == {"role": "user", "content": "Is it billable?"}


async def test_no_key_no_authorization_header(llm: FakeLLM) -> None:
    llm.replies = [text_reply("I don't know.")]
    await ask(engine_for(llm, llm_api_key=None))
    assert "authorization" not in llm.received[0].headers


class LogRecorder:
    """Stands in for the engine's logger and keeps every event, whatever the level: the test
    run's logging level would filter the info events out before structlog's capture sees them."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **fields: self.entries.append((event, fields))


async def test_the_question_and_answer_are_never_logged(
    llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.replies = [
        tool_reply(("c", "lookup_code", {"code": "E11.9"})),
        text_reply("Jane Doe's E11.9 is billable."),
        Reply(status=500),
    ]
    logs = LogRecorder()
    monkeypatch.setattr(llm_engine, "log", logs)
    await ask(engine_for(llm))
    await ask(engine_for(llm))

    dumped = json.dumps(logs.entries, default=str)
    assert "Jane" not in dumped and "diabetes" not in dumped and "E11.9" not in dumped
    events = [event for event, _ in logs.entries]
    assert events.count("casepilot.llm.start") == 2 and events.count("casepilot.llm.done") == 2
    assert ("casepilot.llm.start", {"question_chars": len(QUESTION), "history": 0}) in logs.entries
    assert "casepilot.llm.unavailable" in events
    assert {"status": 500} in [fields for _, fields in logs.entries]


# --- the real registry, when features/casepilot/tools.py is there ---------------------------


async def test_the_default_registry_is_the_real_tools(llm: FakeLLM) -> None:
    tools = pytest.importorskip("features.casepilot.tools")
    llm.replies = [
        tool_reply(("c1", "lookup_code", {"system": "icd-10-cm", "code": "E11.9"})),
        text_reply("E11.9 is billable ([ICD-10-CM E11.9](/codes/icd-10-cm/E11.9))."),
    ]
    _, answer = await ask(LLMEngine(settings_for(llm.base_url)))

    sent = {t["function"]["name"] for t in llm.received[0].body["tools"]}
    assert sent == set(tools.TOOLS)
    assert {"lookup_code", "search_codes", "ncci_check"} <= sent
    assert not answer.refused and answer.flags == ()
    assert "ICD-10-CM E11.9" in [c.label for c in answer.citations]


async def test_the_real_registry_backs_a_no_such_code_answer(llm: FakeLLM) -> None:
    pytest.importorskip("features.casepilot.tools")
    llm.replies = [
        tool_reply(("c1", "lookup_code", {"code": "E11.99"})),
        text_reply("E11.99 is not an ICD-10-CM code; E11.9 is the code without complications."),
    ]
    _, answer = await ask(LLMEngine(settings_for(llm.base_url)))
    assert not answer.refused and answer.citations
    assert [(f.code, f.problem) for f in answer.flags] == [("E11.99", "unknown")]
    assert answer.text.startswith("E11.99 **[not a valid code]** is not an ICD-10-CM code")
