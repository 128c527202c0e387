"""Per-user message rate limits (fixed windows): in process memory, or in Redis shared by all instances."""
from __future__ import annotations

import time
from typing import Callable

from redis.exceptions import RedisError

from storage.redis_pipe import PipelinedRedis, Script

_COUNT = Script("""
local count = redis.call('incr', KEYS[1])
if count == 1 then redis.call('expire', KEYS[1], ARGV[1]) end
return count
""")


class MemoryRateLimiter:
    """Counts per user in the current window; the whole table is dropped when the window moves on."""

    def __init__(self, limit: int, window_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self._limit, self._window, self._clock = limit, window_seconds, clock
        self._current = -1
        self._counts: dict[str, int] = {}

    async def allow(self, user: str) -> bool:
        window = int(self._clock() // self._window)
        if window != self._current:
            self._current, self._counts = window, {}
        self._counts[user] = self._counts.get(user, 0) + 1
        return self._counts[user] <= self._limit


class RedisRateLimiter:
    """INCR on `<prefix>:rate:<user>:<window>`, expiring with the window. Fails open if Redis is down:
    the conversation itself then answers "please retry", so nothing is lost by letting the message through."""

    def __init__(self, client: PipelinedRedis, prefix: str, limit: int, window_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis, self._prefix = client, prefix
        self._limit, self._window, self._clock = limit, window_seconds, clock

    async def allow(self, user: str) -> bool:
        key = f"{self._prefix}:rate:{user}:{int(self._clock() // self._window)}"
        try:
            count = await self._redis.eval(_COUNT, [key], [self._window * 2])
        except RedisError:
            return True
        return int(count) <= self._limit
