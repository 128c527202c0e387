"""Subscribe-message consents in SQL: a counter per (user, template) and one row per outbox event that took one.

Taking a consent is one transaction: record the event (its primary key refuses a second take of the same event,
from a retry or another dispatcher) and decrement the counter only where it is above zero; either both happen or
neither.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables
from storage.sql import _upsert

q, s = tables.subscribe_quota.c, tables.subscribe_sends.c


class SqlSubscribeQuota:
    """SubscribeQuota of bot/subscriptions.py."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def grant(self, user: str, template_id: str, count: int, now: datetime) -> int:
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.subscribe_quota).values(user_id=user, template_id=template_id,
                                                                remaining=count, updated_at=now)
            stmt = stmt.on_conflict_do_update(index_elements=["user_id", "template_id"],
                                              set_={"remaining": q.remaining + count, "updated_at": now})
            return int((await conn.execute(stmt.returning(q.remaining))).scalar_one())

    async def clear(self, user: str, template_id: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.subscribe_quota.update()
                               .where(q.user_id == user, q.template_id == template_id)
                               .values(remaining=0, updated_at=now))

    async def take(self, user: str, template_id: str, event_id: int, now: datetime) -> bool:
        async with self._engine.connect() as conn, conn.begin() as transaction:
            recorded = await conn.execute(
                _upsert(conn, tables.subscribe_sends)
                .values(event_id=event_id, user_id=user, template_id=template_id, taken_at=now)
                .on_conflict_do_nothing(index_elements=["event_id"]).returning(s.event_id))
            if recorded.first() is None:  # this event already took its consent
                await transaction.rollback()
                return False
            used = await conn.execute(tables.subscribe_quota.update()
                                      .where(q.user_id == user, q.template_id == template_id, q.remaining > 0)
                                      .values(remaining=q.remaining - 1, updated_at=now))
            if used.rowcount != 1:
                await transaction.rollback()
                return False
            return True

    async def give_back(self, user: str, template_id: str, event_id: int, now: datetime) -> None:
        async with self._engine.begin() as conn:
            forgotten = await conn.execute(tables.subscribe_sends.delete().where(s.event_id == event_id))
            if forgotten.rowcount == 1:
                await conn.execute(tables.subscribe_quota.update()
                                   .where(q.user_id == user, q.template_id == template_id)
                                   .values(remaining=q.remaining + 1, updated_at=now))

    async def remaining(self, user: str, template_id: str) -> int:
        async with self._engine.connect() as conn:
            left = await conn.execute(sa.select(q.remaining).where(q.user_id == user, q.template_id == template_id))
            return int(left.scalar_one_or_none() or 0)
