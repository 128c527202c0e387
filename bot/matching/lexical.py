"""Lexical ranking: BM25-like scores of a query's terms against every phrase of every target.

A term weighs its IDF over targets (a term every item has says nothing); a phrase's share of the weight is
length-normalised (the exact short name beats a long catch-all name that also contains the words). A target
scores its best phrase. Scores are divided by what the query's own terms could score, so they read as "how
much of what the citizen said this target explains" (terms no target has count as unexplained)."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from bot.matching.terms import CHARS, SOUND, WORD

K1, B = 1.2, 0.75
KIND_WEIGHT = {WORD: 1.0, CHARS: 1.0, SOUND: 0.5}   # a homophone is weaker evidence than the same characters
UNKNOWN = 0.5       # share of the highest IDF that a query term no target has counts against the score


def _kind(term: str) -> float:
    return KIND_WEIGHT[term[:2]]


class LexicalIndex:
    """Built once from the phrases of targets 0..n-1 (grouped by target, in order); `scores` is pure."""

    def __init__(self, phrases: list[tuple[int, str, set[str]]], targets: int) -> None:
        owners: dict[str, set[int]] = defaultdict(set)
        for target, _, terms in phrases:
            for term in terms:
                owners[term].add(target)
        self.idf = {t: math.log(1 + (targets - len(o) + 0.5) / (len(o) + 0.5)) * _kind(t) for t, o in owners.items()}
        self._unknown = UNKNOWN * max(self.idf.values(), default=1.0)
        lengths = np.array([max(1, len(text)) for _, text, _ in phrases], dtype=np.float32)
        average = float(lengths.mean()) if len(lengths) else 1.0
        share = (K1 + 1) / (1 + K1 * (1 - B + B * lengths / average))
        ids: dict[str, list[int]] = defaultdict(list)
        for i, (_, _, terms) in enumerate(phrases):
            for term in terms:
                ids[term].append(i)
        self._postings = {t: (np.array(p, dtype=np.int32), (self.idf[t] * share[p]).astype(np.float32))
                          for t, p in ids.items()}
        owner = np.array([target for target, _, _ in phrases], dtype=np.int32)
        self._starts = np.searchsorted(owner, np.arange(targets)).astype(np.int64)
        self._phrases = len(phrases)

    def scores(self, query: set[str]) -> np.ndarray:
        """One score per target, about 0..1 (a little above 1 for a short phrase said exactly)."""
        total = np.zeros(self._phrases + 1, dtype=np.float32)
        possible = 0.0
        for term in query:
            posting = self._postings.get(term)
            if posting is None:
                possible += self._unknown * _kind(term)
                continue
            possible += self.idf[term]
            total[posting[0]] += posting[1]
        best = np.maximum.reduceat(total, self._starts)
        return best / possible if possible else best
