"""Lexical ranking: IDF-weighted coverage, both ways, of a query's terms and every phrase of every target.

A term weighs its IDF over targets (a term every item has says nothing). A phrase scores the share of the
query's weight it explains (terms no target has count as unexplained), times the share of its own weight the
query explains to the power GAMMA: that is the length normalisation, so the exact short name beats a long
catch-all name that also contains the words, while a long name said in full beats its shorter prefix.
A target scores its best phrase.

The index is a few flat arrays (terms of each phrase, phrases of each term), built with numpy from the phrases'
terms; the terms, the slow part, can come from a cache (bot/content_cache.py) keyed by the lexicon and the
phrases, so an unchanged catalog is indexed in milliseconds."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from bot.content_cache import cache_key
from bot.matching.lexicon import Lexicon
from bot.matching.terms import CHARS, SHAPE, SOUND, WORD, terms

GAMMA = 0.5
KIND_WEIGHT = {WORD: 1.0, CHARS: 1.0, SOUND: 0.5, SHAPE: 0.3}   # a typo is weaker evidence than the characters
UNKNOWN = 0.5       # share of the highest IDF that a query term no target has counts against the score
FORMAT = "1"        # of the cached term arrays: bump when terms.py or phrase_terms changes what they hold


def _kind(term: str) -> float:
    return KIND_WEIGHT[term[:2]]


class ArrayCache(Protocol):
    """bot/content_cache.DiskCache: arrays by kind and key, None when absent or not trusted."""

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None: ...
    def put_arrays(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None: ...


def phrase_terms(lexicon: Lexicon, phrases: list[tuple[int, str]]) -> dict[str, np.ndarray]:
    """The terms of every phrase as arrays: `vocab` (every distinct term), `indptr` and `indices` (phrase i has
    the terms vocab[indices[indptr[i]:indptr[i + 1]]]), `owner` (the target of each phrase)."""
    ids: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    for _, text in phrases:
        for term in sorted(terms(lexicon, text)):
            indices.append(ids.setdefault(term, len(ids)))
        indptr.append(len(indices))
    return {"vocab": np.array(list(ids), dtype=str), "indptr": np.array(indptr, dtype=np.int64),
            "indices": np.array(indices, dtype=np.int32),
            "owner": np.array([target for target, _ in phrases], dtype=np.int32)}


def cached_phrase_terms(lexicon: Lexicon, phrases: list[tuple[int, str]], cache: ArrayCache | None
                        ) -> dict[str, np.ndarray]:
    """`phrase_terms`, read from `cache` when the same lexicon indexed the same phrases before."""
    if cache is None:
        return phrase_terms(lexicon, phrases)
    key = cache_key("lexical", FORMAT, lexicon.fingerprint, *(f"{target}\t{text}" for target, text in phrases))
    arrays = cache.get_arrays("lexical", key)
    if arrays is None or not _consistent(arrays, len(phrases)):
        arrays = phrase_terms(lexicon, phrases)
        cache.put_arrays("lexical", key, arrays)
    return arrays


def _consistent(arrays: dict[str, np.ndarray], phrases: int) -> bool:
    """Do cached arrays have the shapes an index of `phrases` phrases needs (a damaged file is rebuilt)?"""
    try:
        vocab, indptr, indices, owner = arrays["vocab"], arrays["indptr"], arrays["indices"], arrays["owner"]
    except KeyError:
        return False
    return (len(indptr) == phrases + 1 and len(owner) == phrases and int(indptr[0]) == 0
            and int(indptr[-1]) == len(indices) and bool(np.all(np.diff(indptr) >= 0))
            and (not len(indices) or 0 <= int(indices.min()) and int(indices.max()) < len(vocab)))


class LexicalIndex:
    """Built once from the phrase terms of targets 0..n-1 (grouped by target, in order); `scores` is pure."""

    def __init__(self, arrays: dict[str, np.ndarray], targets: int) -> None:
        vocab, indptr, indices, owner = arrays["vocab"], arrays["indptr"], arrays["indices"], arrays["owner"]
        self.vocab: list[str] = vocab.tolist()
        self._ids = {term: i for i, term in enumerate(self.vocab)}
        counts = np.diff(indptr)
        phrase_of = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        # targets that have each term (a target's phrases sharing a term count once)
        pairs = np.unique(indices.astype(np.int64) * targets + owner[phrase_of])
        owners = np.bincount(pairs // targets, minlength=len(vocab))
        kinds = np.array([_kind(t) for t in self.vocab], dtype=np.float64)
        self.idf = np.log(1 + (targets - owners + 0.5) / (owners + 0.5)) * kinds
        self._unknown = UNKNOWN * float(self.idf.max()) if len(self.idf) else UNKNOWN
        mass = np.zeros(len(counts), dtype=np.float64)
        np.add.at(mass, phrase_of, self.idf[indices])
        self._mass = np.append(np.where(mass > 0, mass, 1.0), 1.0).astype(np.float32)
        order = np.argsort(indices, kind="stable")
        self._postings = phrase_of[order]
        self._offsets = np.searchsorted(indices[order], np.arange(len(vocab) + 1)).astype(np.int64)
        self._indptr, self._indices = indptr, indices
        self._starts = np.searchsorted(owner, np.arange(targets)).astype(np.int64)
        self._phrases = len(counts)

    def target_terms(self, target: int, prefix: str) -> frozenset[str]:
        """The terms with this prefix of the phrases of one target."""
        end = self._starts[target + 1] if target + 1 < len(self._starts) else self._phrases
        found = self._indices[self._indptr[self._starts[target]]:self._indptr[end]]
        return frozenset(t for t in (self.vocab[i] for i in np.unique(found)) if t.startswith(prefix))

    def scores(self, query: set[str]) -> np.ndarray:
        """One score per target, 0..1 (1: the query is exactly one of its phrases)."""
        total = np.zeros(self._phrases + 1, dtype=np.float32)
        possible = 0.0
        for term in query:
            i = self._ids.get(term)
            if i is None:
                possible += self._unknown * _kind(term)
                continue
            idf = self.idf[i]
            possible += idf
            total[self._postings[self._offsets[i]:self._offsets[i + 1]]] += idf
        if not possible:
            return np.zeros(len(self._starts), dtype=np.float32)
        scores = (total / possible) * (total / self._mass) ** GAMMA
        return np.maximum.reduceat(scores, self._starts)
