"""Local filesystem blob store: content-addressed (sha256), metadata in SQL."""
from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path

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
                                                      created_at=datetime.now(timezone.utc))
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["blob_id"]))
        return StoredBlob(blob_id=blob_id, mime=mime, size=len(data))

    async def get(self, blob_id: str) -> bytes | None:
        path = self._path(blob_id)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: readers never see half a file
