"""Per-user rate limits, applied by the session stores when a message opens a session, and by the read APIs: one
contract each, in memory and in Redis."""
from __future__ import annotations

import asyncio
import os

import pytest
from redis.asyncio import Redis

from bot.ports import TooManyMessages
from storage.cipher import FieldCipher
from storage.rate_limits import RateLimit
from storage.read_limits import MemoryReadLimiter, RedisReadLimiter
from storage.redis_pipe import PipelinedRedis
from storage.redis_scripts import RedisPyScripts
from storage.redis_sessions import RedisSessionStore, SessionKeys
from storage.sessions import MemorySessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store_and_clock(request: pytest.FixtureRequest):
    clock = Clock()
    rate = RateLimit(3, 10, clock)
    if request.param == "memory":
        store = MemorySessionStore(3600, rate)
    else:
        client = PipelinedRedis(request.getfixturevalue("redis_server"))
        store = RedisSessionStore(client, FieldCipher(os.urandom(32)), 3600,
                                  SessionKeys(request.getfixturevalue("redis_prefix")), rate=rate)
    yield store, clock
    await store.close()


async def _send(store, user: str) -> bool:
    """One message: True if it got its session, False if it was refused as too many."""
    try:
        async with store.session(user):
            return True
    except TooManyMessages:
        return False


async def test_a_user_over_the_limit_waits_for_the_next_window(store_and_clock) -> None:
    store, clock = store_and_clock
    assert [await _send(store, "u") for _ in range(4)] == [True, True, True, False]
    assert await _send(store, "someone-else")
    clock.now += 10
    assert await _send(store, "u")


async def test_a_flood_is_refused_at_once_not_after_waiting_in_line(store_and_clock) -> None:
    store, _ = store_and_clock
    async with store.session("flood"):  # one message is being handled, slowly
        waiting = [asyncio.create_task(_send(store, "flood")) for _ in range(2)]  # the limit's other two
        await asyncio.sleep(0.05)
        # the fourth: refused while the first still holds the lock (waiting in line would time out here)
        assert not await asyncio.wait_for(_send(store, "flood"), timeout=1)
    assert await asyncio.gather(*waiting) == [True, True]


@pytest.fixture(params=["memory", "redis-py", "pipelined"])
async def reads_and_clock(request: pytest.FixtureRequest):
    clock = Clock()
    limit = RateLimit(3, 10, clock)
    if request.param == "memory":
        yield MemoryReadLimiter(limit), clock
        return
    url = request.getfixturevalue("redis_server")
    redis = Redis.from_url(url)
    scripts = RedisPyScripts(redis) if request.param == "redis-py" else PipelinedRedis(url)
    yield RedisReadLimiter(scripts, request.getfixturevalue("redis_prefix"), limit), clock
    await scripts.close()
    await redis.aclose()


async def test_reads_over_the_limit_are_told_how_long_to_wait(reads_and_clock) -> None:
    reads, clock = reads_and_clock
    clock.now += 3  # 7 s left in this window
    assert [await reads.wait("r") for _ in range(4)] == [0, 0, 0, 7]
    assert await reads.wait("someone-else") == 0
    clock.now += 7
    assert await reads.wait("r") == 0
