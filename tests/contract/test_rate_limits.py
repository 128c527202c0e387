"""Rate limits per user: one contract, in memory and in Redis."""
from __future__ import annotations

import pytest

from storage.rate_limits import MemoryRateLimiter, RedisRateLimiter
from storage.redis_pipe import PipelinedRedis
from tests.servers import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def limiter_and_clock(request: pytest.FixtureRequest):
    clock = Clock()
    if request.param == "memory":
        return MemoryRateLimiter(3, 10, clock), clock
    client = PipelinedRedis(request.getfixturevalue("redis_server"))
    return RedisRateLimiter(client, request.getfixturevalue("redis_prefix"), 3, 10, clock), clock


async def test_a_user_over_the_limit_waits_for_the_next_window(limiter_and_clock) -> None:
    limiter, clock = limiter_and_clock
    assert [await limiter.allow("u") for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("someone-else")
    clock.now += 10
    assert await limiter.allow("u")


async def test_redis_down_lets_messages_through() -> None:
    client = PipelinedRedis(f"redis://127.0.0.1:{free_port()}/0", connect_timeout_s=0.3)
    assert await RedisRateLimiter(client, "zwbtest", 1, 10).allow("u")
    await client.close()
