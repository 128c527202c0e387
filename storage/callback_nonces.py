"""Signatures of WeChat's message pushes already seen, kept for the timestamp window.

In plain mode `signature` covers only the Token, `timestamp` and `nonce`, not the body: a captured query string
could carry any body until its timestamp leaves the window. Each signed query is remembered with the digest of
the body it came with; the same query again with the same body is WeChat retrying that delivery (the message
dedupe answers it), with another body it is a replay and is refused. In process memory (bounded) for one
instance, in Redis (SET NX EX) when instances share it.
"""
from __future__ import annotations

import time
from typing import Callable

from redis.asyncio import Redis, RedisCluster

from bot.ports import SessionUnavailable
from storage.redis_scripts import REDIS_ERRORS


class MemoryCallbackNonces:
    """At most `max_keys` signatures; the oldest go first when it is full (they are the first to expire)."""

    def __init__(self, ttl_seconds: float, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._max, self._clock = ttl_seconds, max_keys, clock
        self._seen: dict[str, tuple[float, str]] = {}

    async def admit(self, signed: str, body_digest: str) -> bool:
        """True the first time `signed` is seen, or again with the same body; False with another body."""
        now = self._clock()
        if (seen := self._seen.get(signed)) is not None and seen[0] > now:
            return seen[1] == body_digest
        if len(self._seen) >= self._max:
            self._seen = {k: v for k, v in self._seen.items() if v[0] > now}
            while len(self._seen) >= self._max:
                del self._seen[next(iter(self._seen))]
        self._seen.pop(signed, None)  # re-inserted at the end: insertion order stays expiry order
        self._seen[signed] = (now + self._ttl, body_digest)
        return True


class RedisCallbackNonces:
    """`<prefix>:wechat:signed:<timestamp:nonce:signature>` holds the body digest for the window."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, ttl_seconds: int) -> None:
        self._redis, self._prefix, self._ttl = client, prefix, ttl_seconds

    async def admit(self, signed: str, body_digest: str) -> bool:
        """True the first time `signed` is seen, or again with the same body; False with another body."""
        key = f"{self._prefix}:wechat:signed:{signed}"
        try:
            if await self._redis.set(key, body_digest, nx=True, ex=self._ttl):
                return True
            first = await self._redis.get(key)  # set once, never changed: no race to lose
        except REDIS_ERRORS as exc:  # the caller answers "try again"; WeChat will retry the delivery
            raise SessionUnavailable(f"callback nonce store unavailable: {exc}") from exc
        return first is None or (first.decode() if isinstance(first, bytes) else str(first)) == body_digest
