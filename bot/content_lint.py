"""Lint of the text citizens read (intents/catalog/*.yaml, intents/scripts/*.yaml), run by `python -m bot check`
(bot/quality/checks.py): full-width punctuation, no doubled marks, and every button or word a text tells the
citizen to use exists.
Problems are ContentErrors (file:line: reason); loading content never fails on them."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from bot.content_errors import ContentError, Loader
from bot.dialogue.answers import QuestionWords
from bot.dialogue.prompts import Prompts

CITIZEN_TEXT = ("catalog/*.yaml", "scripts/*.yaml")
NOT_TEXT = frozenset({"pattern"})  # keys whose values are read by the program, not by citizens
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A web address keeps its ASCII marks ("?action=new"): changing them breaks the link. It ends before a space, a
# Chinese character or full-width punctuation, and a mark after its last letter, digit or slash is the sentence's.
WEB_ADDRESS = re.compile(r"(?:https?://|www\.)[\x21-\x7e]*[\w/#=&%~+-]", re.ASCII)
_MARKS = (('"', "ASCII quote \" in citizen text: use 「」 or “”"), ("?", "ASCII question mark: use ？"))
# An ASCII comma, semicolon, colon, exclamation mark or single quote, or "...", touching a Chinese character.
_ASCII_BY_CJK = re.compile(r"(?<=[\u4e00-\u9fff])(?:[,;:!']|\.\.\.)|(?:[,;:!']|\.\.\.)(?=[\u4e00-\u9fff])")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "'": "「」", "...": "……"}
# The same mark twice ("。。", "？？"), or two marks that end or split a sentence together ("。，", "，。", "、；").
_DOUBLED = re.compile(r"([。，！？；：、])\1+|[。，；：、][。，；：、]")
# "点「我承诺」" names a button, "回复「评价」" a word to type; placeholders like 「{name}」 are left alone.
_TAP = re.compile(r"点(?:选)?「([^」{}]+)」")
_TYPE = re.compile(r"回复((?:「[^」{}]+」[、，或和]?)+)")
_QUOTED = re.compile(r"「([^」]+)」")


def _scalars(node: yaml.Node | None, key: str = "") -> Iterator[tuple[str, yaml.ScalarNode]]:
    """Every string value in a YAML node tree, with the mapping key it is under."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield from _scalars(v, str(k.value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item, key)
    elif isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
        yield key, node


def _line(node: yaml.ScalarNode, at: int) -> int:
    """The file line of character `at` of a scalar (block scalars start on the line after their indicator)."""
    block = 1 if node.style in ("|", ">") else 0
    return node.start_mark.line + 1 + block + (node.value[:at].count("\n") if node.style == "|" else 0)


def punctuation_errors(path: Path, name: str) -> list[ContentError]:
    """ASCII quotes, question marks, commas, colons … in Chinese text, and doubled punctuation ("。。", "。，")."""
    errors = []
    for key, node in _scalars(yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)):
        text = WEB_ADDRESS.sub(lambda m: "x" * len(m.group(0)), node.value)  # same length: lines stay right
        if key in NOT_TEXT or not _CJK.search(text):
            continue
        for mark, reason in _MARKS:
            if (at := text.find(mark)) >= 0:
                errors.append(ContentError(name, _line(node, at), f"{key}: {reason}"))
        if ascii_mark := _ASCII_BY_CJK.search(text):
            errors.append(ContentError(name, _line(node, ascii_mark.start()),
                                       f"{key}: ASCII \"{ascii_mark.group(0)}\" in Chinese text: use "
                                       f"{_FULL_WIDTH[ascii_mark.group(0)]}"))
        if doubled := _DOUBLED.search(text):
            errors.append(ContentError(name, _line(node, doubled.start()),
                                       f"{key}: doubled punctuation \"{doubled.group(0)}\""))
    return errors


def reference_errors(path: Path, name: str, prompts: Prompts, words: QuestionWords,
                     answers: frozenset[str] = frozenset()) -> list[ContentError]:
    """Buttons (点「…」) no prompt defines as a label, and words to type (回复「…」) no command understands.
    Texts under the keys `answers` ask for a typed answer (a field's prompt): there 回复「无」 is an answer."""
    labels = {v for v in prompts.model_dump().values() if isinstance(v, str) and "{" not in v}
    errors = []
    for key, node in _scalars(yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)):
        if key in answers:
            continue
        for tap in _TAP.finditer(node.value):
            if tap.group(1) not in labels:
                errors.append(ContentError(name, _line(node, tap.start()),
                                           f"{key}: button 「{tap.group(1)}」 is not a label any prompt defines"))
        for typed in _TYPE.finditer(node.value):
            for word in _QUOTED.findall(typed.group(1)):
                if word not in labels and not words.meaning(word):
                    errors.append(ContentError(name, _line(node, typed.start()),
                                               f"{key}: 回复「{word}」 is a word no command understands"))
    return errors
