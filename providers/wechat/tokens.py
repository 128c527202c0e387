"""The access_token, shared by every app instance through a cache, refreshed once under a lock.

`AccessTokens.get()` answers from the cache while the token has more than `refresh_margin` seconds left.
Otherwise one caller per process (a local lock) tries the cache's refresh lock; the winner fetches from
WeChat's stable-token endpoint and stores it, the others keep using the still valid old token if there is
one, or poll the cache (small sleeps, bounded) for the new one. `invalidate(bad)` drops the cached token
only if it is still `bad`, so instances that all saw the same 40001 refetch once, not once each.

The cache port (`bot.token_cache.TokenCache`) has a process-memory implementation here and a Redis one in
storage/access_tokens.py. If the shared cache fails, AccessTokens falls back to process memory (the
stable-token endpoint answers the same token to every instance, so that costs a fetch, not correctness).
The token itself is never logged.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.token_cache import CachedToken, TokenCache, TokenCacheUnavailable
from providers.wechat.errors import TokenUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedToken:
    """What WeChat's token endpoint answered."""

    value: str
    expires_in: float


class TokenProvider(Protocol):
    """What the API client needs: a valid token, and a way to report one WeChat refused."""

    async def get(self) -> str: ...
    async def invalidate(self, bad_token: str) -> None: ...


class MemoryTokenCache:
    """TokenCache in process memory (one instance, or the fallback when the shared cache is down)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._token: tuple[str, float] | None = None
        self._lock: tuple[str, float] | None = None

    async def get(self) -> CachedToken | None:
        if self._token is None:
            return None
        value, expires_at = self._token
        ttl = expires_at - self._clock()
        return CachedToken(value, ttl) if ttl > 0 else None

    async def put(self, value: str, ttl: float) -> None:
        self._token = (value, self._clock() + ttl)

    async def drop(self, value: str) -> bool:
        if self._token is not None and self._token[0] == value:
            self._token = None
            return True
        return False

    async def try_lock(self, ttl: float) -> str | None:
        now = self._clock()
        if self._lock is not None and self._lock[1] > now:
            return None
        lock_id = uuid.uuid4().hex
        self._lock = (lock_id, now + ttl)
        return lock_id

    async def unlock(self, lock_id: str) -> None:
        if self._lock is not None and self._lock[0] == lock_id:
            self._lock = None


TokenFetcher = Callable[[bool], Awaitable[IssuedToken]]
"""Fetch a token from WeChat; the argument is force_refresh."""


@dataclass(frozen=True)
class TokenTiming:
    """refresh_margin: refresh when fewer seconds are left (WeChat's stable token renews 5 min early);
    lock_ttl: how long a refresh may take before another instance may try; wait: how long a caller
    waits for another instance's refresh before giving up; poll: the sleep between looks;
    cache_backoff: after the shared cache failed, how long to use process memory before trying it again."""

    refresh_margin: float = 300
    lock_ttl: float = 15
    wait: float = 10
    poll: float = 0.05
    cache_backoff: float = 30


class AccessTokens:
    """TokenProvider over WeChat's stable-token endpoint and a shared TokenCache."""

    def __init__(self, fetch: TokenFetcher, cache: TokenCache, timing: TokenTiming = TokenTiming()) -> None:
        self._fetch, self._cache, self._timing = fetch, cache, timing
        self._fallback = MemoryTokenCache()
        self._local = asyncio.Lock()
        self._last_bad: str | None = None
        self._shared_down_until = float("-inf")

    def _shared_cache_down(self) -> bool:
        return asyncio.get_running_loop().time() < self._shared_down_until

    def _mark_shared_cache_down(self, exc: TokenCacheUnavailable) -> None:
        self._shared_down_until = asyncio.get_running_loop().time() + self._timing.cache_backoff
        log.warning("access_token cache unavailable (%s); using process memory for %.0f s", exc,
                    self._timing.cache_backoff)

    async def get(self) -> str:
        """A token with more than refresh_margin seconds left, fetching it if nobody else is."""
        if not self._shared_cache_down():
            try:
                return await self._get(self._cache)
            except TokenCacheUnavailable as exc:
                self._mark_shared_cache_down(exc)
        return await self._get(self._fallback)

    async def invalidate(self, bad_token: str) -> None:
        """Forget `bad_token` (WeChat refused it), unless the cache already holds a newer one."""
        self._last_bad = bad_token
        await self._fallback.drop(bad_token)
        if self._shared_cache_down():
            return
        try:
            dropped = await self._cache.drop(bad_token)
        except TokenCacheUnavailable as exc:
            self._mark_shared_cache_down(exc)
            return
        log.info("access_token refused by WeChat; %s", "dropped from the cache" if dropped else "already replaced")

    def _fresh(self, token: CachedToken | None) -> bool:
        return token is not None and token.ttl > self._timing.refresh_margin

    async def _get(self, cache: TokenCache) -> str:
        token = await cache.get()
        if self._fresh(token):
            return token.value  # type: ignore[union-attr]
        async with self._local:  # one caller per process goes on; the others find its result
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._timing.wait
            while True:
                token = await cache.get()
                if self._fresh(token):
                    return token.value  # type: ignore[union-attr]
                lock_id = await cache.try_lock(self._timing.lock_ttl)
                if lock_id is not None:
                    try:
                        return await self._refresh(cache)
                    finally:
                        await cache.unlock(lock_id)
                if token is not None:
                    return token.value  # still valid; another instance is renewing it
                if loop.time() >= deadline:
                    raise TokenUnavailable(f"no access_token after waiting {self._timing.wait} s for a refresh")
                await asyncio.sleep(self._timing.poll)

    async def _refresh(self, cache: TokenCache) -> str:
        token = await cache.get()  # someone may have stored one between our look and the lock
        if self._fresh(token):
            return token.value  # type: ignore[union-attr]
        issued = await self._fetch(False)
        if issued.value == self._last_bad:  # WeChat handed back the token it refused: force a new one
            issued = await self._fetch(True)
        await cache.put(issued.value, issued.expires_in)
        log.info("access_token refreshed (expires in %.0f s)", issued.expires_in)
        return issued.value
