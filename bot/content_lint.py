"""Lint of the text citizens read (intents/catalog/*.yaml, intents/scripts/*.yaml), run by `python -m bot check`:
full-width punctuation, no doubled marks, and every button or word a prompt tells the citizen to use exists; and
the catalog's facts that contradict the dialogue (bot/catalog/consistency.py).
Problems are ContentErrors (file:line: reason); loading content never fails on them."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from bot.catalog.consistency import consistency_errors
from bot.content_errors import ContentError, Loader
from bot.dialogue.answers import QuestionWords
from bot.dialogue.prompts import Prompts

CITIZEN_TEXT = ("catalog/*.yaml", "scripts/*.yaml")
NOT_TEXT = frozenset({"pattern"})  # keys whose values are read by the program, not by citizens
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MARKS = (('"', "ASCII quote \" in citizen text: use 「」 or “”"), ("?", "ASCII question mark: use ？"))
_DOUBLED = re.compile(r"([。，！？；：、])\1+")
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
    """ASCII quotes and question marks in Chinese text, and doubled punctuation ("。。")."""
    errors = []
    for key, node in _scalars(yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)):
        text = node.value
        if key in NOT_TEXT or not _CJK.search(text):
            continue
        for mark, reason in _MARKS:
            if (at := text.find(mark)) >= 0:
                errors.append(ContentError(name, _line(node, at), f"{key}: {reason}"))
        if doubled := _DOUBLED.search(text):
            errors.append(ContentError(name, _line(node, doubled.start()),
                                       f"{key}: doubled punctuation \"{doubled.group(0)}\""))
    return errors


def reference_errors(path: Path, name: str, prompts: Prompts, words: QuestionWords) -> list[ContentError]:
    """Buttons (点「…」) no prompt defines as a label, and words to type (回复「…」) no command understands."""
    labels = {v for v in prompts.model_dump().values() if isinstance(v, str) and "{" not in v}
    errors = []
    for key, node in _scalars(yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)):
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


def lint(directory: Path, prompts: Prompts, words: QuestionWords) -> list[ContentError]:
    """Every problem of the citizen-facing text under `directory` (an intents/ folder), and every catalog fact
    that contradicts the dialogue (bot/catalog/consistency.py)."""
    errors = consistency_errors(directory)
    for pattern in CITIZEN_TEXT:
        for path in sorted(directory.glob(pattern)):
            errors += punctuation_errors(path, str(path.relative_to(directory)))
    prompts_file = directory / "scripts" / "prompts.yaml"
    return errors + reference_errors(prompts_file, str(prompts_file.relative_to(directory)), prompts, words)
