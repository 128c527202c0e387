"""Redis session store: encrypted state with an idle TTL, a per-user lease lock with fencing on save.

Keys (see SessionKeys): `<prefix>:conv:<user>` holds the state, `<prefix>:lock:<user>` the token of the
instance currently handling that user's message. A save only succeeds while the saver's token is still
the lock's value (checked atomically in Lua), so an instance whose lease ran out can never overwrite
what a newer holder wrote.
"""
from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.dialogue.state import Conversation
from bot.ports import SessionUnavailable
from storage.cipher import FieldCipher
from storage.redis_pipe import PipelinedRedis, Script

# Take the lock and read the state in one round trip: {taken, state}.
_ACQUIRE_AND_LOAD = Script("""
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('get', KEYS[2])}
end
return {0, false}
""")
# Save only while holding the lock (fencing), and release it, in one round trip.
_SAVE_AND_RELEASE = Script("""
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
  redis.call('del', KEYS[1])
  return 1
end
return 0
""")
_RELEASE_IF_HOLDER = Script("""
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
""")


@dataclass(frozen=True)
class SessionKeys:
    """Builds every Redis key of the session store from one prefix."""

    prefix: str = "zwb"

    def state(self, user: str) -> str:
        return f"{self.prefix}:conv:{user}"

    def lock(self, user: str) -> str:
        return f"{self.prefix}:lock:{user}"


@dataclass(frozen=True)
class LockSettings:
    lease_ms: int = 15_000      # a message must be handled within this; longer work loses the lock
    wait_ms: int = 8_000        # how long a message waits for the previous one of the same user
    poll_ms: int = 10


class _RedisSession:
    """The user's state, read when the lock was taken; saving releases the lock in the same round trip."""

    def __init__(self, store: "RedisSessionStore", user: str, token: str, stored: bytes | None) -> None:
        self._store, self._user, self._token, self._stored = store, user, token, stored
        self.released = False

    async def load(self) -> Conversation | None:
        return None if self._stored is None else self._store._decode(self._stored)

    async def save(self, state: Conversation) -> None:
        await self._store._save_and_release(self._user, self._token, state)
        self.released = True


class RedisSessionStore:
    """SessionStore on Redis, shared by any number of app instances. Two round trips per message."""

    def __init__(self, client: PipelinedRedis, cipher: FieldCipher, idle_seconds: int,
                 keys: SessionKeys = SessionKeys(), lock: LockSettings = LockSettings()) -> None:
        self._redis, self._cipher, self._idle = client, cipher, idle_seconds
        self._keys, self._lock = keys, lock
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def session(self, user: str) -> AsyncIterator[_RedisSession]:
        """Hold the user's lock: first this instance's FIFO lock, then the shared Redis lease."""
        local, waiting = self._local.get(user, (asyncio.Lock(), 0))
        self._local[user] = (local, waiting + 1)
        try:
            async with local:
                session = await self._acquire(user)
                try:
                    yield session
                finally:
                    if not session.released:
                        await self._release(user, session._token)
        finally:
            lock, waiting = self._local[user]
            if waiting == 1:
                del self._local[user]
            else:
                self._local[user] = (lock, waiting - 1)

    async def _acquire(self, user: str) -> _RedisSession:
        token = os.urandom(12).hex()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock.wait_ms / 1000
        keys = [self._keys.lock(user), self._keys.state(user)]
        try:
            while True:
                taken, stored = await self._redis.eval(_ACQUIRE_AND_LOAD, keys, [token, self._lock.lease_ms])
                if taken:
                    return _RedisSession(self, user, token, stored)
                if loop.time() >= deadline:
                    raise SessionUnavailable(f"lock of {user} busy for {self._lock.wait_ms} ms")
                await asyncio.sleep(self._lock.poll_ms / 1000)
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc

    async def _release(self, user: str, token: str) -> None:
        try:
            await self._redis.eval(_RELEASE_IF_HOLDER, [self._keys.lock(user)], [token])
        except RedisError:
            pass  # the lease expires by itself

    def _decode(self, stored: bytes) -> Conversation:
        return Conversation.model_validate_json(zlib.decompress(self._cipher.decrypt_bytes(stored)))

    async def _save_and_release(self, user: str, token: str, state: Conversation) -> None:
        blob = self._cipher.encrypt_bytes(zlib.compress(state.model_dump_json(exclude_defaults=True).encode(), 6))
        try:
            saved = await self._redis.eval(_SAVE_AND_RELEASE, [self._keys.lock(user), self._keys.state(user)],
                                           [token, blob, self._idle])
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        if not saved:
            raise SessionUnavailable(f"lock of {user} was lost before saving (lease {self._lock.lease_ms} ms)")

    async def close(self) -> None:
        await self._redis.close()
