"""Redis session store: encrypted state with an idle TTL, a per-user lease lock with fencing on save.

Keys (see SessionKeys): `<prefix>:conv:<user>` holds the state, `<prefix>:lock:<user>` the token of the
instance currently handling that user's message. A save only succeeds while the saver's token is still
the lock's value (checked atomically in Lua), so an instance whose lease ran out can never overwrite
what a newer holder wrote.
"""
from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.dialogue.state import Conversation
from bot.ports import SessionUnavailable
from storage.cipher import FieldCipher

_SAVE_IF_HOLDER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE_IF_HOLDER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


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
    def __init__(self, store: "RedisSessionStore", user: str, token: str) -> None:
        self._store, self._user, self._token = store, user, token

    async def load(self) -> Conversation | None:
        return await self._store._load(self._user)

    async def save(self, state: Conversation) -> None:
        await self._store._save(self._user, self._token, state)


class RedisSessionStore:
    """SessionStore on Redis, shared by any number of app instances."""

    def __init__(self, client: Redis, cipher: FieldCipher, idle_seconds: int,
                 keys: SessionKeys = SessionKeys(), lock: LockSettings = LockSettings()) -> None:
        self._redis, self._cipher, self._idle = client, cipher, idle_seconds
        self._keys, self._lock = keys, lock
        self._save_script = client.register_script(_SAVE_IF_HOLDER)
        self._release_script = client.register_script(_RELEASE_IF_HOLDER)
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    @classmethod
    def from_url(cls, url: str, cipher: FieldCipher, idle_seconds: int, **kwargs: object) -> "RedisSessionStore":
        client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, cipher, idle_seconds, **kwargs)  # type: ignore[arg-type]

    @asynccontextmanager
    async def session(self, user: str) -> AsyncIterator[_RedisSession]:
        """Hold the user's lock: first this instance's FIFO lock, then the shared Redis lease."""
        local, waiting = self._local.get(user, (asyncio.Lock(), 0))
        self._local[user] = (local, waiting + 1)
        try:
            async with local:
                token = await self._acquire(user)
                try:
                    yield _RedisSession(self, user, token)
                finally:
                    await self._release(user, token)
        finally:
            lock, waiting = self._local[user]
            if waiting == 1:
                del self._local[user]
            else:
                self._local[user] = (lock, waiting - 1)

    async def _acquire(self, user: str) -> str:
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock.wait_ms / 1000
        try:
            while not await self._redis.set(self._keys.lock(user), token, nx=True, px=self._lock.lease_ms):
                if loop.time() >= deadline:
                    raise SessionUnavailable(f"lock of {user} busy for {self._lock.wait_ms} ms")
                await asyncio.sleep(self._lock.poll_ms / 1000)
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        return token

    async def _release(self, user: str, token: str) -> None:
        try:
            await self._release_script(keys=[self._keys.lock(user)], args=[token])
        except RedisError:
            pass  # the lease expires by itself

    async def _load(self, user: str) -> Conversation | None:
        try:
            stored = await self._redis.get(self._keys.state(user))
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        if stored is None:
            return None
        plain = zlib.decompress(self._cipher.decrypt_bytes(stored))
        return Conversation.model_validate_json(plain)

    async def _save(self, user: str, token: str, state: Conversation) -> None:
        blob = self._cipher.encrypt_bytes(zlib.compress(state.model_dump_json(exclude_defaults=True).encode(), 6))
        try:
            saved = await self._save_script(keys=[self._keys.lock(user), self._keys.state(user)],
                                            args=[token, blob, self._idle])
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        if not saved:
            raise SessionUnavailable(f"lock of {user} was lost before saving (lease {self._lock.lease_ms} ms)")

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
