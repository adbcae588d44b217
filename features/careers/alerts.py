"""(being written)"""

from typing import Any

JOBS: list[Any] = []
SCHEDULES: list[Any] = []
