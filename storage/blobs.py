"""Content-addressed blob stores, encrypted at rest (storage/blob_sealing.py: the id is an HMAC of the owner and
the content's sha256, each object sealed with its own data key), metadata and wrapped keys in SQL; the local
filesystem one (files 0600 in folders 0700)."""
from __future__ import annotations

import asyncio
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import StoredBlob
from storage import tables
from storage.blob_sealing import BlobSealer, is_sealed
from storage.sql import OneStatement, bound, upsert_for

PURGE_BATCH = 500
INLINE_BYTES = 256 * 1024  # hashing, sealing or writing less than this costs less CPU than handing it to a thread
_BLOB_ID = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


class ContentAddressedBlobStore(ABC):
    """`BlobStore` over any object space, with one row per blob in `tables.blobs`: the same content from the same
    owner is stored once. Subclasses only write, read and delete objects (already sealed)."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime], sealer: BlobSealer) -> None:
        self._engine, self._clock, self._sealer = engine, clock, sealer
        self._single = OneStatement(engine)
        add = upsert_for(engine.dialect.name, tables.blobs).values(
            blob_id=bound("blob_id"), mime=bound("mime"), size=bound("size"), created_at=bound("now"), claimed=False,
            data_key=bound("data_key"), key_id=bound("key_id"))
        # A row already there stays as it is: the no-op update only makes the statement return its key.
        self._add = add.on_conflict_do_update(index_elements=["blob_id"], set_={"blob_id": tables.blobs.c.blob_id}) \
            .returning(tables.blobs.c.data_key)

    @abstractmethod
    async def _write(self, blob_id: str, data: bytes, mime: str, replace: bool = False) -> None:
        """Store the object; storing the same id again must be harmless (and replace it when `replace`)."""

    @abstractmethod
    async def _read(self, blob_id: str) -> bytes | None: ...

    @abstractmethod
    async def _delete(self, blob_id: str) -> None:
        """Remove the object; a missing one is not an error."""

    async def put(self, data: bytes, mime: str, owner: str) -> StoredBlob:
        """Store `owner`'s upload sealed. The row (with the data key) goes first: a second put of the same content,
        even at the same moment, seals with the key the row holds, so whichever object lands can be opened. When
        the object cannot be written the row stays, unclaimed: a retry uses it, else the draft purge removes it."""
        blob_id = await _off_loop(len(data), self._sealer.address, owner, data)
        fresh = self._sealer.new_key()
        async with self._single() as conn:
            wrapped = (await conn.execute(self._add, {
                "blob_id_": blob_id, "mime_": mime, "size_": len(data), "now_": self._clock(), "data_key_": fresh,
                "key_id_": self._sealer.key_id(fresh)})).scalar_one()
        await self._write(blob_id, await _off_loop(len(data), self._sealer.seal, wrapped, blob_id, data), mime)
        return StoredBlob(blob_id=blob_id, mime=mime, size=len(data))

    async def get(self, blob_id: str) -> bytes | None:
        """The content, or None when there is none (an id that is no 64-hex address never reaches the store)."""
        if not _BLOB_ID.fullmatch(blob_id) or (stored := await self._read(blob_id)) is None:
            return None
        async with self._single() as conn:
            row = (await conn.execute(sa.select(tables.blobs.c.data_key)
                                      .where(tables.blobs.c.blob_id == blob_id))).first()
        if row is None:
            return None
        return await _off_loop(len(stored), self._sealer.open, row.data_key, blob_id, stored)

    async def reseal(self) -> dict[str, int]:
        """After the field key changed, or once after upgrading: re-wrap every data key not under the current
        field key (rows only, objects untouched), and seal the objects stored in clear before encryption.
        Each step can be interrupted and run again."""
        counts = {"blob_keys_rewrapped": 0, "blobs_sealed": 0}
        b = tables.blobs.c
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(b.blob_id, b.data_key, b.key_id))).all()
        for blob_id, wrapped, key_id in rows:
            if key_id is None:
                counts["blobs_sealed"] += await self._seal_clear(blob_id)
            elif key_id != self._sealer.current_key_id:
                async with self._engine.begin() as conn:
                    done = await conn.execute(tables.blobs.update().where(b.blob_id == blob_id, b.key_id == key_id)
                                              .values(data_key=self._sealer.rewrap(wrapped),
                                                      key_id=self._sealer.current_key_id))
                counts["blob_keys_rewrapped"] += done.rowcount
        return counts

    async def _seal_clear(self, blob_id: str) -> int:
        """Seal an object stored before encryption: give its row a data key, replace the object, then record the
        key id (an object already sealed by an interrupted run only gets its key id)."""
        b = tables.blobs.c
        stored = await self._read(blob_id)
        if stored is None:
            return 0
        async with self._engine.begin() as conn:
            await conn.execute(tables.blobs.update().where(b.blob_id == blob_id, b.data_key.is_(None))
                               .values(data_key=self._sealer.new_key()))
            wrapped = (await conn.execute(sa.select(b.data_key).where(b.blob_id == blob_id))).scalar_one()
        if not is_sealed(stored):
            await self._write(blob_id, self._sealer.seal(wrapped, blob_id, stored), "application/octet-stream",
                              replace=True)
        async with self._engine.begin() as conn:
            await conn.execute(tables.blobs.update().where(b.blob_id == blob_id)
                               .values(key_id=self._sealer.key_id(wrapped)))
        return 1

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


async def _off_loop(size: int, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` on a thread when it handles `size` bytes or more, else here (no thread hop for small files)."""
    return work(*args) if size < INLINE_BYTES else await asyncio.to_thread(work, *args)


class LocalBlobStore(ContentAddressedBlobStore):
    """Files under root/ab/cd/<blob id>, readable by the app's user alone."""

    def __init__(self, root: Path, engine: AsyncEngine, clock: Callable[[], datetime], sealer: BlobSealer) -> None:
        super().__init__(engine, clock, sealer)
        self._root = root

    def _path(self, blob_id: str) -> Path:
        return self._root / blob_id[:2] / blob_id[2:4] / blob_id

    async def _write(self, blob_id: str, data: bytes, mime: str, replace: bool = False) -> None:
        await _off_loop(len(data), self._write_file, self._root, self._path(blob_id), data, replace)

    async def _read(self, blob_id: str) -> bytes | None:
        path = self._path(blob_id)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    async def _delete(self, blob_id: str) -> None:
        await asyncio.to_thread(self._path(blob_id).unlink, missing_ok=True)

    @staticmethod
    def _write_file(root: Path, path: Path, data: bytes, replace: bool) -> None:
        if path.exists() and not replace:
            return
        if replace or not path.parent.is_dir():  # replace: resealing, which also mends folders of before encryption
            for folder in (root, path.parent.parent, path.parent):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)  # also the folders made world-readable before encryption
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")  # unique: the same file may be uploaded twice at once
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(data)
        os.replace(tmp, path)  # atomic: readers never see half a file
