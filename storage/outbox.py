"""Outbox claiming for dispatchers (several at once, none sends an event twice) and the in-chat inbox."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.notify import OutboxEvent
from storage import tables
from storage.sql import _upsert, _utc

o = tables.outbox.c


class SqlOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEvent]:
        """Lease up to `limit` due events to this dispatcher. PostgreSQL skips rows another dispatcher is
        claiming (FOR UPDATE SKIP LOCKED); the lease keeps them away from others while they are delivered."""
        due = sa.and_(o.dispatched_at.is_(None), o.dead.is_(False),
                      sa.or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
                      sa.or_(o.lease_until.is_(None), o.lease_until < now))
        async with self._engine.begin() as conn:
            pick = sa.select(o.id).where(due).order_by(o.id).limit(limit)
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = (await conn.execute(pick)).scalars().all()
            if not ids:
                return []
            rows = (await conn.execute(tables.outbox.update().where(o.id.in_(ids), due)
                                       .values(lease_until=now + lease)
                                       .returning(o.id, o.case_number, o.event_type, o.payload, o.attempts))).all()
        return [OutboxEvent(id=r.id, case_number=r.case_number, type=r.event_type, payload=r.payload,
                            attempts=r.attempts) for r in sorted(rows)]

    async def done(self, event_id: int, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.outbox.update().where(o.id == event_id)
                               .values(dispatched_at=now, lease_until=None))

    async def failed(self, event_id: int, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt; retry at `retry_at`, or give up (dead letter) when it is None."""
        async with self._engine.begin() as conn:
            await conn.execute(tables.outbox.update().where(o.id == event_id).values(
                attempts=o.attempts + 1, last_error=error[:500], next_attempt_at=retry_at, lease_until=None,
                dead=retry_at is None))

    async def dead_letters(self) -> list[dict[str, object]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(o.id, o.case_number, o.event_type, o.attempts, o.last_error,
                                                 o.created_at).where(o.dead.is_(True)).order_by(o.id))).mappings()
            return [{**row, "created_at": _utc(row["created_at"]).isoformat()} for row in rows]


class SqlInbox:
    """Messages shown in the citizen's chat; the dedupe key makes a redelivered event show once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, user: str, case_number: str | None, text: str, dedupe_key: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.inbox_messages).values(user_id=user, case_number=case_number, text=text,
                                                               created_at=now, dedupe_key=dedupe_key)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))

    async def take_unread(self, user: str, now: datetime) -> list[str]:
        """Unread messages of the user, oldest first, marked read."""
        m = tables.inbox_messages.c
        async with self._engine.begin() as conn:
            rows = (await conn.execute(sa.select(m.id, m.text).where(m.user_id == user, m.read_at.is_(None))
                                       .order_by(m.id))).all()
            if rows:
                await conn.execute(tables.inbox_messages.update().where(m.id.in_([r.id for r in rows]))
                                   .values(read_at=now))
        return [r.text for r in rows]
