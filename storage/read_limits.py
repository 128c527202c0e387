"""Per-user limits on the read APIs (cases, messages), counted apart from the chat's messages but with the same
numbers (setting `rate_limit`), and on starting uploads (`uploads.per_minute`): in process memory for one
instance, in Redis when instances share it."""
from __future__ import annotations

from storage.rate_limits import MemoryRateLimiter, RateLimit
from storage.redis_scripts import COUNT_ONLY, ScriptRunner


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
    keys), expiring with its window; `kind` is reads or uploads. Counted by a script, on the chat's own Redis
    connection (the pipelined one on a single node: a tenth of the CPU of redis-py's INCR and EXPIRE)."""

    def __init__(self, scripts: ScriptRunner, prefix: str, limit: RateLimit, kind: str = "reads") -> None:
        self._scripts, self._prefix, self._limit, self._kind = scripts, prefix, limit, kind

    async def wait(self, user: str) -> int:
        """Count one read of the user: 0 when allowed, else the seconds to wait."""
        key = f"{self._prefix}:{{{user}}}:{self._kind}:{self._limit.window()}"
        over = await self._scripts.eval(COUNT_ONLY, [key], [self._limit.messages, self._limit.window_seconds + 1])
        return _wait(self._limit) if over else 0


def read_limiter(limit: RateLimit, scripts: ScriptRunner | None, prefix: str,
                 kind: str = "reads") -> MemoryReadLimiter | RedisReadLimiter:
    """In Redis when the instances share one, else in this process."""
    return MemoryReadLimiter(limit) if scripts is None else RedisReadLimiter(scripts, prefix, limit, kind)
