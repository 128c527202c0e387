"""Login sessions and identities in SQL: revoked session tokens and identities that passed 实名核验.

Revocations live in SQL rather than Redis: a logout must survive a Redis restart (a lost revocation would let a
stolen token back in), and the embedded default has no Redis. The table holds only tokens logged out within their
lifetime (purged hourly); every instance keeps them in memory for the check on each request (bot/revocations.py).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables
from storage.cipher import KeyedHash
from storage.direct_pg import DirectPostgres, DirectStatement
from storage.sql import OneStatement, _upsert, bound, upsert_for

rs, vi = tables.revoked_sessions.c, tables.verified_identities.c
_KNOWN = sa.select(vi.user_id).where(vi.user_id == bound("user"), vi.identity_hash == bound("identity"))
_KNOWN_DIRECT = DirectStatement(_KNOWN)


def _remembering(dialect: str) -> Any:
    """Records a pass (`user_`, `identity_`, `at_`); one recorded before stays as it is."""
    return upsert_for(dialect, tables.verified_identities).values(
        user_id=bound("user"), identity_hash=bound("identity"), verified_at=bound("at")
    ).on_conflict_do_nothing(index_elements=["user_id", "identity_hash"])


_REMEMBER_DIRECT = DirectStatement(_remembering("postgresql"))


class SqlRevocations:
    """RevocationRecord of bot/revocations.py (which answers the checks from memory)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine, self._clock = engine, clock
        self._single = OneStatement(engine)

    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None:
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.revoked_sessions).values(
                token_id=token_id, user_id=user, expires_at=expires_at, revoked_at=self._clock())
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["token_id"]))

    async def unexpired(self, now: datetime) -> dict[str, datetime]:
        """Every revoked token id whose token has not expired, with its expiry (bot/revocations.py keeps them)."""
        async with self._single() as conn:
            rows = await conn.execute(sa.select(rs.token_id, rs.expires_at).where(rs.expires_at > now))
            return {row.token_id: row.expires_at for row in rows}

    async def purge(self, now: datetime) -> int:
        async with self._engine.begin() as conn:
            return (await conn.execute(tables.revoked_sessions.delete().where(rs.expires_at < now))).rowcount


class SqlVerifiedIdentities:
    """VerifiedIdentities of bot/identity.py: a keyed hash of name and 身份证号, nothing readable. On PostgreSQL
    with `direct` (a submit asks, and remembers a first pass), straight on asyncpg."""

    def __init__(self, engine: AsyncEngine, hasher: KeyedHash, direct: DirectPostgres | None = None) -> None:
        self._single, self._hasher, self._direct = OneStatement(engine), hasher, direct
        self._remember = _remembering(engine.dialect.name)

    def _hash(self, name: str, id_number: str) -> str:
        return self._hasher.digest(f"{name.strip()}|{id_number.strip()}")

    async def known(self, user: str, name: str, id_number: str) -> bool:
        params = {"user_": user, "identity_": self._hash(name, id_number)}
        if self._direct is not None:
            return await self._direct.value(_KNOWN_DIRECT, params) is not None
        async with self._single() as conn:
            return (await conn.execute(_KNOWN, params)).first() is not None

    async def remember(self, user: str, name: str, id_number: str, at: datetime) -> None:
        params = {"user_": user, "identity_": self._hash(name, id_number), "at_": at}
        if self._direct is not None:
            await self._direct.execute(_REMEMBER_DIRECT, params)
            return
        async with self._single() as conn:
            await conn.execute(self._remember, params)
