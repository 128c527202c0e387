"""Redis session store: encrypted state with an idle TTL, a per-user lease lock with fencing on save, and the
per-user rate limit, in two round trips per message.

Keys (see SessionKeys): `<prefix>:{<user>}:conv` holds the state, `<prefix>:{<user>}:lock` the token of the
instance currently handling that user's message, `<prefix>:{<user>}:rate:<window>` the user's message count
in a rate-limit window. The `{<user>}` hash tag puts every key of one user in one Redis Cluster slot, so each
script's keys live on one node. A save only succeeds while the saver's token is still the lock's value
(checked atomically in Lua), so an instance whose lease ran out can never overwrite what a newer holder wrote.
The scripts run on a ScriptRunner: the pipelined connection, or redis-py on one node or a Cluster
(storage/redis_clients.py picks one from the `redis_client` setting).
"""
from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.dialogue.state import Conversation
from bot.ports import SessionUnavailable, TooManyMessages
from storage.cipher import FieldCipher
from storage.rate_limits import RateLimit
from storage.redis_scripts import COUNT_ONLY, OVER_LIMIT, Script, ScriptRunner
from storage.session_codec import open_state, seal_state

# Count the message (unless the limit ARGV[3] is 0), take the lock and read the state, in one round trip:
# {1, state} taken, {0, nil} busy, {-1, nil} over the rate limit (nothing taken). KEYS[4], when given, is the
# state's key in the layout before hash tags, read when the state has none yet.
_ACQUIRE_AND_LOAD = Script(OVER_LIMIT + """
if ARGV[3] ~= '0' and over_limit(KEYS[3], ARGV[3], ARGV[4]) then
  return {-1, false}
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local state = redis.call('get', KEYS[2])
  if not state and KEYS[4] then state = redis.call('get', KEYS[4]) end
  return {1, state}
end
return {0, false}
""")
# Save only while holding the lock (fencing), and release it, in one round trip; KEYS[3], when given, is the
# state's key in the old layout, dropped once the state lives under the new one.
_SAVE_AND_RELEASE = Script("""
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
  redis.call('del', KEYS[1])
  if KEYS[3] then redis.call('del', KEYS[3]) end
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
    """Builds every per-user Redis key: `<prefix>:{<user>}:<what>`. Redis Cluster hashes only the part in
    braces, so all keys of one user share a slot (and a node), whatever the user id contains."""

    prefix: str = "zwb"

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            raise ValueError(f"a Redis key prefix cannot contain braces (they would be the hash tag): {self.prefix}")

    def _of(self, user: str, what: str) -> str:
        if not user:
            raise ValueError("an empty user id has no hash tag")
        return f"{self.prefix}:{{{user}}}:{what}"

    def state(self, user: str) -> str:
        return self._of(user, "conv")

    def lock(self, user: str) -> str:
        return self._of(user, "lock")

    def rate(self, user: str, window: int) -> str:
        return self._of(user, f"rate:{window}")

    def legacy_state(self, user: str) -> str:
        """The state's key before hash tags (releases up to issue 12); read until those conversations expired."""
        return f"{self.prefix}:conv:{user}"


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


class _Turn:
    """RedisSessionStore.session: a class rather than an @asynccontextmanager, whose generator and the event
    loop's bookkeeping of async generators cost 2% of a chat turn's CPU. A lease left unsaved is released."""

    __slots__ = ("_store", "_user", "_local", "_session")

    def __init__(self, store: "RedisSessionStore", user: str) -> None:
        self._store, self._user = store, user

    async def __aenter__(self) -> _RedisSession:
        store, user = self._store, self._user
        local, waiting = store._enter(user)
        try:
            if waiting:
                await store._count_only(user)
            await local.acquire()
            try:
                self._session = await store._acquire(user, counted=bool(waiting))
            except BaseException:
                local.release()
                raise
        except BaseException:
            store._leave(user)
            raise
        self._local = local
        return self._session

    async def __aexit__(self, *exc: object) -> None:
        try:
            if not self._session.released:
                await self._store._release(self._user, self._session._token)
        finally:
            self._local.release()
            self._store._leave(self._user)


class RedisSessionStore:
    """SessionStore on Redis, shared by any number of app instances. Two round trips per message: count + lock +
    read, then save + release. `read_legacy_keys` also reads (and on save drops) a state stored under the key
    layout without hash tags: on a single node only, since that key lives in another Cluster slot."""

    def __init__(self, client: ScriptRunner, cipher: FieldCipher, idle_seconds: int,
                 keys: SessionKeys = SessionKeys(), lock: LockSettings = LockSettings(),
                 rate: RateLimit | None = None, read_legacy_keys: bool = False) -> None:
        self._redis, self._cipher, self._idle = client, cipher, idle_seconds
        self._keys, self._lock, self._limit = keys, lock, rate
        self._legacy = read_legacy_keys
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}
        self._instance, self._tokens = os.urandom(8).hex(), itertools.count()

    def session(self, user: str) -> "_Turn":
        """Hold the user's lock: first this instance's FIFO lock, then the shared Redis lease. The message is
        counted against the rate limit with the lease; one that must queue behind another message of the same
        user is counted before it queues, so a flood is refused at once rather than after the queue."""
        return _Turn(self, user)

    def _enter(self, user: str) -> tuple[asyncio.Lock, int]:
        """This instance's lock of the user and how many messages held or waited for it before this one."""
        entry = self._local.get(user)
        local, waiting = entry if entry is not None else (asyncio.Lock(), 0)
        self._local[user] = (local, waiting + 1)
        return local, waiting

    def _leave(self, user: str) -> None:
        """The lock entry is dropped when nobody holds or waits for it."""
        lock, waiting = self._local[user]
        if waiting == 1:
            del self._local[user]
        else:
            self._local[user] = (lock, waiting - 1)

    def _rate(self, user: str, count: bool) -> tuple[str, list[int]]:
        """The rate key of the current window and [limit, key lifetime]; limit 0 means "do not count"."""
        if self._limit is None or not count:
            return self._keys.rate(user, 0), [0, 0]
        return self._keys.rate(user, self._limit.window()), [self._limit.messages, 2 * self._limit.window_seconds]

    async def _count_only(self, user: str) -> None:
        rate_key, rate_args = self._rate(user, count=True)
        if not rate_args[0]:
            return
        try:
            over = await self._redis.eval(COUNT_ONLY, [rate_key], rate_args)
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        if over:
            raise TooManyMessages(user)

    async def _acquire(self, user: str, counted: bool) -> _RedisSession:
        token = f"{self._instance}:{next(self._tokens)}"  # unique across instances; no random bytes per message
        rate_key, rate_args = self._rate(user, count=not counted)
        keys = [self._keys.lock(user), self._keys.state(user), rate_key, *self._legacy_state(user)]
        deadline: float | None = None
        try:
            while True:
                taken, stored = await self._redis.eval(_ACQUIRE_AND_LOAD, keys,
                                                       [token, self._lock.lease_ms, *rate_args])
                if taken == 1:
                    return _RedisSession(self, user, token, stored)
                if taken == -1:
                    raise TooManyMessages(user)
                rate_args = [0, 0]  # counted once: waiting for the lock does not count again
                now = asyncio.get_running_loop().time()
                if deadline is None:
                    deadline = now + self._lock.wait_ms / 1000
                elif now >= deadline:
                    raise SessionUnavailable(f"lock of {user} busy for {self._lock.wait_ms} ms")
                await asyncio.sleep(self._lock.poll_ms / 1000)
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc

    async def _release(self, user: str, token: str) -> None:
        try:
            await self._redis.eval(_RELEASE_IF_HOLDER, [self._keys.lock(user)], [token])
        except RedisError:
            pass  # the lease expires by itself

    def _legacy_state(self, user: str) -> list[str]:
        return [self._keys.legacy_state(user)] if self._legacy else []

    def _decode(self, stored: bytes) -> Conversation:
        return open_state(self._cipher, stored)

    async def _save_and_release(self, user: str, token: str, state: Conversation) -> None:
        blob = seal_state(self._cipher, state)
        try:
            saved = await self._redis.eval(
                _SAVE_AND_RELEASE, [self._keys.lock(user), self._keys.state(user), *self._legacy_state(user)],
                [token, blob, self._idle])
        except RedisError as exc:
            raise SessionUnavailable(f"redis: {exc}") from exc
        if not saved:
            raise SessionUnavailable(f"lock of {user} was lost before saving (lease {self._lock.lease_ms} ms)")

    async def close(self) -> None:
        await self._redis.close()
