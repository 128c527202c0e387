"""Grouping similar utterances: normalised text, then char-bigram Jaccard (or containment for a short one)."""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

JACCARD = 0.4      # at least this share of bigrams in common: the same wish
CONTAINED = 0.8    # or this share of the shorter one's bigrams found in the longer one
_NOISE = re.compile(r"[\W_]+")
_NUMBERS = re.compile(r"\d+")  # masks (*) went with the punctuation


def normalise(text: str) -> str:
    """Width and case folded, punctuation and spaces gone, numbers and masked runs as one `#`."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _NUMBERS.sub("#", _NOISE.sub("", folded))


def bigrams(key: str) -> frozenset[str]:
    return frozenset(key[i:i + 2] for i in range(len(key) - 1)) if len(key) > 1 else frozenset({key})


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    common = len(a & b)
    if not common:
        return False
    return common / len(a | b) >= JACCARD or (min(len(a), len(b)) >= 3 and common / min(len(a), len(b)) >= CONTAINED)


class Grouper:
    """Assigns keys to groups: the first similar group known, else a new one. Known groups come as (id, key);
    a new group gets a negative id, numbered per grouper, until the store gives it a real one."""

    def __init__(self, known: Iterable[tuple[int, str]]) -> None:
        self._grams: dict[int, frozenset[str]] = {}
        self._index: dict[str, set[int]] = defaultdict(set)
        self._new = 0
        for group, key in known:
            self._add(group, key)

    def _add(self, group: int, key: str) -> None:
        self._grams[group] = grams = bigrams(key)
        for gram in grams:
            self._index[gram].add(group)

    def assign(self, key: str) -> int:
        grams = bigrams(key)
        seen = sorted({g for gram in grams for g in self._index.get(gram, ())}, key=lambda g: (g < 0, abs(g)))
        for group in seen:
            if similar(grams, self._grams[group]):
                return group
        self._new -= 1
        self._add(self._new, key)
        return self._new
