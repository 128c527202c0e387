"""The WeChat access_token cache in Redis, shared by every app instance (a `TokenCache`).

Keys: `<prefix>:token` holds the token itself with a TTL equal to its lifetime (so its remaining life is
its PTTL, with no clock shared between machines); `<prefix>:token_lock` is the refresh lock, taken with
SET NX PX and a random id, released (and the token dropped) only by compare-and-delete in Lua.
Give each mini-program its own prefix, e.g. `zwb:wechat:<appid>`.
"""
from __future__ import annotations

import uuid

from redis.asyncio import Redis, RedisCluster

from bot.token_cache import CachedToken, TokenCacheUnavailable
from storage.redis_scripts import REDIS_ERRORS

_DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    """TokenCache on Redis. Every Redis failure is raised as TokenCacheUnavailable."""

    def __init__(self, client: Redis | RedisCluster, prefix: str) -> None:
        self._redis = client
        self._token_key, self._lock_key = f"{prefix}:token", f"{prefix}:token_lock"
        self._delete_if_equal = client.register_script(_DELETE_IF_EQUAL)

    async def get(self) -> CachedToken | None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._token_key)
                pipe.pttl(self._token_key)
                value, pttl = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise TokenCacheUnavailable(type(exc).__name__) from None
        if value is None or pttl is None or pttl <= 0:
            return None
        return CachedToken(value.decode() if isinstance(value, bytes) else value, pttl / 1000)

    async def put(self, value: str, ttl: float) -> None:
        try:
            await self._redis.set(self._token_key, value, px=max(1, int(ttl * 1000)))
        except REDIS_ERRORS as exc:
            raise TokenCacheUnavailable(type(exc).__name__) from None

    async def drop(self, value: str) -> bool:
        try:
            return bool(await self._delete_if_equal(keys=[self._token_key], args=[value]))
        except REDIS_ERRORS as exc:
            raise TokenCacheUnavailable(type(exc).__name__) from None

    async def try_lock(self, ttl: float) -> str | None:
        lock_id = uuid.uuid4().hex
        try:
            taken = await self._redis.set(self._lock_key, lock_id, nx=True, px=max(1, int(ttl * 1000)))
        except REDIS_ERRORS as exc:
            raise TokenCacheUnavailable(type(exc).__name__) from None
        return lock_id if taken else None

    async def unlock(self, lock_id: str) -> None:
        try:
            await self._delete_if_equal(keys=[self._lock_key], args=[lock_id])
        except REDIS_ERRORS:
            pass  # the lock expires by itself
