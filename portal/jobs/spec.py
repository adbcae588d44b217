from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """A background job: an async function of JSON-able keyword arguments.

    arq may run a job twice, so `func` must be idempotent. `timeout_s` and `max_tries` are
    explicit per job; a timeout counts as a failed try and is retried like any other.
    """

    name: str
    func: Callable[..., Awaitable[Any]]
    timeout_s: float = 60.0
    max_tries: int = 3
    retry_delay_s: float = 2.0
