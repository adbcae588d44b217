"""Conversations and messages: who owns them, what they hold. No web framework here.

An account's conversations are kept until deleted. A guest's belong to the guest's signed cookie
id and last a day after their last question (GUEST_TTL): a visit's worth, not an archive.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from features.casepilot.engine import Answer, Turn
from features.casepilot.tables import Conversation, Message

GUEST_TTL = timedelta(days=1)
STALE_CLAIM = timedelta(minutes=2)  # a stream that died mid-answer: another may take it over
TITLE_CHARS = 80
HISTORY_TURNS = 6


@dataclass(frozen=True)
class Owner:
    """Who asks: an account, or a guest known by the id in its signed cookie."""

    account_id: int | None
    guest_id: str | None = None


@dataclass(frozen=True)
class ConversationView:
    id: int
    key: str
    title: str
    account_id: int | None
    guest_id: str | None
    code_system: str | None
    code: str | None
    updated_at: datetime

    @property
    def url(self) -> str:
        return f"/casepilot/c/{self.key}"


@dataclass(frozen=True)
class MessageView:
    id: int
    role: str
    text: str
    status: str
    engine: str = ""
    intent: str = ""
    refused: bool = False
    citations: list[dict[str, str]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.status != "done"


def _now() -> datetime:
    return datetime.now(UTC)


def _title(question: str) -> str:
    flat = " ".join(question.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def _conversation(row: dict[str, Any]) -> ConversationView:
    return ConversationView(
        row["id"],
        row["key"],
        row["title"],
        row["account_id"],
        row["guest_id"],
        row["code_system"],
        row["code"],
        row["updated_at"],
    )


def _message(row: dict[str, Any]) -> MessageView:
    return MessageView(
        id=row["id"],
        role=row["role"],
        text=row["text"],
        status=row["status"],
        engine=row["engine"],
        intent=row["intent"],
        refused=row["refused"],
        citations=row["citations"] or [],
        flags=row["flags"] or [],
        created_at=row["created_at"],
    )


def owns(owner: Owner, conversation: ConversationView) -> bool:
    if conversation.account_id is not None:
        return owner.account_id == conversation.account_id
    return (
        owner.account_id is None
        and owner.guest_id is not None
        and owner.guest_id == conversation.guest_id
    )


async def _owned(owner: Owner, where: Any) -> ConversationView | None:
    row = await Conversation.select().where(where).first()
    if row is None:
        return None
    found = _conversation(row)
    return found if owns(owner, found) else None


async def get(owner: Owner, key: str) -> ConversationView | None:
    """The owner's conversation with this key; None for anybody else's (shown as not found)."""
    return await _owned(owner, Conversation.key == key)


async def by_id(owner: Owner, conversation_id: int) -> ConversationView | None:
    return await _owned(owner, Conversation.id == conversation_id)


async def prune_guests(now: datetime) -> None:
    """Guests' conversations a day after their last question: gone, messages and all."""
    stale = await Conversation.select(Conversation.id).where(
        Conversation.account_id.is_null() & (Conversation.updated_at < now - GUEST_TTL)
    )
    ids = [r["id"] for r in stale]
    if ids:
        await Message.delete().where(Message.conversation_id.is_in(ids))
        await Conversation.delete().where(Conversation.id.is_in(ids))


async def start(owner: Owner, question: str, code: tuple[str, str] | None) -> ConversationView:
    now = _now()
    if owner.account_id is None:
        await prune_guests(now)
    row = Conversation(
        key=secrets.token_urlsafe(18)[:24],
        account_id=owner.account_id,
        guest_id=owner.guest_id if owner.account_id is None else None,
        title=_title(question),
        code_system=code[0] if code else None,
        code=code[1] if code else None,
        created_at=now,
        updated_at=now,
    )
    await row.save()
    return _conversation(row.to_dict())


async def listing(owner: Owner, limit: int = 50) -> list[ConversationView]:
    """The owner's conversations, newest first (a guest's: those of the last day)."""
    if owner.account_id is not None:
        mine = Conversation.account_id == owner.account_id
    elif owner.guest_id:
        mine = Conversation.account_id.is_null() & (Conversation.guest_id == owner.guest_id)
        mine = mine & (Conversation.updated_at >= _now() - GUEST_TTL)
    else:
        return []
    rows = (
        await Conversation.select()
        .where(mine)
        .order_by(Conversation.updated_at, ascending=False)
        .limit(limit)
    )
    return [_conversation(r) for r in rows]


async def delete(owner: Owner, key: str) -> bool:
    found = await get(owner, key)
    if found is None:
        return False
    await _delete(found.id)
    return True


async def _delete(conversation_id: int) -> None:
    await Message.delete().where(Message.conversation_id == conversation_id)
    await Conversation.delete().where(Conversation.id == conversation_id)


async def drop_if_empty(conversation: ConversationView) -> None:
    """Remove a conversation started for a question that turned out to be a repeat."""
    if not await Message.exists().where(Message.conversation_id == conversation.id):
        await _delete(conversation.id)


async def messages(conversation: ConversationView) -> list[MessageView]:
    rows = (
        await Message.select()
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id)
        .output(load_json=True)
    )
    return [_message(r) for r in rows]


async def history(conversation: ConversationView, before_id: int) -> tuple[Turn, ...]:
    """The last turns before a message, for an engine's context."""
    rows = (
        await Message.select(Message.role, Message.text)
        .where(
            (Message.conversation_id == conversation.id)
            & (Message.id < before_id)
            & (Message.status == "done")
        )
        .order_by(Message.id, ascending=False)
        .limit(HISTORY_TURNS)
    )
    return tuple(Turn(r["role"], r["text"]) for r in reversed(rows))


async def question_by_nonce(nonce: str) -> tuple[int, int] | None:
    """(conversation id, answer message id) of a question already sent from this form."""
    row = (
        await Message.select(Message.id, Message.conversation_id)
        .where((Message.nonce == nonce) & (Message.role == "user"))
        .first()
    )
    if row is None:
        return None
    answer = (
        await Message.select(Message.id)
        .where((Message.conversation_id == row["conversation_id"]) & (Message.id > row["id"]))
        .order_by(Message.id)
        .first()
    )
    return row["conversation_id"], answer["id"] if answer else 0


async def ask(conversation: ConversationView, question: str, nonce: str | None) -> int | None:
    """Store a question and an empty answer to fill; the answer's id, or None when this nonce
    was sent already (a second click, or two racing requests: the unique index decides)."""
    inserted = (
        await Message.insert(
            Message(
                conversation_id=conversation.id,
                role="user",
                text=question,
                nonce=nonce,
                created_at=_now(),
            )
        )
        .on_conflict(target=Message.nonce, action="DO NOTHING")
        .returning(Message.id)
    )
    if not inserted:
        return None
    answer = Message(
        conversation_id=conversation.id, role="assistant", status="pending", created_at=_now()
    )
    await answer.save()
    await Conversation.update({Conversation.updated_at: _now()}).where(
        Conversation.id == conversation.id
    )
    return int(answer.id)


async def message(conversation: ConversationView, message_id: int) -> MessageView | None:
    row = (
        await Message.select()
        .where((Message.id == message_id) & (Message.conversation_id == conversation.id))
        .output(load_json=True)
        .first()
    )
    return _message(row) if row else None


async def question_for(conversation: ConversationView, answer_id: int) -> tuple[int, str]:
    """(id, text) of the question an answer answers."""
    row = (
        await Message.select(Message.id, Message.text)
        .where(
            (Message.conversation_id == conversation.id)
            & (Message.id < answer_id)
            & (Message.role == "user")
        )
        .order_by(Message.id, ascending=False)
        .first()
    )
    return (row["id"], row["text"]) if row else (answer_id, "")


async def claim(message_id: int) -> bool:
    """Take a pending answer to write it; True for exactly one of several racing streams."""
    now = _now()
    claimed = (
        await Message.update({Message.status: "running", Message.claimed_at: now})
        .where(
            (Message.id == message_id)
            & (
                (Message.status == "pending")
                | ((Message.status == "running") & (Message.claimed_at < now - STALE_CLAIM))
            )
        )
        .returning(Message.id)
    )
    return bool(claimed)


async def finish(message_id: int, answer: Answer) -> None:
    await Message.update(
        {
            Message.text: answer.text,
            Message.status: "done",
            Message.engine: answer.engine,
            Message.intent: answer.intent[:40],
            Message.refused: answer.refused,
            Message.citations: [
                {"label": c.label, "url": c.url, "release": c.release} for c in answer.citations
            ],
            Message.flags: [
                {"code": f.code, "system": f.system, "problem": f.problem, "note": f.note}
                for f in answer.flags
            ],
        }
    ).where(Message.id == message_id)


async def delete_account_data(account_id: int) -> None:
    ids = [
        r["id"]
        for r in await Conversation.select(Conversation.id).where(
            Conversation.account_id == account_id
        )
    ]
    if ids:
        await Message.delete().where(Message.conversation_id.is_in(ids))
        await Conversation.delete().where(Conversation.id.is_in(ids))
