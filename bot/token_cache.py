"""The port through which every app instance shares one WeChat access_token: a cache with a refresh lock.

Implemented in process memory by providers/wechat/tokens.py and on Redis by storage/access_tokens.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CachedToken:
    """A cached token and the seconds it has left."""

    value: str
    ttl: float


class TokenCacheUnavailable(Exception):
    """The shared token cache cannot be reached."""


class TokenCache(Protocol):
    """Where instances share the token, and the lock that lets exactly one of them refresh it."""

    async def get(self) -> CachedToken | None:
        """The cached token, or None when there is none (or it has expired)."""

    async def put(self, value: str, ttl: float) -> None:
        """Store the token for ttl seconds."""

    async def drop(self, value: str) -> bool:
        """Delete the cached token only if it is still `value`; True when it was deleted."""

    async def try_lock(self, ttl: float) -> str | None:
        """Take the refresh lock for ttl seconds; its id, or None when another holder has it."""

    async def unlock(self, lock_id: str) -> None:
        """Release the refresh lock if `lock_id` still holds it."""
