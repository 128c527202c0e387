"""Chinese punctuation for imported citizen-facing text: what the publish check `punctuation` asks for
(bot/content_lint.py), done to the text instead of reported on it. Text without a Chinese character is left alone,
and so are web addresses inside it."""
from __future__ import annotations

import re

from bot.content_lint import WEB_ADDRESS

_CJK = re.compile(r"[\u4e00-\u9fff]")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "...": "……"}
# An ASCII comma, semicolon, colon, exclamation mark or "...", touching a Chinese character (the check's rule).
_ASCII_BY_CJK = re.compile(r"(?<=[\u4e00-\u9fff])(?:[,;:!]|\.\.\.)|(?:[,;:!]|\.\.\.)(?=[\u4e00-\u9fff])")
_SINGLE_QUOTE_BY_CJK = re.compile(r"(?<=[\u4e00-\u9fff])'|'(?=[\u4e00-\u9fff])")
# A run of marks that end or split a sentence ("。。", "，。", "、；"): the strongest one is kept.
_RUN = re.compile(r"[。，；：、]{2,}")
_STRENGTH = "、，：；。"
_REPEATED = re.compile(r"([！？])\1+")


def _pairs(text: str, mark: str, opening: str, closing: str) -> str:
    """ASCII quotes as opening and closing marks in turn."""
    parts = text.split(mark)
    return "".join(part + (opening if i % 2 == 0 else closing) for i, part in enumerate(parts[:-1])) + parts[-1]


def chinese_punctuation(text: str) -> str:
    """`text` with full-width ，；：！？ and “” ‘’ for ASCII marks in Chinese text, and no doubled marks ("。。")."""
    if not _CJK.search(text):
        return text
    links = WEB_ADDRESS.findall(text)
    if links:  # the parts between the addresses, each on its own; the addresses as they were
        parts = WEB_ADDRESS.split(text)
        return "".join(chinese_punctuation(part) + (links[i] if i < len(links) else "") for i, part in enumerate(parts))
    text = _pairs(text, '"', "“", "”").replace("?", "？")
    text = _ASCII_BY_CJK.sub(lambda m: _FULL_WIDTH[m.group(0)], text)
    if _SINGLE_QUOTE_BY_CJK.search(text):
        text = _pairs(text, "'", "‘", "’")
    text = _RUN.sub(lambda m: max(m.group(0), key=_STRENGTH.index), text)
    return _REPEATED.sub(r"\1", text)
