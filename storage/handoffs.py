"""Handoffs and their transcripts in SQL: the context card and every message text encrypted at rest."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.handoff.models import (OPEN, Author, Handoff, HandoffContext, HandoffMessage, HandoffStatus)
from bot.staff import StaffNotice
from storage import tables
from storage.cipher import FieldCipher
from storage.sql import OneStatement
from storage.outbox import put_inbox

h, m = tables.handoffs.c, tables.handoff_messages.c
_TOUCHED = ("last_citizen_at", "last_staff_at", "first_response_at")  # set with each message only (add_message)


class SqlHandoffs:
    def __init__(self, engine: AsyncEngine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher
        self._single = OneStatement(engine)  # each read below is one statement

    def _row(self, handoff: Handoff) -> dict[str, object]:
        data = handoff.model_dump(exclude={"id", "user", "context", "status"})
        return {**data, "user_id": handoff.user, "status": handoff.status.value,
                "context": self._cipher.encrypt(handoff.context.model_dump_json())}

    def _handoff(self, row: sa.RowMapping) -> Handoff:
        data = dict(row)
        data["user"] = data.pop("user_id")
        data["context"] = HandoffContext.model_validate_json(self._cipher.decrypt(data["context"]))
        return Handoff.model_validate(data)

    def _message(self, row: sa.Row) -> HandoffMessage:
        return HandoffMessage(id=row.id, handoff_id=row.handoff_id, author=Author(row.author), staff_id=row.staff_id,
                              text=self._cipher.decrypt(row.text), created_at=row.created_at)

    async def add(self, handoff: Handoff, first: list[HandoffMessage]) -> Handoff:
        async with self._engine.begin() as conn:
            new_id = (await conn.execute(tables.handoffs.insert().values(**self._row(handoff))
                                         .returning(h.id))).scalar_one()
            for message in first:
                await conn.execute(tables.handoff_messages.insert().values(
                    handoff_id=new_id, author=message.author.value, staff_id=message.staff_id,
                    text=self._cipher.encrypt(message.text), created_at=message.created_at))
        return handoff.model_copy(update={"id": new_id})

    async def get(self, handoff_id: int) -> Handoff | None:
        async with self._single() as conn:
            row = (await conn.execute(tables.handoffs.select().where(h.id == handoff_id))).mappings().first()
        return self._handoff(row) if row else None

    async def open_for(self, user: str) -> Handoff | None:
        async with self._single() as conn:
            row = (await conn.execute(tables.handoffs.select().where(
                h.user_id == user, h.status.in_([s.value for s in OPEN])).order_by(h.id.desc()))).mappings().first()
        return self._handoff(row) if row else None

    async def listing(self, department: str, statuses: list[HandoffStatus], staff_id: int | None,
                      limit: int) -> list[Handoff]:
        whose = h.department == department
        if staff_id is not None:
            whose = sa.or_(whose, h.first_owner_id == staff_id, h.owner_id == staff_id)
        query = (tables.handoffs.select().where(whose, h.status.in_([s.value for s in statuses]))
                 .order_by(h.id.desc()).limit(limit))
        async with self._single() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [self._handoff(r) for r in reversed(rows)]

    async def update(self, handoff: Handoff, expect: HandoffStatus | None = None,
                     expect_owner: int | None = None) -> bool:
        query = tables.handoffs.update().where(h.id == handoff.id)
        if expect is not None:
            query = query.where(h.status == expect.value)
        if expect_owner is not None:
            query = query.where(h.owner_id == expect_owner)
        values = {k: v for k, v in self._row(handoff).items() if k not in _TOUCHED}
        async with self._engine.begin() as conn:
            result = await conn.execute(query.values(**values))
        return result.rowcount == 1

    async def add_message(self, message: HandoffMessage, touch: Mapping[str, object] | None = None) -> HandoffMessage:
        async with self._engine.begin() as conn:
            return await self._add_message(conn, message, touch)

    async def _add_message(self, conn: AsyncConnection, message: HandoffMessage,
                           touch: Mapping[str, object] | None) -> HandoffMessage:
        new_id = (await conn.execute(tables.handoff_messages.insert().values(
            handoff_id=message.handoff_id, author=message.author.value, staff_id=message.staff_id,
            text=self._cipher.encrypt(message.text), created_at=message.created_at).returning(m.id))).scalar_one()
        if touch:
            await conn.execute(tables.handoffs.update().where(h.id == message.handoff_id).values(**touch))
        return message.model_copy(update={"id": new_id})

    async def citizen_message(self, message: HandoffMessage) -> tuple[Handoff, HandoffMessage] | None:
        async with self._engine.begin() as conn:
            row = (await conn.execute(tables.handoffs.update()
                                      .where(h.id == message.handoff_id, h.status != HandoffStatus.closed.value)
                                      .values(last_citizen_at=message.created_at).returning(tables.handoffs)
                                      )).mappings().first()
            if row is None:
                return None
            return self._handoff(row), await self._add_message(conn, message, None)

    @asynccontextmanager
    async def locked(self, handoff_id: int) -> AsyncIterator[SqlLockedChat]:
        async with self._engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # its driver begins a transaction only at a write: lock, then read
                await conn.execute(tables.handoffs.update().where(h.id == handoff_id).values(id=h.id))
            row = (await conn.execute(tables.handoffs.select().where(h.id == handoff_id).with_for_update())
                   ).mappings().first()
            yield SqlLockedChat(self, conn, self._handoff(row) if row else None)

    async def messages(self, handoff_id: int, include_private: bool) -> list[HandoffMessage]:
        query = sa.select(tables.handoff_messages).where(m.handoff_id == handoff_id)
        if not include_private:
            query = query.where(m.author.not_in([Author.note.value, Author.event.value]))
        async with self._single() as conn:
            rows = (await conn.execute(query.order_by(m.id))).all()
        return [self._message(r) for r in rows]

    async def active_count(self, staff_id: int) -> int:
        async with self._single() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(tables.handoffs).where(
                h.owner_id == staff_id, h.status == HandoffStatus.active.value))).scalar_one())

    async def last_auto_owner(self, department: str) -> int | None:
        async with self._single() as conn:
            return (await conn.execute(sa.select(h.first_owner_id).where(
                h.department == department, h.auto_assigned.is_(True)).order_by(h.id.desc()).limit(1))).scalar()

    async def since(self, department: str, moment: datetime) -> list[Handoff]:
        open_ = h.status.in_([s.value for s in OPEN])
        async with self._single() as conn:
            rows = (await conn.execute(tables.handoffs.select().where(
                h.department == department, sa.or_(h.created_at >= moment, open_)).order_by(h.id))).mappings().all()
        return [self._handoff(r) for r in rows]

    async def overdue_callbacks(self, today: date) -> list[Handoff]:
        async with self._single() as conn:
            rows = (await conn.execute(tables.handoffs.select().where(
                h.status == HandoffStatus.callback.value, h.callback_due < today, h.escalated_at.is_(None))
                .order_by(h.id))).mappings().all()
        return [self._handoff(r) for r in rows]

    async def escalate(self, handoff_id: int, notice: StaffNotice) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(tables.handoffs.update().where(h.id == handoff_id, h.escalated_at.is_(None))
                                      .values(escalated_at=notice.created_at))
            if done.rowcount != 1:
                return False
            await conn.execute(tables.staff_notices.insert().values(**notice.model_dump(exclude={"id", "role"}),
                                                                    role=notice.role.value))
        return True

    async def purge(self, closed_before: datetime) -> int:
        async with self._engine.begin() as conn:
            old = sa.select(h.id).where(h.status == HandoffStatus.closed.value, h.closed_at < closed_before)
            await conn.execute(tables.handoff_messages.delete().where(m.handoff_id.in_(old)))
            done = await conn.execute(tables.handoffs.delete().where(h.id.in_(old)))
        return int(done.rowcount or 0)


class SqlLockedChat:
    """One chat's row locked (FOR UPDATE on PostgreSQL; SQLite has one writer) for the transaction of a message."""

    def __init__(self, store: SqlHandoffs, conn: AsyncConnection, handoff: Handoff | None) -> None:
        self._store, self._conn, self.handoff = store, conn, handoff

    async def add_message(self, message: HandoffMessage, touch: Mapping[str, object] | None = None) -> HandoffMessage:
        return await self._store._add_message(self._conn, message, touch)

    async def tell(self, user: str, text: str, dedupe_key: str, now: datetime) -> int | None:
        return await put_inbox(self._conn, user, None, text, dedupe_key, now)
