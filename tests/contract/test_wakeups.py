"""Outbox wake-ups: a committed outbox write wakes the dispatchers of every instance (memory: this one; Redis
pub/sub: all); rolled-back or unrelated writes wake nobody."""
from __future__ import annotations

import asyncio
import logging
import os

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utc_now
from storage import tables
from storage.cipher import KeyedHash
from storage.sql import SqlCases
from storage.wakeups import MemoryWakeups, RedisWakeups, on_outbox_commit
from tests.contract.cases import NOW, new_case
from tests.waiting import eventually

LOG = logging.getLogger("tests")


async def test_a_committed_outbox_write_wakes_and_others_do_not(db: AsyncEngine, cipher) -> None:
    wakeups = MemoryWakeups()
    on_outbox_commit(db, wakeups)
    async with db.begin() as conn:  # unrelated write
        await conn.execute(tables.case_counters.insert().values(day="20990101", last=1))
    assert not await wakeups.wait(0.05)
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:  # an outbox write that is rolled back
            await conn.execute(tables.outbox.insert().values(case_number="X", event_type="t", payload={},
                                                             created_at=NOW))
            raise RuntimeError("step failed")
    assert not await wakeups.wait(0.05)
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.outbox))).scalar_one() == 0
    await SqlCases(db, cipher, KeyedHash(os.urandom(32)), utc_now).submit(new_case("wake-1"), "DLH")
    assert await wakeups.wait(1)
    assert not await wakeups.wait(0.05)  # one wake-up per commit


async def test_redis_wakes_every_instance(redis_server: str, redis_prefix: str) -> None:
    instances = [RedisWakeups(Redis.from_url(redis_server), redis_prefix, LOG) for _ in range(2)]
    waiting = asyncio.ensure_future(instances[1].wait(5))
    probe = Redis.from_url(redis_server)
    await eventually(lambda: probe.pubsub_numsub(f"{redis_prefix}:outbox"), lambda counts: counts[0][1] > 0,
                     what="the listener's subscription")
    await probe.aclose()
    instances[0].notify()
    assert await waiting
    assert not await instances[1].wait(0.1)
    for wakeups in instances:
        await wakeups.close()


async def test_an_instance_is_woken_once_by_its_own_write(redis_server: str, redis_prefix: str) -> None:
    """Its own message comes back through the channel: that is no second wake-up (the dispatcher would ask the
    database again for nothing), while the other instance is woken by it."""
    instances = [RedisWakeups(Redis.from_url(redis_server), redis_prefix, LOG) for _ in range(2)]
    listening = [asyncio.ensure_future(wakeups.wait(0.01)) for wakeups in instances]  # starts both listeners
    await asyncio.gather(*listening)
    probe = Redis.from_url(redis_server)
    await eventually(lambda: probe.pubsub_numsub(f"{redis_prefix}:outbox"), lambda counts: counts[0][1] == 2,
                     what="both listeners' subscriptions")
    await probe.aclose()
    instances[0].notify()
    assert await instances[0].wait(1) and await instances[1].wait(1)
    assert not await instances[0].wait(0.3)  # its own message has long come back by now
    for wakeups in instances:
        await wakeups.close()
