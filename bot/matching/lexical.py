"""Lexical ranking: IDF-weighted coverage, both ways, of a query's terms and every phrase of every target.

A term weighs its IDF over targets (a term every item has says nothing). A phrase scores the share of the
query's weight it explains (terms no target has count as unexplained), times the share of its own weight the
query explains to the power GAMMA: that is the length normalisation, so the exact short name beats a long
catch-all name that also contains the words, while a long name said in full beats its shorter prefix.
A target scores its best phrase."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from bot.matching.terms import CHARS, SHAPE, SOUND, WORD

GAMMA = 0.5
KIND_WEIGHT = {WORD: 1.0, CHARS: 1.0, SOUND: 0.5, SHAPE: 0.3}   # a typo is weaker evidence than the characters
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
        self._mass = np.array([sum(self.idf[t] for t in terms) or 1.0 for _, _, terms in phrases] + [1.0],
                              dtype=np.float32)
        ids: dict[str, list[int]] = defaultdict(list)
        for i, (_, _, terms) in enumerate(phrases):
            for term in terms:
                ids[term].append(i)
        self._postings = {t: np.array(p, dtype=np.int32) for t, p in ids.items()}
        owner = np.array([target for target, _, _ in phrases], dtype=np.int32)
        self._starts = np.searchsorted(owner, np.arange(targets)).astype(np.int64)
        self._phrases = len(phrases)

    def scores(self, query: set[str]) -> np.ndarray:
        """One score per target, 0..1 (1: the query is exactly one of its phrases)."""
        total = np.zeros(self._phrases + 1, dtype=np.float32)
        possible = 0.0
        for term in query:
            posting = self._postings.get(term)
            if posting is None:
                possible += self._unknown * _kind(term)
                continue
            possible += self.idf[term]
            total[posting] += self.idf[term]
        if not possible:
            return np.zeros(len(self._starts), dtype=np.float32)
        scores = (total / possible) * (total / self._mass) ** GAMMA
        return np.maximum.reduceat(scores, self._starts)
