"""Seen-once keys (WeChat callback retries): one contract, in memory and in Redis shared by instances."""
from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.ports import SessionUnavailable
from storage.dedupe import MemoryDedupe, RedisDedupe
from tests.servers import free_port


@pytest.fixture(params=["memory", "redis"])
def make_dedupe(request: pytest.FixtureRequest):
    """A factory: every call is one more app instance over the same store."""
    if request.param == "memory":
        shared = MemoryDedupe(60)
        return lambda: shared
    url, prefix = request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")
    return lambda: RedisDedupe(Redis.from_url(url), prefix, 60)


async def test_exactly_one_instance_takes_a_delivery(make_dedupe) -> None:
    instances = [make_dedupe() for _ in range(4)]
    taken = await asyncio.gather(*(d.first("msg:1001") for d in instances for _ in range(3)))
    assert taken.count(True) == 1
    assert await instances[0].first("msg:1002")


async def test_memory_keys_expire() -> None:
    now = [0.0]
    dedupe = MemoryDedupe(60, clock=lambda: now[0])
    assert await dedupe.first("k") and not await dedupe.first("k")
    now[0] = 61
    assert await dedupe.first("k")


async def test_redis_down_is_reported_not_guessed() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.3)
    with pytest.raises(SessionUnavailable):
        await RedisDedupe(client, "zwbtest", 60).first("k")
    await client.aclose()
