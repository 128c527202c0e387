"""Local filesystem blob store: content-addressed (sha256), metadata in SQL."""
from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import StoredBlob
from storage import tables
from storage.sql import _upsert


class LocalBlobStore:
    """Files under root/ab/cd/<sha256>; the same content is stored once."""

    def __init__(self, root: Path, engine: AsyncEngine) -> None:
        self._root, self._engine = root, engine

    def _path(self, blob_id: str) -> Path:
        return self._root / blob_id[:2] / blob_id[2:4] / blob_id

    async def put(self, data: bytes, mime: str) -> StoredBlob:
        blob_id = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, self._path(blob_id), data)
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.blobs).values(blob_id=blob_id, mime=mime, size=len(data),
                                                      created_at=datetime.now(timezone.utc), claimed=False)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["blob_id"]))
        return StoredBlob(blob_id=blob_id, mime=mime, size=len(data))

    async def get(self, blob_id: str) -> bytes | None:
        path = self._path(blob_id)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    async def purge_unclaimed(self, older_than: datetime) -> int:
        """Delete uploads no case or profile refers to (abandoned drafts) created before `older_than`."""
        unclaimed = sa.and_(tables.blobs.c.claimed.is_(False), tables.blobs.c.created_at < older_than)
        async with self._engine.begin() as conn:
            ids = (await conn.execute(sa.select(tables.blobs.c.blob_id).where(unclaimed))).scalars().all()
            await conn.execute(tables.blobs.delete().where(unclaimed))
        for blob_id in ids:
            await asyncio.to_thread(self._path(blob_id).unlink, missing_ok=True)
        return len(ids)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # unique: the same file may be uploaded twice at once
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: readers never see half a file
