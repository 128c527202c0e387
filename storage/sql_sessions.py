"""SQL session store (the embedded default): conversations survive a restart of the process.

One row per user in `conversations`: the encrypted state, when it was saved, and the lease of whoever handles
the user's current message. Taking the lock and reading the state is one transaction (an UPDATE … RETURNING that
only succeeds on a free or expired lease, or an INSERT for a new user); saving and releasing is another, an UPDATE
that only succeeds while the saver's token is still the lease's (fencing, as in storage/redis_sessions.py). So two
processes on one database never run one user's messages at once, and a process whose lease ran out (or that was
killed) can never overwrite what a newer holder wrote. Inside one process a FIFO lock queues the user's messages
first, so they do not poll the database for each other. The rate limit is counted in process memory.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dialogue.state import Conversation
from bot.ports import SessionUnavailable, TooManyMessages
from storage import tables
from storage.cipher import FieldCipher
from storage.local_locks import UserLocks
from storage.rate_limits import MemoryRateLimiter, RateLimit
from storage.redis_sessions import LockSettings
from storage.session_codec import open_state, seal_state

_rows = tables.conversations


class _SqlSession:
    """The user's state as read when the lock was taken; saving releases the lock in the same statement."""

    def __init__(self, store: "SqlSessionStore", user: str, token: str, stored: bytes | None) -> None:
        self._store, self._user, self._token, self._stored = store, user, token, stored
        self.released = False

    async def load(self) -> Conversation | None:
        return None if self._stored is None else open_state(self._store._cipher, self._stored)

    async def save(self, state: Conversation) -> None:
        await self._store._save_and_release(self._user, self._token, state)
        self.released = True


class SqlSessionStore:
    """SessionStore on the application's database (SQLite or PostgreSQL), safe across processes."""

    def __init__(self, engine: AsyncEngine, cipher: FieldCipher, idle_seconds: int,
                 lock: LockSettings = LockSettings(), rate: RateLimit | None = None,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self._engine, self._cipher, self._idle_ms = engine, cipher, idle_seconds * 1000
        self._lock, self._now = lock, wall_ms
        self._rate = MemoryRateLimiter(rate) if rate else None
        self._local = UserLocks()
        self._instance, self._tokens = os.urandom(8).hex(), itertools.count()

    @asynccontextmanager
    async def session(self, user: str) -> AsyncIterator[_SqlSession]:
        """Hold the user's lock (this process's FIFO lock, then the row's lease) with the state read."""
        if self._rate and not self._rate.allow(user):
            raise TooManyMessages(user)
        async with self._local.hold(user):
            session = await self._acquire(user)
            try:
                yield session
            finally:
                if not session.released:
                    await self._release(user, session._token)

    async def _acquire(self, user: str) -> _SqlSession:
        token = f"{self._instance}:{next(self._tokens)}"
        deadline = asyncio.get_running_loop().time() + self._lock.wait_ms / 1000
        while True:
            try:
                taken, stored = await self._try_take(user, token)
            except DBAPIError as exc:
                raise SessionUnavailable(f"database: {type(exc.orig).__name__}") from exc
            if taken:
                return _SqlSession(self, user, token, stored)
            if asyncio.get_running_loop().time() >= deadline:
                raise SessionUnavailable(f"lock of {user} busy for {self._lock.wait_ms} ms")
            await asyncio.sleep(self._lock.poll_ms / 1000)

    async def _try_take(self, user: str, token: str) -> tuple[bool, bytes | None]:
        """Take a free or expired lease and read the state, or make the row of a new user, in one transaction."""
        now = self._now()
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                _rows.update()
                .where(_rows.c.user_id == user,
                       sa.or_(_rows.c.lock_token.is_(None), _rows.c.lock_until_ms < now))
                .values(lock_token=token, lock_until_ms=now + self._lock.lease_ms)
                .returning(_rows.c.state, _rows.c.saved_ms))).first()
            if row is not None:
                fresh = row.state is not None and row.saved_ms is not None and now - row.saved_ms <= self._idle_ms
                return True, row.state if fresh else None
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            inserted = await conn.execute(dialect.insert(_rows).values(
                user_id=user, lock_token=token, lock_until_ms=now + self._lock.lease_ms).on_conflict_do_nothing())
            return inserted.rowcount == 1, None

    async def _save_and_release(self, user: str, token: str, state: Conversation) -> None:
        sealed = seal_state(self._cipher, state)
        try:
            async with self._engine.begin() as conn:
                saved = await conn.execute(
                    _rows.update().where(_rows.c.user_id == user, _rows.c.lock_token == token)
                    .values(state=sealed, saved_ms=self._now(), lock_token=None, lock_until_ms=None))
        except DBAPIError as exc:
            raise SessionUnavailable(f"database: {type(exc.orig).__name__}") from exc
        if saved.rowcount != 1:
            raise SessionUnavailable(f"lock of {user} was lost before saving (lease {self._lock.lease_ms} ms)")

    async def _release(self, user: str, token: str) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_rows.update().where(_rows.c.user_id == user, _rows.c.lock_token == token)
                                   .values(lock_token=None, lock_until_ms=None))
        except DBAPIError:
            pass  # the lease expires by itself

    async def purge_idle(self) -> int:
        """Delete conversations idle for longer than the idle time (and rows never saved) that nobody holds."""
        now = self._now()
        async with self._engine.begin() as conn:
            result = await conn.execute(_rows.delete().where(
                sa.or_(_rows.c.saved_ms.is_(None), _rows.c.saved_ms < now - self._idle_ms),
                sa.or_(_rows.c.lock_token.is_(None), _rows.c.lock_until_ms < now)))
        return result.rowcount

    def active_locks(self) -> int:
        """How many users of this process currently hold or wait for their lock."""
        return len(self._local)

    async def close(self) -> None:
        return None  # the engine belongs to the stores and is disposed by them
