"""Per-user FIFO locks inside one process; an entry lives only while someone holds or waits for it."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _UserLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class UserLocks:
    """One asyncio.Lock per user (FIFO), dropped when unused, so the table never grows with the user count."""

    def __init__(self) -> None:
        self._locks: dict[str, _UserLock] = {}

    @asynccontextmanager
    async def hold(self, user: str) -> AsyncIterator[None]:
        entry = self._locks.setdefault(user, _UserLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[user]

    def __len__(self) -> int:
        """How many users currently hold or wait for their lock."""
        return len(self._locks)
