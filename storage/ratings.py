"""Ratings and rectification tickets in SQL; a bad rating and its ticket are written together."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.staff import StaffNotice
from bot.ratings import Rating, RatingLevel, Rectification, TicketStep
from storage import tables
from storage.sql import _upsert

r, t = tables.ratings.c, tables.rectifications.c


def _ticket(row: sa.RowMapping) -> Rectification:
    data = dict(row)
    data["level"] = RatingLevel(data["level"])
    return Rectification(**data)


class SqlRatings:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, case_number: str) -> Rating | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(tables.ratings.select().where(r.case_number == case_number))).mappings().first()
        if row is None:
            return None
        return Rating(case_number=row["case_number"], user=row["user_id"], level=RatingLevel(row["level"]),
                      tags=row["tags"], text=row["text"], is_default=row["is_default"],
                      created_at=row["created_at"], updated_at=row["updated_at"])

    async def save(self, rating: Rating, ticket: Rectification | None) -> Rectification | None:
        values = {"case_number": rating.case_number, "user_id": rating.user, "level": int(rating.level),
                  "tags": rating.tags, "text": rating.text, "is_default": rating.is_default,
                  "created_at": rating.created_at, "updated_at": rating.updated_at}
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.ratings).values(**values)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["case_number"], set_={k: v for k, v in values.items() if k != "created_at"}))
            if ticket is None:
                return None
            stmt = _upsert(conn, tables.rectifications).values(
                **ticket.model_dump(exclude={"id", "level"}), level=int(ticket.level))
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["case_number"]))
            row = (await conn.execute(tables.rectifications.select()
                                      .where(t.case_number == rating.case_number))).mappings().one()
            await conn.execute(tables.outbox.insert().values(
                case_number=rating.case_number, event_type="rating.bad", created_at=rating.updated_at,
                payload={"number": rating.case_number, "user": rating.user, "ticket": row["id"]}))
        return _ticket(row)

    async def tickets(self, departments: list[str]) -> list[Rectification]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(tables.rectifications.select().where(t.department.in_(departments))
                                       .order_by(t.id))).mappings().all()
        return [_ticket(row) for row in rows]

    async def ticket(self, ticket_id: int) -> Rectification | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(tables.rectifications.select().where(t.id == ticket_id))).mappings().first()
        return _ticket(row) if row else None

    async def update_ticket(self, ticket: Rectification, event: dict[str, object] | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.rectifications.update().where(t.id == ticket.id).values(
                status=ticket.status, callback_note=ticket.callback_note, result=ticket.result,
                closed_at=ticket.closed_at, citizen_resolved=ticket.citizen_resolved,
                supervision_note=ticket.supervision_note, supervised_at=ticket.supervised_at))
            if event:
                await conn.execute(tables.outbox.insert().values(
                    case_number=ticket.case_number, event_type=str(event["type"]),
                    created_at=ticket.closed_at or sa.func.now(), payload=event))

    async def unclosed_tickets(self) -> list[Rectification]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(tables.rectifications.select().where(t.status != "closed")
                                       .order_by(t.id))).mappings().all()
        return [_ticket(row) for row in rows]

    async def escalate(self, ticket_id: int, step: TicketStep, notice: StaffNotice) -> bool:
        """The conditional update is the claim: of several instances escalating at once, one matches the row."""
        column = t.callback_escalated_at if step == "callback" else t.rectify_escalated_at
        async with self._engine.begin() as conn:
            claimed = await conn.execute(tables.rectifications.update()
                                         .where(t.id == ticket_id, column.is_(None))
                                         .values({column: notice.created_at}))
            if claimed.rowcount != 1:
                return False
            await conn.execute(tables.staff_notices.insert().values(
                **notice.model_dump(exclude={"id", "role"}), role=notice.role.value))
        return True

    async def reopen(self, ticket: Rectification, notice: StaffNotice) -> bool:
        """The conditional update is the claim: a second "not resolved" (or instance) matches no row."""
        async with self._engine.begin() as conn:
            claimed = await conn.execute(tables.rectifications.update()
                                         .where(t.id == ticket.id, t.status == "closed", t.citizen_resolved.is_(None))
                                         .values(status=ticket.status, citizen_resolved=ticket.citizen_resolved,
                                                 closed_at=None, callback_due=ticket.callback_due,
                                                 rectify_due=ticket.rectify_due, callback_escalated_at=None,
                                                 rectify_escalated_at=None))
            if claimed.rowcount != 1:
                return False
            await conn.execute(tables.staff_notices.insert().values(
                **notice.model_dump(exclude={"id", "role"}), role=notice.role.value))
        return True

    async def reopenings(self, ticket_ids: list[int]) -> dict[int, list[datetime]]:
        """Read from the supervisors' notices of kind rectification.reopened (one per reopening)."""
        n = tables.staff_notices.c
        query = (sa.select(n.ticket_id, n.created_at).where(n.kind == "rectification.reopened",
                                                             n.ticket_id.in_(ticket_ids)).order_by(n.id))
        result: dict[int, list[datetime]] = {}
        async with self._engine.connect() as conn:
            for row in (await conn.execute(query)).all():
                result.setdefault(row.ticket_id, []).append(row.created_at)
        return result

    async def for_user(self, user: str) -> list[Rectification]:
        """Tickets of the user's ratings (to ask whether a closed one resolved the problem)."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(tables.rectifications.select()
                                       .join(tables.ratings, r.case_number == t.case_number)
                                       .where(r.user_id == user).order_by(t.id))).mappings().all()
        return [_ticket(row) for row in rows]

    async def unrated_finished(self, before: datetime) -> list[tuple[str, str]]:
        """(case number, user) of completed or refused cases, finished before `before`, never rated."""
        c = tables.cases.c
        query = (sa.select(c.number, c.user_id)
                 .select_from(tables.cases.outerjoin(tables.ratings, r.case_number == c.number))
                 .where(c.status.in_(["completed", "refused"]), c.updated_at < before, r.case_number.is_(None))
                 .order_by(c.id))
        async with self._engine.connect() as conn:
            return [(row.number, row.user_id) for row in (await conn.execute(query)).all()]

    async def all_ratings(self) -> list[tuple[str, int, bool]]:
        """(target of the case, level, is_default) of every rating, for statistics (nothing decrypted)."""
        c = tables.cases.c
        query = sa.select(c.target, r.level, r.is_default).select_from(
            tables.ratings.join(tables.cases, c.number == r.case_number))
        async with self._engine.connect() as conn:
            return [(row.target, row.level, row.is_default) for row in (await conn.execute(query)).all()]
