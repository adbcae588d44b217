"""What a feature hands the core: the only way `portal` knows about features."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.jobs.schedule import Schedule
from portal.jobs.spec import JobSpec
from portal.mail.inbound import AddressCheck, MailHandler


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    blurb: str = ""


@dataclass(frozen=True)
class Feature:
    name: str
    route_handlers: Sequence[Any] = ()
    piccolo_app: str | None = None  # dotted path of the module holding APP_CONFIG
    jobs: Sequence[JobSpec] = ()
    # Jobs (of any feature's `jobs`) enqueued once a day at a UTC time: arq cron in the full
    # mode, a ticker task of the web process in the embedded mode.
    schedules: Sequence[Schedule] = ()
    nav: NavEntry | None = None
    template_dir: Path | None = None
    # Called with an account id when the account is deleted: remove what the feature holds.
    on_account_deleted: Callable[[int], Awaitable[None]] | None = None
    # Click commands the feature adds to `portal` (e.g. `portal data ...`).
    commands: Sequence[Any] = ()
    # Started in the background when a web process starts (e.g. loading a search index), so
    # the first request does not wait for it; cancelled at shutdown.
    warm_up: Callable[[], Awaitable[None]] | None = None
    # Mail received by `portal smtpd`, once per recipient: True when the feature took it (see
    # portal/mail/inbound.py). The raw mail is not stored by the core; the feature decides.
    inbound_mail: MailHandler | None = None
    # The addresses inbound_mail takes (a syntactic check): smtpd refuses others at RCPT time.
    # Without it smtpd accepts any recipient and answers 550 after DATA if no feature took it.
    inbound_addresses: AddressCheck | None = None
