"""A choice answered in words: the option's label, its number, or a phrase that clearly means one option
("寄到家里吧" -> 邮寄到家, "男孩" -> 男), from the option words of the field library (intents/scripts/fields.yaml)."""
from __future__ import annotations

import re
import unicodedata

from bot.dialogue.fields import FieldSpec

_NUMBER = re.compile(r"第?([1-9一二三四五六七八九])(?:个|项|种)?")
_ORDINALS = {c: i for i, c in enumerate("一二三四五六七八九", 1)}
_PUNCTUATION = re.compile(r"[\s，,。.!！?？~～、；;：:]+")


def choose(spec: FieldSpec, text: str) -> str | None:
    """The one option the answer means; None when it means none, or more than one ("不要邮寄，自取")."""
    if text in spec.options:
        return text
    said = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text))
    if not said:
        return None
    if number := _NUMBER.fullmatch(said):
        digit = number.group(1)
        index = int(digit) if digit.isdigit() else _ORDINALS[digit]
        return spec.options[index - 1] if index <= len(spec.options) else None
    meant = {option for option in spec.options
             if option in said or any(word in said for word in spec.option_words.get(option, ()))}
    if not meant and len(said) >= 2:  # a part of one label: "河西" for 河西街道
        meant = {option for option in spec.options if said in option}
    return meant.pop() if len(meant) == 1 else None
