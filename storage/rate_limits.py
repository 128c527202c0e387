"""Per-user message rate limits (fixed windows). The session stores apply them when a message opens a session:
in process memory here; in Redis inside the script that takes the user's lock (storage/redis_sessions.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class RateLimit:
    """At most `messages` per user in each window of `window_seconds`."""

    messages: int
    window_seconds: int
    clock: Callable[[], float] = time.time

    def window(self) -> int:
        """The number of the current window."""
        return int(self.clock() // self.window_seconds)


class MemoryRateLimiter:
    """Counts per user in the current window; the whole table is dropped when the window moves on."""

    def __init__(self, limit: RateLimit) -> None:
        self._limit = limit
        self._current = -1
        self._counts: dict[str, int] = {}

    def allow(self, user: str) -> bool:
        """Count one message of the user; False when over the limit of the current window."""
        window = self._limit.window()
        if window != self._current:
            self._current, self._counts = window, {}
        self._counts[user] = self._counts.get(user, 0) + 1
        return self._counts[user] <= self._limit.messages
