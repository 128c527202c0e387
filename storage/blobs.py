"""Content-addressed blob stores (the sha256 hex is the blob id), metadata in SQL; the local filesystem one."""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import StoredBlob
from storage import tables
from storage.sql import _upsert

PURGE_BATCH = 500
_BLOB_ID = re.compile(r"[0-9a-f]{64}")


class ContentAddressedBlobStore(ABC):
    """`BlobStore` over any object space keyed by the sha256 of the content, with one row per blob in
    `tables.blobs`: the same content is stored once. Subclasses only write, read and delete objects."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine, self._clock = engine, clock

    @abstractmethod
    async def _write(self, blob_id: str, data: bytes, mime: str) -> None:
        """Store the object; storing the same id again must be harmless."""

    @abstractmethod
    async def _read(self, blob_id: str) -> bytes | None: ...

    @abstractmethod
    async def _delete(self, blob_id: str) -> None:
        """Remove the object; a missing one is not an error."""

    async def put(self, data: bytes, mime: str) -> StoredBlob:
        blob_id = hashlib.sha256(data).hexdigest()
        await self._write(blob_id, data, mime)
        async with self._engine.begin() as conn:
            stmt = _upsert(conn, tables.blobs).values(blob_id=blob_id, mime=mime, size=len(data),
                                                      created_at=self._clock(), claimed=False)
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["blob_id"]))
        return StoredBlob(blob_id=blob_id, mime=mime, size=len(data))

    async def get(self, blob_id: str) -> bytes | None:
        """The content, or None when there is none (an id that is no sha256 hex never reaches the store)."""
        return await self._read(blob_id) if _BLOB_ID.fullmatch(blob_id) else None

    async def purge_unclaimed(self, older_than: datetime) -> int:
        """Delete uploads no case or profile refers to (abandoned drafts) created before `older_than`.
        Objects go first, then their rows: if the store fails midway the rows remain and the next purge
        retries, so no object is ever left without a row that leads to it."""
        purged = 0
        while True:
            ids = await self._unclaimed(older_than)
            for blob_id in ids:
                await self._delete(blob_id)
            purged += await self._forget(ids, older_than)
            if len(ids) < PURGE_BATCH:
                return purged

    async def close(self) -> None:
        """Release the store's connections (none by default)."""

    @staticmethod
    def _is_unclaimed(older_than: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(tables.blobs.c.claimed.is_(False), tables.blobs.c.created_at < older_than)

    async def _unclaimed(self, older_than: datetime) -> list[str]:
        query = sa.select(tables.blobs.c.blob_id).where(self._is_unclaimed(older_than)).limit(PURGE_BATCH)
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars().all())

    async def _forget(self, ids: list[str], older_than: datetime) -> int:
        if not ids:
            return 0
        async with self._engine.begin() as conn:
            result = await conn.execute(tables.blobs.delete().where(
                tables.blobs.c.blob_id.in_(ids), self._is_unclaimed(older_than)))
        return result.rowcount


class LocalBlobStore(ContentAddressedBlobStore):
    """Files under root/ab/cd/<sha256>."""

    def __init__(self, root: Path, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        super().__init__(engine, clock)
        self._root = root

    def _path(self, blob_id: str) -> Path:
        return self._root / blob_id[:2] / blob_id[2:4] / blob_id

    async def _write(self, blob_id: str, data: bytes, mime: str) -> None:
        await asyncio.to_thread(self._write_file, self._path(blob_id), data)

    async def _read(self, blob_id: str) -> bytes | None:
        path = self._path(blob_id)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    async def _delete(self, blob_id: str) -> None:
        await asyncio.to_thread(self._path(blob_id).unlink, missing_ok=True)

    @staticmethod
    def _write_file(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # unique: the same file may be uploaded twice at once
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: readers never see half a file
