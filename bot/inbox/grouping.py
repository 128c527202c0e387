"""Grouping similar utterances: normalised text without the filler words the matcher ignores (synonyms.yaml),
then char-bigram Jaccard, or containment of a short one in a longer one."""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.content_errors import load_model
from bot.matching.lexicon import Dictionary

JACCARD = 0.4      # at least this share of bigrams in common: the same wish
CONTAINED = 0.8    # or this share of the shorter one's bigrams found in the longer one
_NOT_WORD = re.compile(r"[^0-9a-z*\u4e00-\u9fff]+")
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class Words:
    """What says nothing about the service: filler words (请问, 去哪里) and, at the ends of a part, stop characters
    (办, 的)."""

    fillers: tuple[str, ...] = ()
    stop_chars: str = ""

    @classmethod
    def load(cls, synonyms: Path) -> "Words":
        """The fillers and stop characters of intents/dictionaries/synonyms.yaml (no synonyms, no pinyin)."""
        dictionary = load_model(synonyms, Dictionary, synonyms.parent.parent)
        return cls(tuple(sorted(dictionary.fillers, key=len, reverse=True)), dictionary.stop_chars)


def normalise(text: str, words: Words = Words()) -> str:
    """The words of a wish: width and case folded; punctuation gone; the parts holding numbers or masked personal
    data (电话138****5678) left out; fillers and stop characters around them gone. When nothing is left, the
    whole text with numbers as `#`."""
    folded = unicodedata.normalize("NFKC", text).lower()
    parts = [p for p in _NOT_WORD.split(folded) if p]
    core = " ".join(p for p in parts if "*" not in p and not _NUMBERS.search(p))
    for filler in words.fillers:
        core = core.replace(filler, " ")
    key = "".join(part.strip(words.stop_chars) for part in core.split())
    return key if len(key) >= 2 else _NUMBERS.sub("#", "".join(parts).replace("*", ""))


def bigrams(key: str) -> frozenset[str]:
    return frozenset(key[i:i + 2] for i in range(len(key) - 1)) if len(key) > 1 else frozenset({key})


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    common = len(a & b)
    if not common:
        return False
    return common / len(a | b) >= JACCARD or (min(len(a), len(b)) >= 2 and common / min(len(a), len(b)) >= CONTAINED)


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
