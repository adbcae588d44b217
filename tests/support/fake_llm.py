"""An in-test server that speaks the OpenAI chat-completions streaming protocol over real HTTP
(chunked server-sent events), answering each request with the next scripted Reply."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One response of the endpoint: SSE events (dicts as JSON, strings as raw data)."""

    events: list[dict[str, Any] | str] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0  # before the status line: longer than the client's timeout = a timeout
    done: bool = True  # end with `data: [DONE]`
    cut: bool = False  # drop the connection after the events, without ending the body


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeLLM:
    """An HTTP/1.1 server on 127.0.0.1 answering each request with the next scripted Reply."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FakeLLM:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for task in self._handlers:  # a delayed reply still waiting (the timeout test)
            task.cancel()
        await asyncio.gather(*self._handlers)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # The client gave up, or the test is over. Python 3.11's stream server reads the
            # handler task's exception, which fails on a cancelled task: end normally instead.
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.strip().split("\r\n")
        method, path, _ = request_line.split(" ")
        headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append(Received(method, path, headers, json.loads(body or b"{}")))
        reply = self.replies.pop(0) if self.replies else Reply(status=500)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            error = b'{"error": {"message": "scripted failure", "type": "server_error"}}'
            writer.write(
                f"HTTP/1.1 {reply.status} Error\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(error)}\r\nConnection: close\r\n\r\n".encode()
                + error
            )
            await writer.drain()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        events = [*reply.events, "[DONE]"] if reply.done else reply.events
        for event in events:
            data = event if isinstance(event, str) else json.dumps(event)
            chunk = f"data: {data}\n\n".encode()
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.005)  # separate TCP writes: the client sees a real stream
        if not reply.cut:
            writer.write(b"0\r\n\r\n")
            await writer.drain()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def text_reply(*pieces: str) -> Reply:
    return Reply(
        [
            chunk({"role": "assistant", "content": ""}),
            *(chunk({"content": p}) for p in pieces),
            chunk({}, "stop"),
        ]
    )


def tool_reply(*calls: tuple[str, str, dict[str, Any]]) -> Reply:
    """The model calling tools (id, name, arguments), each call's arguments in one fragment."""
    return Reply(
        [
            chunk({"role": "assistant", "content": None}),
            *(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": json.dumps(arguments)},
                            }
                        ]
                    }
                )
                for i, (call_id, name, arguments) in enumerate(calls)
            ),
            chunk({}, "tool_calls"),
        ]
    )
