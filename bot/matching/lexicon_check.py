"""`make check` for the city lexicon: a synonym must never rewrite part of another word. Every phrase of the
catalog (names, short names, aliases, situations), the command words and everyday phrases is normalised as the
matcher would. The matcher rewrites only whole words of its own segmentation (which knows the lexicon's words);
where that segmentation cuts a common word of jieba's own dictionary (an added word that makes 交易所 read as
交易/所有), the rewrite would land inside that word: it is reported at the variant's line of synonyms.yaml."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Iterable

import jieba
import yaml

from bot.content_errors import ContentError, Loader
from bot.matching.lexicon import Lexicon, boundaries

COMMON = 1000   # jieba frequency from which a dictionary word counts as common


def _lines(path: Path) -> dict[str, int]:
    """Line of every canonical word and variant in synonyms.yaml."""
    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)
    lines: dict[str, int] = {}
    for key, value in root.value if isinstance(root, yaml.MappingNode) else []:
        if key.value != "synonyms" or not isinstance(value, yaml.MappingNode):
            continue
        for canonical, variants in value.value:
            lines.setdefault(str(canonical.value), canonical.start_mark.line + 1)
            for node in variants.value if isinstance(variants, yaml.SequenceNode) else []:
                lines.setdefault(str(node.value), node.start_mark.line + 1)
    return lines


@cache
def _plain() -> jieba.Tokenizer:
    """jieba with its own dictionary only, loaded once per process (it never changes; the studio checks as one
    types, and loading it took ~0.5 s CPU per check)."""
    plain = jieba.Tokenizer()
    plain.check_initialized()
    return plain


def rewrites_inside_words(lexicon: Lexicon, path: Path, phrases: Iterable[str]) -> list[ContentError]:
    """One error per (variant, word it would cut), at the variant's line of `path` (synonyms.yaml)."""
    if lexicon.pattern is None:
        return []
    plain = _plain()
    lines = _lines(path)
    seen: set[tuple[str, str]] = set()
    errors = []
    for phrase in phrases:
        text = lexicon.clean(phrase)
        ours = boundaries(lexicon.words(text))
        words = plain.lcut(text, HMM=False)
        spans, at = [], 0
        for word in words:
            spans.append((at, at + len(word), word))
            at += len(word)
        for m in lexicon.pattern.finditer(text):
            if not (m.start() in ours and m.end() in ours):
                continue   # not rewritten here
            for start, end, cut in spans:
                inside = start < m.start() < end or start < m.end() < end
                if not inside or len(cut) < 2 or plain.FREQ.get(cut, 0) < COMMON or cut in lexicon.canonical:
                    continue
                if (m.group(0), cut) not in seen:
                    seen.add((m.group(0), cut))
                    errors.append(ContentError(f"dictionaries/{path.name}", lines.get(m.group(0), 0),
                                               f"「{m.group(0)}」 would be rewritten inside 「{cut}」 ({phrase})"))
    return errors
