"""Seen-once keys for deliveries that may arrive several times (WeChat retries a callback 3 times and may
send it to any instance): in process memory, or in Redis shared by all instances."""
from __future__ import annotations

import time
from typing import Callable

from redis.asyncio import Redis, RedisCluster

from bot.ports import SessionUnavailable
from storage.redis_scripts import REDIS_ERRORS


class MemoryDedupe:
    """Keys with an expiry, swept lazily; one instance only."""

    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl_seconds, clock
        self._seen: dict[str, float] = {}

    async def first(self, key: str) -> bool:
        now = self._clock()
        if len(self._seen) > 10_000:
            self._seen = {k: until for k, until in self._seen.items() if until > now}
        if self._seen.get(key, 0) > now:
            return False
        self._seen[key] = now + self._ttl
        return True


class RedisDedupe:
    """SET NX EX on `<prefix>:seen:<key>`: exactly one caller across all instances sees True."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, ttl_seconds: int) -> None:
        self._redis, self._prefix, self._ttl = client, prefix, ttl_seconds

    async def first(self, key: str) -> bool:
        try:
            return bool(await self._redis.set(f"{self._prefix}:seen:{key}", b"1", nx=True, ex=self._ttl))
        except REDIS_ERRORS as exc:  # the caller answers "try again"; WeChat will retry the delivery
            raise SessionUnavailable(f"dedupe store unavailable: {exc}") from exc
