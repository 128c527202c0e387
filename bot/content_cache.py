"""Structures derived from content, kept on disk so that building the same content again (a restart, a second
instance, a rollback) reads them instead of computing them: the data of catalog files (as JSON), the terms of the
matcher's phrases. In memory, objects that versions built from the same input can share (validated catalog files,
jieba tokenizers), while one of them holds them.

A file is named by the SHA-256 of everything it was derived from plus FORMAT, and stores that key inside it: a file
written by other code, for other input, half written or damaged is not trusted (read as absent, then built and
written again). Files are written aside and renamed, so two processes starting together never read half a file.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import weakref
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

FORMAT = "1"   # bump when what a cache file holds changes meaning: older files are then ignored
KEEP_DAYS = 7  # files not used for this long are removed by `prune`

T = TypeVar("T")

_LOG = logging.getLogger("zhengwu.content_cache")


def cache_key(*parts: str) -> str:
    """The name of what `parts` derive (hex SHA-256, FORMAT included)."""
    digest = hashlib.sha256(FORMAT.encode())
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class DiskCache:
    """One folder of cache files; every method is safe to call from several threads and processes at once. Also
    remembers, while any content version still uses them, the objects built from the same input (`shared`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._live: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """The object `make` builds for this key, built once while a loaded version holds it: two versions with the
        same catalog file share its items (immutable models), two with the same words one tokenizer."""
        with self._lock:
            if (found := self._live.get(key)) is not None:
                return cast(T, found)
        made = make()
        with self._lock:
            return cast(T, self._live.setdefault(key, made))

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.directory / f"{kind}-{key[:40]}{suffix}"

    def _write(self, path: Path, write: Any) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
            with open(partial, "wb") as handle:
                write(handle)
            os.replace(partial, path)
        except OSError as exc:   # a read-only or full disk costs speed, never the build
            _LOG.warning("content cache %s not written: %s", path, exc)

    def get_bytes(self, kind: str, key: str) -> bytes | None:
        """What `put_bytes` stored under this key; None when absent or stored for another key."""
        path = self._path(kind, key, ".bin")
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _LOG.info("content cache %s not read (%s)", path, exc)
            return None
        head, _, body = stored.partition(b"\n")
        if head != key.encode():
            _LOG.info("content cache %s holds another key: ignored", path)
            return None
        os.utime(path)
        return body

    def put_bytes(self, kind: str, key: str, data: bytes) -> None:
        self._write(self._path(kind, key, ".bin"), lambda handle: handle.write(key.encode() + b"\n" + data))

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        """What `put_arrays` stored under this key; None when absent, damaged or stored for another key."""
        path = self._path(kind, key, ".npz")
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            if str(arrays.pop("_key", "")) == key:
                os.utime(path)
                return arrays
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            _LOG.info("content cache %s not read (%s)", path, exc)
            return None
        _LOG.info("content cache %s holds another key: ignored", path)
        return None

    def put_arrays(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        named: dict[str, Any] = {"_key": np.array(key), **arrays}
        self._write(self._path(kind, key, ".npz"), lambda handle: np.savez(handle, **named))

    def prune(self, max_age: float = KEEP_DAYS * 86400) -> int:
        """Remove files not used for `max_age` seconds (and leftovers of interrupted writes); how many."""
        removed = 0
        cutoff = time.time() - max_age
        for path in self.directory.glob("*") if self.directory.is_dir() else []:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
