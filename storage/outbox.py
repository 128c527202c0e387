"""Outbox claiming for dispatchers (several at once, none runs a handler for an event another one holds), the
delivery state per event and handler, and the in-chat inbox."""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.outbox.dispatcher import Claimed, Delivery, Failure
from bot.notify import InboxMessage
from bot.outbox.events import OutboxEvent
from bot.ports import StaffNotice
from storage import tables
from storage.direct_pg import DirectPostgres, DirectStatement
from storage.sql import Atomic, OneStatement, _upsert, bound, one_statement, upsert_for

o, d = tables.outbox.c, tables.event_deliveries.c
_DELIVERIES = sa.select(tables.event_deliveries).where(d.event_id.in_(sa.bindparam("events_", expanding=True)))
_RELEASE = tables.outbox.update().where(o.id == bound("event")).values(
    lease_until=None, next_attempt_at=bound("next"), dispatched_at=bound("dispatched"))


def _recording(dialect: str, values: dict[str, Any]) -> Any:
    """Writes a delivery's state (`event_`, `handler_` and `values`); one already done stays done (a dispatcher whose
    lease ran out may report late)."""
    insert = upsert_for(dialect, tables.event_deliveries).values(
        {"event_id": bound("event"), "handler": bound("handler"), "attempts": 0, "dead": False, **values})
    return insert.on_conflict_do_update(index_elements=["event_id", "handler"], set_=values,
                                        where=d.done_at.is_(None))


_DONE = {"done_at": bound("now"), "next_attempt_at": None}


def _claiming(dialect: str) -> Any:
    """Leases up to `limit_` events due at `now_` until `until_`, returning them and whether any handler's state is
    stored for them (`tried`). Due: not dispatched, no later attempt planned, no lease running."""
    due = sa.and_(o.dispatched_at.is_(None), sa.or_(o.next_attempt_at.is_(None), o.next_attempt_at <= bound("now")),
                  sa.or_(o.lease_until.is_(None), o.lease_until < bound("now")))
    pick = sa.select(o.id).where(due).order_by(o.id).limit(bound("limit"))
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    tried = sa.exists().where(d.event_id == o.id).label("tried")
    return tables.outbox.update().where(o.id.in_(pick.scalar_subquery()), due) \
        .values(lease_until=bound("until")).returning(o.id, o.case_number, o.event_type, o.payload, tried)


_CLAIM_DIRECT = DirectStatement(_claiming("postgresql"))
_RELEASE_DIRECT = DirectStatement(_RELEASE)
_DONE_AND_RELEASE_DIRECT = DirectStatement(one_statement(_recording("postgresql", _DONE), _RELEASE))


class SqlOutbox:
    """The outbox's claims and delivery states. On PostgreSQL with `direct`, the claim and the release (with the last
    handler's success) run straight on asyncpg: every event takes both."""

    def __init__(self, engine: AsyncEngine, direct: DirectPostgres | None = None) -> None:
        self._engine, self._direct = engine, direct
        self._single = OneStatement(engine)
        self._claim = _claiming(engine.dialect.name)
        self._done = _recording(engine.dialect.name, _DONE)
        self._done_and_release = Atomic(engine.dialect.name, self._done, _RELEASE)
        self._failed = _recording(engine.dialect.name, {"attempts": bound("attempts"), "last_error": bound("error"),
                                                        "next_attempt_at": bound("retry"), "dead": bound("dead")})

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Lease up to `limit` due events to this dispatcher: one statement (PostgreSQL: autocommit, one round trip)
        that picks and leases them. PostgreSQL skips rows another dispatcher is claiming (FOR UPDATE SKIP LOCKED);
        the lease keeps them away from others while they are delivered. The delivery states are read after the
        claim (only the lease holder writes them, or a dispatcher whose lease ran out, late, as before), and only
        of the events the claim found tried before: a new event, the usual one, has none to read."""
        params = {"now_": now, "limit_": limit, "until_": now + lease}
        rows: list[Mapping[Any, Any]]
        if self._direct is not None:  # asyncpg gives a JSON column as its text
            rows = [{**r, "payload": json.loads(r["payload"])} for r in await self._direct.rows(_CLAIM_DIRECT, params)]
        else:
            async with self._single() as conn:
                rows = list((await conn.execute(self._claim, params)).mappings())
        tried = [r["id"] for r in rows if r["tried"]]
        states = await self._deliveries(tried) if tried else {}
        return [Claimed(OutboxEvent(id=r["id"], case_number=r["case_number"], type=r["event_type"],
                                    payload=r["payload"]), states.get(r["id"], {}))
                for r in sorted(rows, key=lambda row: row["id"])]

    async def _deliveries(self, event_ids: list[int]) -> dict[int, dict[str, Delivery]]:
        states: dict[int, dict[str, Delivery]] = {}
        async with self._single() as conn:
            for row in await conn.execute(_DELIVERIES, {"events_": event_ids}):
                states.setdefault(row.event_id, {})[row.handler] = Delivery(
                    attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                    settled=row.done_at is not None or row.dead, alerted=row.alerted_at is not None)
        return states

    async def done(self, event_id: int, handler: str, now: datetime) -> None:
        async with self._single() as conn:
            await conn.execute(self._done, {"event_": event_id, "handler_": handler, "now_": now})

    async def failed(self, event_id: int, handler: str, failure: Failure, now: datetime) -> None:
        """Count a failed attempt: retry at `failure.retry_at`, or give up (a dead letter); with an alert, store
        it as a staff notice unless this delivery alerted before."""
        async with self._engine.begin() as conn:
            await conn.execute(self._failed, {
                "event_": event_id, "handler_": handler, "attempts_": failure.attempts,
                "error_": failure.error[:500], "retry_": failure.retry_at, "dead_": failure.retry_at is None})
            if failure.alert is not None:
                await self._alert(conn, event_id, handler, failure.alert, now)

    @staticmethod
    async def _alert(conn: AsyncConnection, event_id: int, handler: str, notice: StaffNotice,
                     now: datetime) -> None:
        """The conditional update is the claim: of two dispatchers alerting for one delivery, one writes it."""
        claimed = await conn.execute(tables.event_deliveries.update()
                                     .where(d.event_id == event_id, d.handler == handler, d.alerted_at.is_(None))
                                     .values(alerted_at=now))
        if claimed.rowcount == 1:
            await conn.execute(tables.staff_notices.insert().values(
                **notice.model_dump(exclude={"id", "role"}), role=notice.role.value))

    async def release(self, event_id: int, next_attempt_at: datetime | None, now: datetime,
                      done: str | None = None) -> None:
        """End the lease; with `done`, record that handler's success in the same statement (PostgreSQL: a
        data-modifying CTE; SQLite: one transaction)."""
        params = {"event_": event_id, "next_": next_attempt_at, "dispatched_": now if next_attempt_at is None else None}
        if self._direct is not None:
            await self._direct.execute(_RELEASE_DIRECT if done is None else _DONE_AND_RELEASE_DIRECT,
                                       {**params, "handler_": done, "now_": now})
            return
        async with self._single() as conn:
            if done is None:
                await conn.execute(_RELEASE, params)
            else:
                await self._done_and_release.run(conn, {**params, "handler_": done, "now_": now})

    async def backlog(self) -> tuple[int, int]:
        """(events not yet dispatched, given-up deliveries): the outbox's health at a glance (metrics)."""
        count = sa.func.count()
        pending = sa.select(count).select_from(tables.outbox).where(o.dispatched_at.is_(None)).scalar_subquery()
        dead = sa.select(count).select_from(tables.event_deliveries).where(d.dead.is_(True)).scalar_subquery()
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(pending, dead))).one()
        return int(row[0]), int(row[1])

    async def dead_letters(self) -> list[dict[str, object]]:
        """Given-up deliveries, oldest event first: the event (id, case, type, created_at) and the handler with
        its attempts and last error."""
        query = (sa.select(o.id, o.case_number, o.event_type, d.handler, d.attempts, d.last_error, o.created_at)
                 .join(tables.event_deliveries, d.event_id == o.id).where(d.dead.is_(True))
                 .order_by(o.id, d.handler))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return [{**row, "created_at": row["created_at"].isoformat()} for row in rows]


async def put_inbox(conn: AsyncConnection, user: str, case_number: str | None, text: str, dedupe_key: str,
                    now: datetime) -> int | None:
    """One message of the citizen's chat list, inside the caller's transaction; None if the key is already there."""
    stmt = _upsert(conn, tables.inbox_messages).values(user_id=user, case_number=case_number, text=text,
                                                       created_at=now, dedupe_key=dedupe_key)
    new = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
                             .returning(tables.inbox_messages.c.id))
    return new.scalar()


class SqlInbox:
    """Messages shown in the citizen's chat; the dedupe key makes a redelivered event show once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, user: str, case_number: str | None, text: str, dedupe_key: str, now: datetime) -> int | None:
        async with self._engine.begin() as conn:
            return await put_inbox(conn, user, case_number, text, dedupe_key, now)

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

    async def recent(self, user: str, *, unread_only: bool, limit: int) -> list[InboxMessage]:
        m = tables.inbox_messages.c
        query = sa.select(m.id, m.text, m.case_number, m.created_at, m.read_at).where(m.user_id == user)
        if unread_only:
            query = query.where(m.read_at.is_(None))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(m.id.desc()).limit(limit))).all()
        return [InboxMessage(r.id, r.text, r.case_number, r.created_at, r.read_at is None) for r in reversed(rows)]

    async def acknowledge(self, user: str, ids: list[int] | None, up_to: int | None, now: datetime) -> int:
        m = tables.inbox_messages.c
        chosen = m.id.in_(ids or []) if up_to is None else m.id <= up_to
        async with self._engine.begin() as conn:
            done = await conn.execute(tables.inbox_messages.update()
                                      .where(m.user_id == user, m.read_at.is_(None), chosen).values(read_at=now))
        return int(done.rowcount or 0)
