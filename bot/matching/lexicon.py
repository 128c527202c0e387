"""Text normalisation shared by the index and the query side: synonyms, fillers, pinyin keys."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pypinyin import Style, lazy_pinyin

from bot.content_errors import load_model

_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_CJK_FIRST, _CJK_LAST = 0x4E00, 0x9FFF
# Sounds many speakers (and pinyin typists) do not tell apart.
_FUZZY_SOUNDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ing", "in"), ("eng", "en"))


class Dictionary(BaseModel):
    """intents/dictionaries/synonyms.yaml: canonical word -> variants citizens type; filler words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    fillers: list[str] = Field(default_factory=list)
    stop_chars: str = ""
    key_chars: str = ""     # the only single characters that are terms on their own (补, 换, 转...)


def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_SOUNDS:
        syllable = syllable.replace(long, short)
    return "l" + syllable[1:] if syllable.startswith("n") and syllable not in {"n", "ng"} else syllable


@cache
def _pinyin_table() -> dict[str, str]:
    """CJK char -> fuzzy toneless syllable: the same for every content version, so built once per process
    (seconds) and shared read-only."""
    chars = "".join(chr(c) for c in range(_CJK_FIRST, _CJK_LAST + 1))
    return {ch: _fuzzy_syllable(py) for ch, py in zip(chars, lazy_pinyin(chars, style=Style.NORMAL))}


@dataclass(frozen=True)
class Lexicon:
    """Normalises text the same way for catalog phrases and user queries."""

    canonical: dict[str, str]                    # variant (or canonical word itself) -> canonical
    pattern: re.Pattern[str] | None              # all of them, longest first
    fillers: tuple[str, ...]
    stop_chars: frozenset[str]
    key_chars: frozenset[str]
    pinyin: dict[str, str]                       # CJK char -> fuzzy toneless syllable

    @classmethod
    def build(cls, dictionary: Dictionary) -> "Lexicon":
        canonical = {canon: canon for canon in dictionary.synonyms}
        canonical.update({v: canon for canon, variants in dictionary.synonyms.items() for v in variants})
        words = sorted(canonical, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, words))) if words else None
        fillers = tuple(sorted(dictionary.fillers, key=len, reverse=True))
        return cls(canonical, pattern, fillers, frozenset(dictionary.stop_chars),
                   frozenset(dictionary.key_chars), _pinyin_table())

    @classmethod
    def load(cls, path: Path) -> "Lexicon":
        return cls.build(load_model(path, Dictionary, path.parent.parent))

    def normalize(self, text: str) -> str:
        """NFKC, lower case, no punctuation or spaces, variants replaced by their canonical word."""
        text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
        if self.pattern is None:
            return text
        # Twice: a rewritten word can complete a longer variant (西宁住院 -> 外地住院 -> 外地看病).
        for _ in range(2):
            text = self.pattern.sub(lambda m: self.canonical[m.group(0)], text)
        return text

    def strip_fillers(self, text: str) -> str:
        """Remove polite and question words that say nothing about the service."""
        for filler in self.fillers:
            text = text.replace(filler, " ")
        return text

    def syllables(self, text: str) -> list[str]:
        """One fuzzy syllable per character (non-CJK characters stand for themselves)."""
        return [self.pinyin.get(ch, ch) for ch in text]


def load_user_words(path: Path) -> list[str]:
    """Extra words for jieba, one per line (# comments allowed)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


