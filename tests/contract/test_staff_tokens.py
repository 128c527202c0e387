"""Staff bearer tokens on SQLite and PostgreSQL: stored hashed, they expire, and can be revoked, rotated and the
account disabled."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from storage import tables
from storage.migrate import upgrade
from storage.staff import SqlStaff
from tests.clock import Clock
from tests.contract.cases import NOW


async def test_a_token_expires_after_its_lifetime(db: AsyncEngine) -> None:
    clock = Clock(NOW)
    directory = SqlStaff(db, clock, timedelta(days=30))
    staff, token = await directory.add("王五", Role.clerk, "德令哈市公安局", Level.township)
    async with db.connect() as conn:
        stored = (await conn.execute(sa.select(tables.staff.c.token_hash))).scalars().all()
    assert token not in stored and len(stored[0]) == 64  # only the hash is kept
    clock.now += timedelta(days=29)
    assert await directory.by_token(token) == staff
    clock.now += timedelta(days=1)
    assert await directory.by_token(token) is None


async def test_revoke_rotate_and_disable(db: AsyncEngine) -> None:
    directory = SqlStaff(db, Clock(NOW))
    staff, token = await directory.add("赵六", Role.approver, "德令哈市民政局", Level.city)
    assert await directory.revoke(staff.id) and await directory.by_token(token) is None
    rotated = await directory.rotate(staff.id)
    assert rotated is not None and rotated[1] == NOW + timedelta(days=90)
    assert await directory.by_token(rotated[0]) == staff and await directory.by_token(token) is None
    again = await directory.rotate(staff.id)
    assert again is not None and await directory.by_token(rotated[0]) is None  # rotating ends the previous one
    assert await directory.disable(staff.id) and await directory.by_token(again[0]) is None
    assert await directory.rotate(staff.id) is None and not await directory.revoke(staff.id)  # disabled stays so
    assert not await directory.disable(12345)


async def test_tokens_issued_before_expiry_existed_keep_working_for_a_while(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        await upgrade(engine, "0010")
        token = "a-token-from-before"
        async with engine.begin() as conn:
            await conn.execute(sa.insert(sa.table("staff", *(sa.column(c) for c in (
                "name", "role", "department", "level", "token_hash", "created_at")))).values(
                name="老王", role="clerk", department="德令哈市公安局", level="township",
                token_hash=hashlib.sha256(token.encode()).hexdigest(), created_at=NOW))
        await upgrade(engine)
        clock = Clock(utc_now())
        assert (await SqlStaff(engine, clock).by_token(token)) is not None
        clock.now += timedelta(days=91)
        assert (await SqlStaff(engine, clock).by_token(token)) is None
    finally:
        await engine.dispose()
