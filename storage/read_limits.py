"""Per-user limits on the read APIs (cases, messages), counted apart from the chat's messages but with the same
numbers (setting `rate_limit`), and on starting uploads (`uploads.per_minute`): in process memory for one
instance, in Redis when instances share it."""
from __future__ import annotations

from redis.asyncio import Redis, RedisCluster

from storage.rate_limits import MemoryRateLimiter, RateLimit


def _wait(limit: RateLimit) -> int:
    """Whole seconds until the current window ends (at least 1)."""
    return max(1, int(limit.window_seconds - limit.clock() % limit.window_seconds + 0.999))


class MemoryReadLimiter:
    def __init__(self, limit: RateLimit) -> None:
        self._limit, self._counts = limit, MemoryRateLimiter(limit)

    async def wait(self, user: str) -> int:
        """Count one read of the user: 0 when allowed, else the seconds to wait."""
        return 0 if self._counts.allow(user) else _wait(self._limit)


class RedisReadLimiter:
    """One counter per user and window, `<prefix>:{<user>}:<kind>:<window>` (the user's hash tag, as the session
    keys), expiring with its window; `kind` is reads or uploads."""

    def __init__(self, redis: Redis | RedisCluster, prefix: str, limit: RateLimit, kind: str = "reads") -> None:
        self._redis, self._prefix, self._limit, self._kind = redis, prefix, limit, kind

    async def wait(self, user: str) -> int:
        """Count one read of the user: 0 when allowed, else the seconds to wait."""
        key = f"{self._prefix}:{{{user}}}:{self._kind}:{self._limit.window()}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._limit.window_seconds + 1)
            count, _ = await pipe.execute()
        return 0 if int(count) <= self._limit.messages else _wait(self._limit)


def read_limiter(limit: RateLimit, redis: Redis | RedisCluster | None, prefix: str,
                 kind: str = "reads") -> MemoryReadLimiter | RedisReadLimiter:
    """In Redis when the instances share one, else in this process."""
    return MemoryReadLimiter(limit) if redis is None else RedisReadLimiter(redis, prefix, limit, kind)
