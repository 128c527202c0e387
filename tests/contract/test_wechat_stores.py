"""Stores behind WeChat login and subscribe messages: one contract, run against SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utc_now
from bot.revocations import RevokedTokens
from storage.accounts import SqlRevocations, SqlVerifiedIdentities
from storage.cipher import KeyedHash
from storage.direct_pg import DirectPostgres
from storage.subscriptions import SqlSubscribeQuota
from storage.wakeups import MemoryWakeups

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)


async def test_a_consent_is_taken_once_per_event_and_given_back(db: AsyncEngine) -> None:
    quota = SqlSubscribeQuota(db)
    assert not await quota.take("u1", "tpl", 1, NOW)  # no consent yet
    assert await quota.grant("u1", "tpl", 1, NOW) == 1
    assert await quota.grant("u1", "tpl", 1, NOW) == 2
    assert await quota.take("u1", "tpl", 1, NOW)
    assert not await quota.take("u1", "tpl", 1, NOW)  # the same event again (a retry, another dispatcher)
    assert await quota.remaining("u1", "tpl") == 1
    await quota.give_back("u1", "tpl", 1, NOW)
    await quota.give_back("u1", "tpl", 1, NOW)  # twice changes nothing more
    assert await quota.remaining("u1", "tpl") == 2
    assert await quota.take("u1", "tpl", 1, NOW)  # after giving back, the event may take one again
    assert await quota.take("u1", "tpl", 2, NOW)
    assert not await quota.take("u1", "tpl", 3, NOW)  # none left
    assert await quota.remaining("u1", "tpl") == 0
    assert await quota.remaining("u2", "tpl") == 0


async def test_clear_and_other_users_and_templates(db: AsyncEngine) -> None:
    quota = SqlSubscribeQuota(db)
    await quota.grant("u1", "a", 3, NOW)
    await quota.grant("u1", "b", 1, NOW)
    await quota.grant("u2", "a", 1, NOW)
    await quota.clear("u1", "a", NOW)
    await quota.clear("u3", "a", NOW)  # nothing to clear is fine
    assert [await quota.remaining(u, t) for u, t in (("u1", "a"), ("u1", "b"), ("u2", "a"))] == [0, 1, 1]


async def test_concurrent_takes_never_overdraw(db: AsyncEngine) -> None:
    quota = SqlSubscribeQuota(db)
    await quota.grant("u1", "tpl", 3, NOW)
    if db.dialect.name == "sqlite":  # one writer at a time; the contract is the same
        taken = [await quota.take("u1", "tpl", event, NOW) for event in range(10)]
    else:
        taken = await asyncio.gather(*(quota.take("u1", "tpl", event, NOW) for event in range(10)))
    assert sum(taken) == 3 and await quota.remaining("u1", "tpl") == 0


async def test_revocations_are_kept_until_the_token_expires(db: AsyncEngine) -> None:
    revoked = SqlRevocations(db, utc_now)
    assert await revoked.unexpired(NOW) == {}
    await revoked.revoke("jti1", "u1", NOW + timedelta(hours=2))
    await revoked.revoke("jti1", "u1", NOW + timedelta(hours=2))  # logging out twice is fine
    await revoked.revoke("jti2", "u1", NOW + timedelta(hours=1))
    assert await revoked.unexpired(NOW) == {"jti1": NOW + timedelta(hours=2), "jti2": NOW + timedelta(hours=1)}
    assert await revoked.unexpired(NOW + timedelta(hours=1, minutes=1)) == {"jti1": NOW + timedelta(hours=2)}
    assert await revoked.purge(NOW + timedelta(hours=1, minutes=1)) == 1
    assert await revoked.unexpired(NOW) == {"jti1": NOW + timedelta(hours=2)}


def instance(db: AsyncEngine, logouts: MemoryWakeups) -> RevokedTokens:
    """One app instance's revoked tokens over the shared database; `logouts` carries its announcements."""
    return RevokedTokens(SqlRevocations(db, utc_now), logouts.notify, utc_now, logging.getLogger("test.revocations"))


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_logout_is_refused_by_every_instance(db: AsyncEngine) -> None:
    """On the instance that logged out at once; on another as soon as the announcement reaches it, and at its next
    reload when the announcement is lost; one started later loads it before serving."""
    expires = utc_now() + timedelta(hours=2)
    channel, deaf = MemoryWakeups(), MemoryWakeups()  # deaf: an instance whose announcement got lost
    here, there, missed = instance(db, channel), instance(db, channel), instance(db, deaf)
    following = [asyncio.create_task(there.follow(channel, poll_seconds=60)),
                 asyncio.create_task(missed.follow(deaf, poll_seconds=0.3))]
    try:
        await asyncio.sleep(0.05)  # both waiting
        await here.revoke("jti1", "u1", expires)
        assert await here.is_revoked("jti1")
        assert await until(lambda: there.is_revoked("jti1"), 1.0)
        assert not await missed.is_revoked("jti1")
        assert await until(lambda: missed.is_revoked("jti1"), 2.0)
        assert not await there.is_revoked("jti2")
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
    later = instance(db, MemoryWakeups())
    assert not await later.is_revoked("jti1")
    await later.load()
    assert await later.is_revoked("jti1")


async def test_verified_identities_are_stored_as_keyed_hashes(db: AsyncEngine, direct: DirectPostgres | None) -> None:
    identities = SqlVerifiedIdentities(db, KeyedHash(os.urandom(32)), direct)
    assert not await identities.known("u1", "张三", "11010519491231002X")
    await identities.remember("u1", "张三", "11010519491231002X", NOW)
    await identities.remember("u1", "张三", "11010519491231002X", NOW)
    assert await identities.known("u1", "张三", "11010519491231002x")
    assert not await identities.known("u1", "李四", "11010519491231002X")
    assert not await identities.known("u2", "张三", "11010519491231002X")
    async with db.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT user_id, identity_hash FROM verified_identities"))).all()
    assert len(rows) == 1 and "11010519491231002X" not in rows[0].identity_hash
