"""Stores behind WeChat login and subscribe messages: one contract, run against SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utc_now
from storage.accounts import SqlRevocations, SqlVerifiedIdentities
from storage.cipher import KeyedHash
from storage.subscriptions import SqlSubscribeQuota

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
    assert not await revoked.is_revoked("jti1")
    await revoked.revoke("jti1", "u1", NOW + timedelta(hours=2))
    await revoked.revoke("jti1", "u1", NOW + timedelta(hours=2))  # logging out twice is fine
    await revoked.revoke("jti2", "u1", NOW + timedelta(hours=1))
    assert await revoked.is_revoked("jti1") and await revoked.is_revoked("jti2")
    assert await revoked.purge(NOW + timedelta(hours=1, minutes=1)) == 1
    assert await revoked.is_revoked("jti1") and not await revoked.is_revoked("jti2")


async def test_verified_identities_are_stored_as_keyed_hashes(db: AsyncEngine) -> None:
    identities = SqlVerifiedIdentities(db, KeyedHash(os.urandom(32)))
    assert not await identities.known("u1", "张三", "11010519491231002X")
    await identities.remember("u1", "张三", "11010519491231002X", NOW)
    await identities.remember("u1", "张三", "11010519491231002X", NOW)
    assert await identities.known("u1", "张三", "11010519491231002x")
    assert not await identities.known("u1", "李四", "11010519491231002X")
    assert not await identities.known("u2", "张三", "11010519491231002X")
    async with db.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT user_id, identity_hash FROM verified_identities"))).all()
    assert len(rows) == 1 and "11010519491231002X" not in rows[0].identity_hash
