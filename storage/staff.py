"""Staff accounts (bearer tokens stored as SHA-256), the audit log of staff access to cases, and staff notices."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog.models import Level
from bot.lifecycle import Role
from bot.staff import Staff, StaffNotice
from storage import tables
from storage.sql import OneStatement


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _staff(row: sa.RowMapping) -> Staff:
    return Staff(id=row["id"], name=row["name"], role=Role(row["role"]), department=row["department"],
                 level=Level(row["level"]))


class SqlStaff:
    """A token works until it expires (`token_lifetime` after it was issued), is revoked or rotated, or the
    account is disabled; only its SHA-256 is stored."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime],
                 token_lifetime: timedelta = timedelta(days=90)) -> None:
        self._engine, self._clock, self._lifetime = engine, clock, token_lifetime
        self._single = OneStatement(engine)  # by_token runs on every staff request

    async def by_token(self, token: str) -> Staff | None:
        s = tables.staff.c
        async with self._single() as conn:
            row = (await conn.execute(tables.staff.select().where(
                s.token_hash == _hash(token), s.disabled_at.is_(None), s.token_expires_at > self._clock()))
                   ).mappings().first()
        return _staff(row) if row else None

    async def get(self, staff_id: int) -> Staff | None:
        """An enabled account by id (a chat is transferred to a person by id)."""
        s = tables.staff.c
        async with self._engine.connect() as conn:
            row = (await conn.execute(tables.staff.select().where(s.id == staff_id, s.disabled_at.is_(None)))
                   ).mappings().first()
        return _staff(row) if row else None

    async def add(self, name: str, role: Role, department: str, level: Level) -> tuple[Staff, str]:
        token, now = secrets.token_urlsafe(32), self._clock()
        async with self._engine.begin() as conn:
            staff_id = (await conn.execute(tables.staff.insert().values(
                name=name, role=role.value, department=department, level=level.value, token_hash=_hash(token),
                created_at=now, token_expires_at=now + self._lifetime).returning(tables.staff.c.id))).scalar_one()
        return Staff(id=staff_id, name=name, role=role, department=department, level=level), token

    async def rotate(self, staff_id: int) -> tuple[str, datetime] | None:
        """A new token (and its expiry) for an enabled account, replacing the old one; None if there is none."""
        token, now = secrets.token_urlsafe(32), self._clock()
        expires = now + self._lifetime
        changed = await self._update(staff_id, token_hash=_hash(token), token_expires_at=expires)
        return (token, expires) if changed else None

    async def revoke(self, staff_id: int) -> bool:
        """The account's current token stops working now (rotate gives a new one); False if no such account."""
        return await self._update(staff_id, token_expires_at=self._clock())

    async def disable(self, staff_id: int) -> bool:
        """No token of the account works any more, and none can be rotated in; False if no such enabled account."""
        return await self._update(staff_id, disabled_at=self._clock())

    async def _update(self, staff_id: int, **values: object) -> bool:
        s = tables.staff.c
        async with self._engine.begin() as conn:
            result = await conn.execute(tables.staff.update()
                                        .where(s.id == staff_id, s.disabled_at.is_(None)).values(**values))
        return result.rowcount == 1


class SqlAudit:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine, self._clock = engine, clock

    async def record(self, staff: Staff, action: str, case_number: str | None, detail: dict[str, object]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.audit_log.insert().values(
                at=self._clock(), staff_id=staff.id, action=action, case_number=case_number,
                detail=detail))

    async def entries(self, case_number: str) -> list[dict[str, object]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(tables.audit_log).where(tables.audit_log.c.case_number == case_number)
                                       .order_by(tables.audit_log.c.id))).mappings().all()
        return [dict(r) for r in rows]


class SqlStaffNotices:
    """Notices addressed to a role in a department (written by the escalation sweep in storage/ratings.py)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_staff(self, staff: Staff, after: int) -> list[StaffNotice]:
        n = tables.staff_notices.c
        async with self._engine.connect() as conn:
            rows = (await conn.execute(tables.staff_notices.select()
                                       .where(n.department == staff.department, n.role == staff.role.value,
                                              n.id > after)
                                       .order_by(n.id.desc()).limit(200))).mappings().all()
        return [StaffNotice.model_validate({**row, "role": Role(row["role"]), "created_at": row["created_at"]})
                for row in rows]
