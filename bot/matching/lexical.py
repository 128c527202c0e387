"""Lexical ranking: IDF-weighted coverage, both ways, of a query's terms and every phrase of every target.

A term weighs its IDF over targets (a term every item has says nothing). A phrase scores the share of the
query's weight it explains (terms no target has count as unexplained), times the share of its own weight the
query explains to the power GAMMA: that is the length normalisation, so the exact short name beats a long
catch-all name that also contains the words, while a long name said in full beats its shorter prefix.
A target scores its best phrase.

The index is a few flat arrays (terms of each phrase, phrases of each term), built with numpy from the phrases'
terms. Extracting the terms is the slow part: with a cache (bot/content_cache.py) they are kept per run of about
CHUNK phrases, keyed by the lexicon and the run's text, so an unchanged catalog is indexed in milliseconds and a
new alias costs one run."""
from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np

from bot.content_cache import cache_key
from bot.matching.lexicon import Lexicon
from bot.matching.terms import CHARS, SHAPE, SOUND, WORD, terms

GAMMA = 0.5
KIND_WEIGHT = {WORD: 1.0, CHARS: 1.0, SOUND: 0.5, SHAPE: 0.3}   # a typo is weaker evidence than the characters
UNKNOWN = 0.5       # share of the highest IDF that a query term no target has counts against the score
FORMAT = "1"        # of the cached term arrays: bump when terms.py or phrase_terms changes what they hold
CHUNK = 64          # phrases per cached run, on average


def _kind(term: str) -> float:
    return KIND_WEIGHT[term[:2]]


class ArrayCache(Protocol):
    """bot/content_cache.DiskCache: arrays by kind and key, None when absent or not trusted."""

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray] | None: ...
    def put_arrays(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None: ...


def phrase_terms(lexicon: Lexicon, texts: list[str]) -> dict[str, np.ndarray]:
    """The terms of every phrase as arrays: `vocab` (every distinct term), `indptr` and `indices` (phrase i has
    the terms vocab[indices[indptr[i]:indptr[i + 1]]], in sorted order)."""
    ids: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        for term in sorted(terms(lexicon, text)):
            indices.append(ids.setdefault(term, len(ids)))
        indptr.append(len(indices))
    return {"vocab": np.array(list(ids), dtype=str), "indptr": np.array(indptr, dtype=np.int64),
            "indices": np.array(indices, dtype=np.int32)}


def _chunks(texts: list[str]) -> list[list[str]]:
    """Runs of phrases, each ending after a phrase whose hash is 0 modulo CHUNK: the cuts depend on the phrases
    themselves, so an edit (a new alias) changes one run and the others are still found in the cache."""
    out: list[list[str]] = [[]]
    for text in texts:
        out[-1].append(text)
        if zlib.crc32(text.encode()) % CHUNK == 0:
            out.append([])
    return [run for run in out if run]


def cached_phrase_terms(lexicon: Lexicon, texts: list[str], cache: ArrayCache | None) -> dict[str, np.ndarray]:
    """`phrase_terms`, each run of phrases read from `cache` when the same lexicon indexed it before."""
    if cache is None:
        return phrase_terms(lexicon, texts)
    runs = []
    for run in _chunks(texts):
        key = cache_key("terms", FORMAT, lexicon.fingerprint, *run)
        arrays = cache.get_arrays("terms", key)
        if arrays is None or not _consistent(arrays, len(run)):
            arrays = phrase_terms(lexicon, run)
            cache.put_arrays("terms", key, arrays)
        runs.append(arrays)
    if not runs:
        return phrase_terms(lexicon, [])
    # one vocabulary for all runs: each run's term ids shifted past the earlier runs' terms, then merged
    shifts = np.cumsum([0] + [len(a["vocab"]) for a in runs[:-1]])
    vocab, merged = np.unique(np.concatenate([a["vocab"] for a in runs]), return_inverse=True)
    indices = merged[np.concatenate([a["indices"] + shift for a, shift in zip(runs, shifts)])].astype(np.int32)
    sizes = np.concatenate([np.diff(a["indptr"]) for a in runs])
    indptr = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    return {"vocab": vocab, "indptr": indptr, "indices": indices}


def _consistent(arrays: dict[str, np.ndarray], phrases: int) -> bool:
    """Do cached arrays have the shapes the terms of `phrases` phrases need (a damaged file is rebuilt)?"""
    try:
        vocab, indptr, indices = arrays["vocab"], arrays["indptr"], arrays["indices"]
    except KeyError:
        return False
    return (len(indptr) == phrases + 1 and int(indptr[0]) == 0 and int(indptr[-1]) == len(indices)
            and bool(np.all(np.diff(indptr) >= 0))
            and (not len(indices) or 0 <= int(indices.min()) and int(indices.max()) < len(vocab)))


class LexicalIndex:
    """Built once from the terms of the phrases of targets 0..n-1 (`phrase_terms`; `owner`: the target of each
    phrase, grouped by target, in order); `scores` is pure."""

    def __init__(self, arrays: dict[str, np.ndarray], owner: np.ndarray, targets: int) -> None:
        vocab, indptr, indices = arrays["vocab"], arrays["indptr"], arrays["indices"]
        # The terms as sorted UTF-8 bytes (a few MiB for a 2,000-item catalog; a dict of str was ~14 MiB per
        # loaded version): a query's terms are found by binary search.
        keys = np.char.encode(vocab, "utf-8") if len(vocab) else np.zeros(0, dtype="S1")
        self._sorter = np.argsort(keys, kind="stable").astype(np.int32)
        self._keys = keys[self._sorter]
        counts = np.diff(indptr)
        phrase_of = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        # targets that have each term (a target's phrases sharing a term count once)
        pairs = np.unique(indices.astype(np.int64) * targets + owner[phrase_of])
        owners = np.bincount(pairs // targets, minlength=len(vocab))
        heads = vocab.astype("<U2")
        kinds = np.zeros(len(vocab), dtype=np.float64)
        for head, weight in KIND_WEIGHT.items():
            kinds[heads == head] = weight
        self.idf = np.log(1 + (targets - owners + 0.5) / (owners + 0.5)) * kinds
        self._unknown = UNKNOWN * float(self.idf.max()) if len(self.idf) else UNKNOWN
        mass = np.zeros(len(counts), dtype=np.float64)
        np.add.at(mass, phrase_of, self.idf[indices])
        self._mass = np.append(np.where(mass > 0, mass, 1.0), 1.0).astype(np.float32)
        order = np.argsort(indices, kind="stable")
        self._postings = phrase_of[order]
        self._offsets = np.searchsorted(indices[order], np.arange(len(vocab) + 1)).astype(np.int64)
        self._owner_of_term = owner[phrase_of]   # the target of each entry of indices
        self._indices = indices
        self._starts = np.searchsorted(owner, np.arange(targets)).astype(np.int64)
        self._phrases = len(counts)

    def _find(self, terms: list[str]) -> np.ndarray:
        """The id of each term, -1 for a term no phrase has."""
        if not terms or not len(self._keys):
            return np.full(len(terms), -1, dtype=np.int64)
        wanted = np.array([t.encode() for t in terms], dtype=bytes)
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        return np.where(self._keys[at] == wanted, self._sorter[at], -1)

    def terms_of_targets(self, prefix: str) -> list[frozenset[str]]:
        """For every target, the terms with this prefix of its phrases."""
        size = len(self._keys)
        wanted = np.zeros(size, dtype=bool)
        wanted[self._sorter[np.char.startswith(self._keys, prefix.encode())]] = True
        keep = wanted[self._indices] if len(self._indices) else np.zeros(0, dtype=bool)
        pairs = np.unique(self._owner_of_term[keep].astype(np.int64) * max(size, 1) + self._indices[keep])
        owners, found = np.divmod(pairs, max(size, 1))
        cuts = np.searchsorted(owners, np.arange(len(self._starts) + 1)).tolist()
        place = np.empty(size, dtype=np.int64)
        place[self._sorter] = np.arange(size)
        names = [term.decode() for term in self._keys[place[found]].tolist()]
        return [frozenset(names[cuts[t]:cuts[t + 1]]) for t in range(len(self._starts))]

    def scores(self, query: set[str]) -> np.ndarray:
        """One score per target, 0..1 (1: the query is exactly one of its phrases)."""
        total = np.zeros(self._phrases + 1, dtype=np.float32)
        possible = 0.0
        ordered = list(query)
        for term, i in zip(ordered, self._find(ordered).tolist()):
            if i < 0:
                possible += self._unknown * _kind(term)
                continue
            idf = self.idf[i]
            possible += idf
            total[self._postings[self._offsets[i]:self._offsets[i + 1]]] += idf
        if not possible:
            return np.zeros(len(self._starts), dtype=np.float32)
        scores = (total / possible) * (total / self._mass) ** GAMMA
        return np.maximum.reduceat(scores, self._starts)
