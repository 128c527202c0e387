"""Masking of personal data for views that do not need it in full."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol


def mask_value(value: str) -> str:
    """身份证号 632802********1234, phone 138****5678, bank card ****1234; other values unchanged."""
    if re.fullmatch(r"\d{17}[\dX]", value):
        return value[:6] + "*" * 8 + value[-4:]
    if re.fullmatch(r"1\d{10}", value):
        return value[:3] + "****" + value[-4:]
    if re.fullmatch(r"\d{16,19}", value):
        return "****" + value[-4:]
    return value


class TypedField(Protocol):
    """A form field's definition, as far as masking needs it (bot/dialogue/fields.py FieldSpec)."""

    @property
    def type(self) -> str: ...


def mask_name(value: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays."""
    return value[:1] + "*" * (len(value) - 1)


def mask_address(value: str) -> str:
    """德令哈市河西街道长江路1号 → 德令哈市河西****: the town stays, street and number go."""
    return value[:6] + "****" if len(value) > 6 else value[:2] + "****"


_BY_TYPE = {"name": mask_name, "address": mask_address}


def mask_fields(fields: dict[str, str], library: Mapping[str, TypedField] | None = None) -> dict[str, str]:
    """Values masked by their shape (身份证号, phone, card) and, given the field library, names and addresses by
    their field's type."""
    masked = {}
    for key, value in fields.items():
        spec = library.get(key) if library else None
        by_type = next((mask for kind, mask in _BY_TYPE.items() if spec and spec.type == kind), mask_value)
        masked[key] = by_type(value)
    return masked


_ID_OR_CARD = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{16,19})(?![\dA-Za-z])")
_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
_NAMED = re.compile(r"(我叫|名字是|名字叫|姓名[:：是]?\s*|叫做)([\u4e00-\u9fff]{2,4})")
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{1,6}(?:路|街|巷|弄|村|小区)[\u4e00-\u9fff\d\-]{0,12}?\d+\s*(?:号|栋|幢|单元|室)"
                      r"(?:[\d\-]+\s*(?:号|栋|幢|单元|室|楼))*")


def mask_text(text: str) -> str:
    """Free text (a citizen's sentence) with the personal data in it masked as above: 身份证号, bank cards and
    phones by their shape, a name after 我叫/姓名, a street address with its number."""
    text = _ID_OR_CARD.sub(lambda m: mask_value(m[0].upper()), text)
    text = _PHONE.sub(lambda m: mask_value(m[0]), text)
    text = _NAMED.sub(lambda m: m[1] + mask_name(m[2]), text)
    return _ADDRESS.sub(lambda m: mask_address(m[0]), text)
