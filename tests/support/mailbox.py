"""A real SMTP server (aiosmtpd) in a thread that keeps what it receives, for tests to read."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""

    def link(self, path_part: str) -> str:
        match = re.search(r"https?://\S*" + re.escape(path_part) + r"\S*", self.text)
        if not match:
            raise AssertionError(f"no link with {path_part!r} in mail {self.subject!r}")
        return match.group(0)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        with self.box.lock:
            self.box.messages.append(Received([r.lower() for r in envelope.rcpt_tos], msg))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.port = _free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def find(self, to: str, subject_contains: str = "") -> list[Received]:
        with self.lock:
            return [
                m
                for m in self.messages
                if to.lower() in m.to and subject_contains.lower() in m.subject.lower()
            ]

    async def wait_for(
        self,
        to: str,
        subject_contains: str = "",
        timeout: float = 15.0,  # noqa: ASYNC109 - a polling deadline, as in wait_for_sync
        count: int = 1,
    ) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(to, subject_contains)
            if len(found) >= count:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {to} with {subject_contains!r} within {timeout}s")

    def wait_for_sync(
        self, to: str, subject_contains: str = "", timeout: float = 15.0, count: int = 1
    ) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(to, subject_contains)
            if len(found) >= count:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} with {subject_contains!r} within {timeout}s")
