"""What a running process (web app, worker, CLI) shares: settings, engine, templates, jobs.

Set once at start-up by the app factory, the worker or the CLI; services read it rather than
taking a web request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jinja2 import Environment
from piccolo.engine.base import Engine

from portal.feature import Feature
from portal.jobs.service import JobRegistry
from portal.recent_reads import RecentReads
from portal.settings import Settings


class KeyValueStore(Protocol):
    """The subset of litestar's Store the services use (Redis in full mode, files embedded)."""

    async def get(self, key: str, renew_for: int | None = None) -> bytes | None: ...
    async def set(self, key: str, value: str | bytes, expires_in: int | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    features: list[Feature]
    engine: Engine
    jinja: Environment
    jobs: JobRegistry
    kv: KeyValueStore
    meter_cache: KeyValueStore  # the meters' hot path: Redis in full mode, memory embedded
    # Per-process caches of rows read a moment ago, by what they hold (see recent()).
    recent_reads: dict[str, RecentReads] = field(default_factory=dict)

    def recent(self, name: str) -> RecentReads:
        """The process's RecentReads for `name`, kept for `account_cache_s`."""
        reads = self.recent_reads.get(name)
        if reads is None:
            reads = self.recent_reads[name] = RecentReads(self.settings.security.account_cache_s)
        return reads


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("portal runtime not started (create_app, worker or CLI sets it)")
    return _current
