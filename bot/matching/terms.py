"""The terms a phrase or a query is made of: character n-grams (so words no dictionary knows still count),
jieba words, fuzzy-pinyin n-grams for homophone typos (居注证, 公基金) that never straddle a word boundary
(套牌出租车 has no 牌出 ≈ 派出), and three characters with the middle one left open for shape typos (居往证).
Both the text as typed and the text with the lexicon's canonical words are used:
the lexicon adds ways to meet, it never takes the typed words away (广州 stays 广州 as well as 外地)."""
from __future__ import annotations

import re

from bot.matching.lexicon import Lexicon

MAX_GRAM = 3
WORD, CHARS, SOUND, SHAPE = "w:", "c:", "p:", "t:"   # term prefixes by kind


def _spans(words: list[str]) -> tuple[list[int], list[int]]:
    """For every character: start and end of the word it belongs to."""
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for word in words:
        starts.extend([at] * len(word))
        ends.extend([at + len(word)] * len(word))
        at += len(word)
    return starts, ends


def _segment_terms(lexicon: Lexicon, segment: str, out: set[str]) -> None:
    words = lexicon.words(segment)
    out.update(WORD + w for w in words if len(w) > 1 or w in lexicon.key_chars)
    starts, ends = _spans(words)
    syllables = lexicon.syllables(segment)
    n = len(segment)
    for s in range(n):
        for e in range(s + 1, min(n, s + MAX_GRAM) + 1):
            gram = segment[s:e]
            if _LETTERS.search(gram):
                continue   # Latin words count as whole words (w:idcard), not as letters
            if e - s == 1:
                if gram not in lexicon.stop_chars:
                    out.add(CHARS + gram)
                continue
            out.add(CHARS + gram)
            if e - s == MAX_GRAM:   # the middle character wrong (居往证 for 居住证)
                out.add(SHAPE + gram[0] + "?" + gram[2])
            # a sound window may hold whole words or lie inside one word, never cut a word in two
            if (starts[s] == s or ends[s] >= e) and (ends[e - 1] == e or starts[e - 1] <= s) \
                    and all(ch in lexicon.pinyin for ch in gram):
                out.add(SOUND + " ".join(syllables[s:e]))


_LETTERS = re.compile(r"[a-z]+")


def _spelled_terms(syllables: list[str], out: set[str]) -> None:
    """Sound n-grams of pinyin typed in Latin letters (gei baobao shang hukou)."""
    for s in range(len(syllables)):
        for e in range(s + 2, min(len(syllables), s + MAX_GRAM) + 1):
            out.add(SOUND + " ".join(syllables[s:e]))


def terms(lexicon: Lexicon, text: str) -> set[str]:
    """The terms of a text, typed form and canonical form together; fillers and question words are not terms."""
    out: set[str] = set()
    for form in {lexicon.clean(text), lexicon.normalize(text)}:
        for segment in lexicon.strip_fillers(form).split():
            for run in _LETTERS.findall(segment):
                syllables = lexicon.spelled_syllables(run)
                if syllables and len(syllables) >= 2:   # pinyin, not an English word
                    _spelled_terms(syllables, out)
                    segment = segment.replace(run, " ")
            for part in segment.split():
                _segment_terms(lexicon, part, out)
    return out
