"""In-memory session store (tests, benchmarks): state per user with idle expiry and per-user locks."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Callable

from bot.dialogue.state import Conversation, decode, encode
from bot.ports import TooManyMessages
from storage.local_locks import UserLocks
from storage.rate_limits import MemoryRateLimiter, RateLimit


class _MemorySession:
    def __init__(self, store: "MemorySessionStore", user: str) -> None:
        self._store, self._user = store, user

    async def load(self) -> Conversation | None:
        return self._store._load(self._user)

    async def save(self, state: Conversation) -> None:
        self._store._data[self._user] = (self._store._now(), encode(state))


class MemorySessionStore:
    """Keeps serialised state (as Redis would) so nothing shares mutable objects between turns."""

    def __init__(self, idle_seconds: int, rate: RateLimit | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle_seconds
        self._rate = MemoryRateLimiter(rate) if rate else None
        self._now = monotonic
        self._data: dict[str, tuple[float, bytes]] = {}
        self._locks = UserLocks()

    @asynccontextmanager
    async def session(self, user: str) -> AsyncIterator[_MemorySession]:
        """Serialise one user's messages (FIFO); the lock entry is dropped when nobody holds or waits for it."""
        if self._rate and not self._rate.allow(user):
            raise TooManyMessages(user)
        async with self._locks.hold(user):
            yield _MemorySession(self, user)

    def _load(self, user: str) -> Conversation | None:
        stored = self._data.get(user)
        if stored is None:
            return None
        if self._now() - stored[0] > self._idle:
            del self._data[user]
            return None
        return decode(stored[1])

    def purge_idle(self) -> int:
        """Drop expired conversations; returns how many."""
        now = self._now()
        expired = [u for u, (at, _) in self._data.items() if now - at > self._idle]
        for user in expired:
            del self._data[user]
        return len(expired)

    def active_locks(self) -> int:
        """How many users currently hold or wait for their lock."""
        return len(self._locks)

    async def close(self) -> None:
        self._data.clear()
