"""Reading an upload without trusting the client. Before a byte of the file is read the user must be within
their upload rate and hold one of the upload slots (`per_user` of one user, `per_process` in all); the file then
streams to a temporary file (mode 0600, in the blob folder) instead of memory, each read within `idle_seconds`
and the whole within `total_seconds`; only a file that arrives whole in the first read (up to CHUNK) is kept in
memory. The temporary file is gone when the reading ends, however it ends."""
from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiohttp import BodyPartReader

from bot.uploads import Upload

CHUNK = 64 * 1024
T = TypeVar("T")


class UploadTimeout(Exception):
    """The client sent nothing for `idle_seconds`, or not the whole file within `total_seconds`."""


@dataclass(frozen=True)
class SpoolLimits:
    max_bytes: int
    idle_seconds: float
    total_seconds: float
    spool_dir: Path  # created 0700 on first use


class UploadSlots:
    """Uploads being read in this process, per user and in all (what bounds their memory and open files)."""

    def __init__(self, per_user: int, per_process: int) -> None:
        self._per_user, self._per_process = per_user, per_process
        self._by_user: dict[str, int] = {}
        self._total = 0

    @contextmanager
    def hold(self, user: str) -> Iterator[bool]:
        """Inside: True when a slot was free (it is held until the block ends), False when the cap is reached."""
        if self._total >= self._per_process or self._by_user.get(user, 0) >= self._per_user:
            yield False
            return
        self._total += 1
        self._by_user[user] = self._by_user.get(user, 0) + 1
        try:
            yield True
        finally:
            self._total -= 1
            if left := self._by_user[user] - 1:
                self._by_user[user] = left
            else:
                del self._by_user[user]


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """The awaitable's result; UploadTimeout when it takes longer than `seconds` (a timeout scope, not wait_for's
    task per read)."""
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise UploadTimeout(f"nothing received for {seconds:g} s") from None


async def spool(part: BodyPartReader, limits: SpoolLimits) -> Upload:
    """The file part. One that arrives whole in its first read (at most CHUNK bytes, the memory a held slot may
    take) stays in memory; a larger one streams through a temporary file. Past `max_bytes` reading stops and the
    upload is truncated."""
    try:
        async with asyncio.timeout(limits.total_seconds):
            first = await within(part.read_chunk(CHUNK), limits.idle_seconds)
            if part.at_eof():
                size, data = len(first), first
            else:
                size, data = await _through_file(part, first, limits)
    except TimeoutError:
        raise UploadTimeout(f"the file did not arrive within {limits.total_seconds:g} s") from None
    truncated = size > limits.max_bytes
    return Upload(filename=part.filename or "upload", data=b"" if truncated else data, truncated=truncated)


async def _through_file(part: BodyPartReader, first: bytes, limits: SpoolLimits) -> tuple[int, bytes]:
    """The part's size and content (empty past `max_bytes`), read after `first` through a temporary file."""
    limits.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=limits.spool_dir, prefix="upload-", suffix=".part")  # mode 0600
    path, size, chunk = Path(name), 0, first
    try:
        with os.fdopen(fd, "wb") as file:
            while chunk:
                file.write(chunk)
                size += len(chunk)
                if size > limits.max_bytes:
                    break
                chunk = await within(part.read_chunk(CHUNK), limits.idle_seconds)
        return size, b"" if size > limits.max_bytes else await asyncio.to_thread(path.read_bytes)
    finally:
        path.unlink(missing_ok=True)
