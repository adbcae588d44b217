"""Asking CasePilot: which engine answers, and an answer's run from first words to storage.

An answer is written by a task of its own: the reader who asked may close the page or lose the
stream, and the answer is still finished and stored (the conversation shows it next time).
No web framework here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog

from features.casepilot import conversations
from features.casepilot.conversations import ConversationView
from features.casepilot.engine import Answer, AnswerEngine, Context
from portal import runtime

log = structlog.get_logger("casepilot")

MAX_QUESTION_CHARS = 2000
UNAVAILABLE = (
    "CasePilot could not finish this answer. Nothing was charged twice; please ask again, "
    "[search the codes](/case2code) or [send a consult](/consultant)."
)

_running: set[asyncio.Task[None]] = set()  # strong references: a task nobody awaits lives on


class QuestionError(ValueError):
    """A question that cannot be asked as written; the message says why."""


def clean_question(raw: str) -> str:
    question = (raw or "").strip()
    if not question:
        raise QuestionError("Type a question first.")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"That question is {len(question):,} characters long; keep it under "
            f"{MAX_QUESTION_CHARS:,} (paste a long case into CaseConsultant instead)."
        )
    return question


def current_engine() -> AnswerEngine:
    """The LLM engine when one is configured, else the offline engine."""
    settings = runtime.current().settings.assistant
    if settings.llm_enabled:
        from features.casepilot.llm_engine import LLMEngine

        return LLMEngine(settings)
    from features.casepilot.offline_engine import OfflineEngine

    return OfflineEngine()


class AnswerRun:
    """One answer being written: pieces for whoever streams it, the Answer stored at the end."""

    def __init__(
        self, conversation: ConversationView, message_id: int, question: tuple[int, str]
    ) -> None:
        self.conversation = conversation
        self.message_id = message_id
        self.question_id, self.question = question
        self._queue: asyncio.Queue[str | Answer] = asyncio.Queue()
        self.task = asyncio.create_task(self._write())
        _running.add(self.task)
        self.task.add_done_callback(_running.discard)

    async def _write(self) -> None:
        answer: Answer | None = None
        try:
            code = (
                (self.conversation.code_system, self.conversation.code)
                if self.conversation.code_system and self.conversation.code
                else None
            )
            context = Context(
                code=code,
                history=await conversations.history(self.conversation, self.question_id),
            )
            async for piece in current_engine().answer(self.question, context):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    self._queue.put_nowait(piece)
        except Exception:
            # The question may hold health information: log which message failed, never its text.
            log.exception("answer failed", message_id=self.message_id)
        if answer is None:
            answer = Answer(text=UNAVAILABLE, citations=(), engine="none", refused=True)
        await conversations.finish(self.message_id, answer)
        self._queue.put_nowait(answer)

    async def pieces(self) -> AsyncIterator[str | Answer]:
        """The text as it is written, then the stored Answer."""
        while True:
            piece = await self._queue.get()
            yield piece
            if isinstance(piece, Answer):
                return

    async def result(self) -> Answer:
        async for piece in self.pieces():
            if isinstance(piece, Answer):
                return piece
        raise RuntimeError("an answer run ended without an answer")  # pieces() always ends so


async def start_answer(conversation: ConversationView, message_id: int) -> AnswerRun | None:
    """Claim a pending answer and start writing it; None when another run has it already."""
    if not await conversations.claim(message_id):
        return None
    question = await conversations.question_for(conversation, message_id)
    return AnswerRun(conversation, message_id, question)


async def wait_for_answer(
    conversation: ConversationView, message_id: int, timeout_s: float = 60.0, every_s: float = 0.3
) -> conversations.MessageView | None:
    """An answer another run is writing, once stored (None if it is not done in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        found = await conversations.message(conversation, message_id)
        if found is None or not found.pending:
            return found
        await asyncio.sleep(every_s)
    return None
