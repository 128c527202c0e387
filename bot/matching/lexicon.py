"""Text normalisation shared by the index and the query side: synonyms, fillers, pinyin keys, word boundaries."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable, Iterable, Protocol, TypeVar

import jieba
import pypinyin
from pydantic import BaseModel, ConfigDict, Field
from pypinyin import Style, lazy_pinyin

from bot.content_cache import cache_key
from bot.content_errors import load_model

_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_CJK_FIRST, _CJK_LAST = 0x4E00, 0x9FFF
# Sounds many speakers (and pinyin typists) do not tell apart.
_FUZZY_SOUNDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ing", "in"), ("eng", "en"))
T = TypeVar("T")
WORD_FREQ = 2000        # jieba frequency given to the lexicon's and the catalog's words
MAX_USER_WORD = 5       # longer user words (whole catalog names) are not given to jieba


class Dictionary(BaseModel):
    """intents/dictionaries/synonyms.yaml: canonical word -> variants citizens type; filler words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    fillers: list[str] = Field(default_factory=list)
    stop_chars: str = ""
    key_chars: str = ""     # single characters that tell services apart (补, 换, 转...)


class Shared(Protocol):
    """bot/content_cache.DiskCache: one object per key while something still holds it."""

    def shared(self, key: str, make: Callable[[], T]) -> T: ...


def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_SOUNDS:
        syllable = syllable.replace(long, short)
    return "l" + syllable[1:] if syllable.startswith("n") and syllable not in {"n", "ng"} else syllable


@cache
def _pinyin_table() -> tuple[dict[str, str], frozenset[str]]:
    """CJK char -> fuzzy toneless syllable, and every toneless syllable (to read pinyin typed in Latin letters):
    the same for every content version, so built once per process (seconds) and shared read-only."""
    chars = "".join(chr(c) for c in range(_CJK_FIRST, _CJK_LAST + 1))
    spoken = lazy_pinyin(chars, style=Style.NORMAL)
    return ({ch: _fuzzy_syllable(py) for ch, py in zip(chars, spoken)},
            frozenset(py for py in spoken if py.isalpha() and py.isascii()))


def _own_tokenizer() -> jieba.Tokenizer:
    """A tokenizer to add user words to, on a copy of jieba's default dictionary: the dictionary is read once per
    process (about a second), not once per content version."""
    jieba.dt.check_initialized()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(jieba.dt.FREQ), jieba.dt.total, True
    return tokenizer


def _tokenizer(words: list[str]) -> jieba.Tokenizer:
    """jieba's dictionary with `words` added (in this order: each addition raises the total frequency)."""
    tokenizer = _own_tokenizer()
    for word in words:
        tokenizer.add_word(word, freq=WORD_FREQ)
    return tokenizer


def boundaries(words: Iterable[str]) -> set[int]:
    """Offsets where one word ends and the next begins (0 and the end included)."""
    at, out = 0, {0}
    for word in words:
        at += len(word)
        out.add(at)
    return out


@dataclass(frozen=True)
class Lexicon:
    """Normalises text the same way for catalog phrases and user queries."""

    canonical: dict[str, str]                    # variant (or canonical word itself) -> canonical
    pattern: re.Pattern[str] | None              # all of them, longest first
    fillers: tuple[str, ...]
    stop_chars: frozenset[str]
    key_chars: frozenset[str]
    pinyin: dict[str, str]                       # CJK char -> fuzzy toneless syllable
    tokenizer: jieba.Tokenizer
    spelled: frozenset[str]                      # every toneless syllable, to read pinyin typed in Latin letters
    fingerprint: str = ""                        # what it was built from: equal fingerprints, equal terms

    @classmethod
    def build(cls, dictionary: Dictionary, user_words: Iterable[str] = (), shared: Shared | None = None) -> "Lexicon":
        """With `shared` (bot/content_cache.DiskCache), lexicons adding the same words to jieba's dictionary share
        one tokenizer: each holds a copy of the dictionary, about 15 MiB, and a publish that changes aliases,
        prompts or scripts (not names or synonyms) adds the same words."""
        canonical = {canon: canon for canon in dictionary.synonyms}
        canonical.update({v: canon for canon, variants in dictionary.synonyms.items() for v in variants})
        words = sorted(canonical, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, words))) if words else None
        table, spelled = _pinyin_table()
        fillers = tuple(sorted(dictionary.fillers, key=len, reverse=True))
        user_words = list(user_words)
        fingerprint = cache_key("lexicon", dictionary.model_dump_json(), *user_words, str(WORD_FREQ),
                                str(MAX_USER_WORD), jieba.__version__, pypinyin.__version__)
        added = [w for w in (_NOT_WORD.sub("", unicodedata.normalize("NFKC", w).lower())
                             for w in [*canonical, *user_words]) if 2 <= len(w) <= MAX_USER_WORD]
        tokenizer = (shared.shared(cache_key("jieba", *added), lambda: _tokenizer(added)) if shared
                     else _tokenizer(added))
        return cls(canonical, pattern, fillers, frozenset(dictionary.stop_chars),
                   frozenset(dictionary.key_chars), table, tokenizer, spelled, fingerprint)

    @classmethod
    def load(cls, path: Path, user_words: Iterable[str] = (), shared: Shared | None = None) -> "Lexicon":
        return cls.build(load_model(path, Dictionary, path.parent.parent), user_words, shared)

    @staticmethod
    def clean(text: str) -> str:
        """NFKC, lower case, no punctuation or spaces."""
        return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())

    def words(self, text: str) -> list[str]:
        """jieba words of a cleaned text (dictionary words only, no guessing of new words)."""
        words: list[str] = self.tokenizer.lcut(text, HMM=False)
        return words

    def normalize(self, text: str) -> str:
        """Cleaned text with variants replaced by their canonical word, only where the variant is a whole word
        (or run of words) of the text: 取 in 取公积金 is rewritten, 取 in 取消 never is."""
        text = self.clean(text)
        if self.pattern is None:
            return text
        # Twice: a rewritten word can complete a longer variant (西宁住院 -> 外地住院 -> 外地看病).
        for _ in range(2):
            cuts = boundaries(self.words(text))
            text = self.pattern.sub(
                lambda m: self.canonical[m.group(0)] if m.start() in cuts and m.end() in cuts else m.group(0), text)
        return text

    def inside_words(self, variant: str, text: str) -> bool:
        """Does `variant` occur in `text` only inside other words (so it would not be rewritten there)?"""
        text = self.clean(text)
        cuts = boundaries(self.words(text))
        found = [m.start() for m in re.finditer(re.escape(variant), text)]
        return bool(found) and all(s not in cuts or s + len(variant) not in cuts for s in found)

    def strip_fillers(self, text: str) -> str:
        """Replace polite and question words that say nothing about the service by spaces."""
        for filler in self.fillers:
            text = text.replace(filler, " ")
        return text

    def syllables(self, text: str) -> list[str]:
        """One fuzzy syllable per character (non-CJK characters stand for themselves)."""
        return [self.pinyin.get(ch, ch) for ch in text]

    def spelled_syllables(self, letters: str) -> list[str] | None:
        """Fuzzy syllables of pinyin typed in Latin letters (shenfenzheng -> shen fen zen), longest syllable
        first; None when the letters are not pinyin (an English word)."""
        out: list[str] = []
        at = 0
        while at < len(letters):
            size = next((n for n in range(min(6, len(letters) - at), 0, -1) if letters[at:at + n] in self.spelled), 0)
            if not size:
                return None
            out.append(_fuzzy_syllable(letters[at:at + size]))
            at += size
        return out


def load_user_words(path: Path) -> list[str]:
    """Extra words for jieba, one per line (# comments allowed)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
