"""Re-encrypt stored personal data with the current field key (after ZWB_FIELD_KEY was changed)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables
from storage.cipher import FieldCipher

_ENCRYPTED = ((tables.cases, tables.cases.c.id), (tables.profiles, tables.profiles.c.user_id))


async def rotate_keys(engine: AsyncEngine, cipher: FieldCipher, batch: int = 500) -> dict[str, int]:
    """Rewrite every payload not encrypted with the current key; returns rows rewritten per table."""
    counts: dict[str, int] = {}
    for table, key in _ENCRYPTED:
        counts[table.name] = 0
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(key, table.c.payload))).all()
        stale = [(k, payload) for k, payload in rows if not cipher.is_current(payload)]
        for start in range(0, len(stale), batch):
            async with engine.begin() as conn:
                for k, payload in stale[start:start + batch]:
                    await conn.execute(table.update().where(key == k)
                                       .values(payload=cipher.encrypt(cipher.decrypt(payload))))
            counts[table.name] += len(stale[start:start + batch])
    return counts
