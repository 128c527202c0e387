"""Masking of personal data for views that do not need it in full."""
from __future__ import annotations

import re


def mask_value(value: str) -> str:
    """身份证号 632802********1234, phone 138****5678, bank card ****1234; other values unchanged."""
    if re.fullmatch(r"\d{17}[\dX]", value):
        return value[:6] + "*" * 8 + value[-4:]
    if re.fullmatch(r"1\d{10}", value):
        return value[:3] + "****" + value[-4:]
    if re.fullmatch(r"\d{16,19}", value):
        return "****" + value[-4:]
    return value


def mask_fields(fields: dict[str, str]) -> dict[str, str]:
    return {key: mask_value(value) for key, value in fields.items()}
