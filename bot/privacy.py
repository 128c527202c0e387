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


def mask_text(text: str) -> str:
    """Free text with every 身份证号, phone or card number in it masked as mask_value does."""
    return re.sub(r"(?<![\dX])(?:\d{17}[\dX]|\d{11,19})(?![\dX])", lambda m: mask_value(m.group(0)), text)


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
