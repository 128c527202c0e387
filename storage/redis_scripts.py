"""Lua scripts, and the two ways the session store runs them: the pipelined connection (storage/redis_pipe.py,
one node) or redis-py (`register_script` on a `Redis` or a `RedisCluster` client)."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

Arg = str | bytes | int
# Every failure of a Redis call: redis-py's cluster client raises some (no reachable node, keys in two slots)
# outside the RedisError family.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)


@dataclass(frozen=True)
class Script:
    """A Lua script and its SHA-1, the name Redis caches it under."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


# Lua: count one event under `key` (a window's counter, expiring after `lifetime` s); true when over `limit`.
OVER_LIMIT = """
local function over_limit(key, limit, lifetime)
  local count = redis.call('incr', key)
  if count == 1 then redis.call('expire', key, lifetime) end
  return count > tonumber(limit)
end
"""
# Only count (KEYS[1], limit ARGV[1], lifetime ARGV[2]): 1 when over the limit. A chat message about to queue behind
# another of the same user; a read or an upload (storage/read_limits.py).
COUNT_ONLY = Script(OVER_LIMIT + "return over_limit(KEYS[1], ARGV[1], ARGV[2]) and 1 or 0")


class ScriptRunner(Protocol):
    async def eval(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run the script (EVALSHA, loading it when Redis does not know it); failures raise a RedisError."""

    async def close(self) -> None: ...


class RedisPyScripts:
    """Runs scripts through a redis-py client; on a RedisCluster, on the node of the keys' slot (every key of
    one call must share a slot: see SessionKeys)."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self._client = client
        self._registered: dict[str, AsyncScript] = {}

    async def eval(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        registered = self._registered.get(script.sha)
        if registered is None:
            registered = self._registered[script.sha] = self._client.register_script(script.source)
        try:
            return await registered(keys=keys, args=args)
        except RedisClusterException as exc:  # e.g. no node reachable: one family of errors for the callers
            raise RedisConnectionError(str(exc)) from exc

    async def close(self) -> None:
        return None  # the client is shared with the other Redis users and closed by its owner
