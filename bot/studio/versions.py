"""A content version: the files under intents/ (relative path -> text), named by their hash, and how a version is
read from and written to a directory."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel

Files = dict[str, str]
Source = Literal["seed", "cli", "studio"]


class ContentVersion(BaseModel):
    """An immutable snapshot of intents/ (its files are read apart: they are large)."""

    id: str
    parent: str | None
    source: Source
    author: str
    message: str
    created_at: datetime
    published_at: datetime | None = None


class Publication(BaseModel):
    """One move of the live pointer."""

    version_id: str
    previous_id: str | None
    action: Literal["publish", "rollback"]
    actor: str
    at: datetime


def version_id(files: Files) -> str:
    """sha256 over the sorted paths and their bytes: the same files always give the same id."""
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path].encode()
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def read_directory(directory: Path) -> Files:
    """Every file under `directory` (hidden ones and Python caches left out), keyed by its POSIX relative path."""
    files: Files = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
    return files


def safe_path(relative: str) -> bool:
    """A relative path that stays inside its directory (no absolute path, no `..`, no hidden part)."""
    parts = Path(relative).parts
    return bool(parts) and not Path(relative).is_absolute() and not any(
        p in ("..", "") or p.startswith(".") for p in parts) and "\\" not in relative


def materialise(files: Files, cache: Path) -> Path:
    """`cache/<id>/` holding the files, written once and atomically (a temporary directory renamed into place),
    so a reader never sees half a version and two processes writing the same version do not clash."""
    target = cache / version_id(files)
    if target.is_dir():
        os.utime(target)  # used now: `prune` keeps it
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache))
    try:
        for relative, text in files.items():
            if not safe_path(relative):
                raise ValueError(f"unsafe path in a content version: {relative!r}")
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def prune(cache: Path, older_than_seconds: float) -> int:
    """Remove the versions written under `cache` and not used for that long (they are written again when needed);
    how many were removed."""
    if not cache.is_dir():
        return 0
    cutoff, removed = time.time() - older_than_seconds, 0
    for entry in cache.iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


class VersionStore(Protocol):
    """Content versions and the live pointer (storage/content_versions.py)."""

    async def add(self, files: Files, *, parent: str | None, source: Source, author: str,
                  message: str) -> ContentVersion:
        """Store a version (idempotent: the same files give the stored version back unchanged)."""

    async def get(self, version: str) -> ContentVersion | None: ...

    async def files(self, version: str) -> Files | None: ...

    async def recent(self, limit: int = 100) -> list[ContentVersion]:
        """Newest first."""

    async def live(self) -> tuple[str, int] | None:
        """The live version and the pointer's generation; None before anything was published."""

    async def publish(self, version: str, actor: str, *, expect_generation: int | None) -> int | None:
        """Make `version` live if the pointer is still at `expect_generation` (None: it was never set); the new
        generation, or None when another move came first."""

    async def rollback(self, actor: str) -> str | None:
        """Take back the latest publish still in force: the version live before it is live again (returned);
        None when there is nothing to go back to."""

    async def history(self, limit: int = 50) -> list[Publication]:
        """Moves of the live pointer, newest first."""
