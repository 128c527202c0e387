"""The process's Redis clients, chosen by the `redis_client` setting: one redis-py client for everything, and
what runs the chat turn's Lua scripts (the pipelined connection, or that same client)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis, RedisCluster

from storage.redis_pipe import PipelinedRedis
from storage.redis_scripts import RedisPyScripts, ScriptRunner

RedisClientKind = Literal["pipelined", "redis-py", "cluster"]


@dataclass(frozen=True)
class RedisClients:
    general: Redis | RedisCluster  # dedupe, access_token cache, pub/sub wake-ups
    scripts: ScriptRunner          # the session store's scripts

    @property
    def cluster(self) -> bool:
        return isinstance(self.general, RedisCluster)


def connect_redis(url: str, kind: RedisClientKind, timeout_s: float = 2.0) -> RedisClients:
    """Clients for `url`: a single node (pipelined or redis-py scripts), or a Redis Cluster found from that node."""
    if kind == "cluster":
        cluster = RedisCluster.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        return RedisClients(cluster, RedisPyScripts(cluster))
    client = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    scripts = (PipelinedRedis(url, timeout_s=timeout_s, connect_timeout_s=timeout_s) if kind == "pipelined"
               else RedisPyScripts(client))
    return RedisClients(client, scripts)
