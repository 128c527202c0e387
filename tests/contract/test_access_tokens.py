"""The shared access_token: one contract for the memory and the Redis cache, against the WeChat simulator.

"Instances" are WeChatApi clients with their own HTTP session and (for Redis) their own Redis connection,
sharing only the cache, as separate app processes would.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from providers.wechat.api import WeChatApi
from providers.wechat.errors import TokenUnavailable
from bot.token_cache import TokenCache
from providers.wechat.tokens import MemoryTokenCache, TokenTiming
from sim.wechat import WeChatSimulator
from storage.access_tokens import RedisTokenCache

CacheFactory = Callable[[], TokenCache]
Instances = Callable[..., WeChatApi]
FAST = TokenTiming(refresh_margin=300, lock_ttl=5, wait=3, poll=0.01)


@pytest.fixture
def sim() -> WeChatSimulator:
    return WeChatSimulator(token_latency=0.1)  # a slow token endpoint widens every race


@pytest.fixture(params=["memory", "redis"])
async def caches(request: pytest.FixtureRequest) -> AsyncIterator[CacheFactory]:
    """Makes one cache per instance, all sharing the same storage."""
    if request.param == "memory":
        shared = MemoryTokenCache()
        yield lambda: shared
        return
    url, prefix = request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")
    clients: list[Redis] = []

    def make() -> TokenCache:
        clients.append(Redis.from_url(url))
        return RedisTokenCache(clients[-1], f"{prefix}:wechat")

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def instances(sim: WeChatSimulator, caches: CacheFactory) -> AsyncIterator[Instances]:
    """Makes app instances talking to the simulator through one shared token cache."""
    async with sim.serve() as base:
        sessions: list[aiohttp.ClientSession] = []

        def make(timing: TokenTiming = FAST) -> WeChatApi:
            sessions.append(aiohttp.ClientSession())
            return WeChatApi(sessions[-1], sim.appid, sim.secret, api_base=base, retry_delay=0,
                             token_cache=caches(), token_timing=timing)

        yield make
        for session in sessions:
            await session.close()


async def test_one_fetch_for_many_concurrent_callers(sim: WeChatSimulator, instances: Instances) -> None:
    a, b = instances(), instances()
    tokens = await asyncio.gather(*(api.tokens.get() for api in (a, b) * 5))
    assert len(set(tokens)) == 1
    assert sim.token_fetches == 1
    assert await a.tokens.get() == tokens[0] and sim.token_fetches == 1  # served from the cache afterwards


async def test_token_expiring_mid_send_is_refetched_once(sim: WeChatSimulator, instances: Instances) -> None:
    api = instances()
    sim.note_user_message("oUser1")
    await api.send_text("oUser1", "first")
    sim.expire_tokens()
    await api.send_text("oUser1", "second")
    assert [m["text"]["content"] for m in sim.sent] == ["first", "second"]
    assert sim.token_fetches == 2
    assert api.metrics()["custom_send"] == {"calls": 2, "retries": 0, "token_retries": 1, "errors": {"42001": 1}}


async def test_a_refused_token_handed_back_is_force_refreshed(sim: WeChatSimulator, instances: Instances) -> None:
    """WeChat refuses a token (40001) that the stable-token endpoint still hands out: force_refresh it."""
    api = instances()
    sim.note_user_message("oUser1")
    refused = await api.tokens.get()
    sim.fail_next("/cgi-bin/message/custom/send", 40001, "invalid credential")
    await api.send_text("oUser1", "sent with a forced token")
    assert sim.token_fetches == 3  # the first, the same one handed back, the forced one
    assert await api.tokens.get() != refused and len(sim.sent) == 1


async def test_two_instances_refused_the_same_token_refetch_once(sim: WeChatSimulator, instances: Instances) -> None:
    a, b = instances(), instances()
    sim.note_user_message("oUser1")
    sim.note_user_message("oUser2")
    await a.tokens.get()
    sim.expire_tokens()
    await asyncio.gather(a.send_text("oUser1", "from a"), b.send_text("oUser2", "from b"))
    assert len(sim.sent) == 2
    assert sim.token_fetches == 2


async def test_invalidating_an_already_replaced_token_does_not_refetch(sim: WeChatSimulator,
                                                                       instances: Instances) -> None:
    a, b = instances(), instances()
    old = await a.tokens.get()
    sim.expire_tokens()
    await a.tokens.invalidate(old)
    new = await a.tokens.get()
    assert new != old and sim.token_fetches == 2
    await b.tokens.invalidate(old)  # b learns late that the old one was bad
    assert await b.tokens.get() == new
    assert sim.token_fetches == 2


async def test_token_near_expiry_is_renewed_by_one_instance(sim: WeChatSimulator, instances: Instances,
                                                            caches: CacheFactory) -> None:
    a, b = instances(), instances()
    first = await a.tokens.get()
    await caches().put(first, 200)  # 200 s left: inside the 300 s refresh margin
    sim.expire_tokens()  # so that the stable-token endpoint hands out a new one
    tokens = await asyncio.gather(a.tokens.get(), b.tokens.get(), a.tokens.get())
    assert sim.token_fetches == 2
    renewed = await b.tokens.get()
    assert renewed != first and (await caches().get()).ttl > 7000
    assert set(tokens) <= {first, renewed}  # while one renews, the others go on with the still-valid token


async def test_waiting_for_a_refresh_is_bounded(sim: WeChatSimulator, instances: Instances,
                                                caches: CacheFactory) -> None:
    api = instances(TokenTiming(wait=0.3, poll=0.02, lock_ttl=5))
    assert await caches().try_lock(5) is not None  # another instance is "refreshing" and never finishes
    with pytest.raises(TokenUnavailable):
        await api.tokens.get()
    assert sim.token_fetches == 0


async def test_a_crashed_refresher_lock_expires(sim: WeChatSimulator, instances: Instances,
                                                caches: CacheFactory) -> None:
    api = instances(TokenTiming(wait=2, poll=0.02, lock_ttl=5))
    assert await caches().try_lock(0.2) is not None  # its holder died without unlocking
    assert await api.tokens.get()
    assert sim.token_fetches == 1


async def test_unlock_and_drop_only_touch_their_own(caches: CacheFactory) -> None:
    cache = caches()
    lock = await cache.try_lock(5)
    assert lock is not None and await cache.try_lock(5) is None
    await cache.unlock("someone-else")
    assert await cache.try_lock(5) is None
    await cache.unlock(lock)
    assert await cache.try_lock(5) is not None
    await cache.put("token-1", 60)
    assert not await cache.drop("token-0")
    assert (await cache.get()).value == "token-1"
    assert await cache.drop("token-1") and await cache.get() is None


async def test_redis_keys_live_under_the_prefix_and_expire(sim: WeChatSimulator, redis_server: str,
                                                           redis_prefix: str) -> None:
    client = Redis.from_url(redis_server)
    try:
        async with sim.serve() as base, aiohttp.ClientSession() as session:
            api = WeChatApi(session, sim.appid, sim.secret, api_base=base,
                            token_cache=RedisTokenCache(client, f"{redis_prefix}:wechat"))
            token = await api.tokens.get()
        assert await client.get(f"{redis_prefix}:wechat:token") == token.encode()
        assert 7000_000 < await client.pttl(f"{redis_prefix}:wechat:token") <= 7200_000
        assert not await client.exists(f"{redis_prefix}:wechat:token_lock")  # released after the fetch
    finally:
        await client.aclose()


async def test_redis_down_falls_back_to_process_memory(sim: WeChatSimulator) -> None:
    dead = Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    try:
        async with sim.serve() as base, aiohttp.ClientSession() as session:
            api = WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=RedisTokenCache(dead, "zwb"))
            sim.note_user_message("oUser1")
            await api.send_text("oUser1", "still works")
            await api.send_text("oUser1", "and again")
        assert len(sim.sent) == 2 and sim.token_fetches == 1
        assert api.metrics()["custom_send"]["errors"] == {}
    finally:
        await dead.aclose()
