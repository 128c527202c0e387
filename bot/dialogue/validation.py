"""Validation of form answers. Returns the normalised value or a prompt key naming the problem."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from bot.dialogue.fields import DateRange, FieldSpec, FieldType
from bot.privacy import mask_value

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_NAME = re.compile(r"^[\u4e00-\u9fff·•]{2,20}$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class Invalid:
    """A rejected answer: the prompts key of the message and its placeholders."""

    message: str
    params: dict[str, object] = field(default_factory=dict)


def id_number_problem(value: str, today: date) -> str | None:
    """GB 11643-1999 check of an 18-digit citizen ID number (born by `today`); None when valid, else a prompts key."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return "error_id_length"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "error_id_birth"
    if born.year < 1900 or born > today:
        return "error_id_birth"
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
    return None if _ID_CHECK[total % 11] == value[17] else "error_id_checksum"


def parse_date(text: str) -> date | None:
    """Accept 2026-11-20, 2026/11/20, 2026.11.20 and 2026年11月20日."""
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def validate(spec: FieldSpec, raw: str, today: date) -> str | Invalid:
    """Check one answer against its field spec: the normalised value, or why it is refused."""
    return _CHECKS.get(spec.type, _text)(spec, raw.strip(), today)


def _name(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    text = text.replace(" ", "")
    return text if _NAME.match(text) else Invalid("error_name")


def _id_number(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    text = text.replace(" ", "").upper()
    problem = id_number_problem(text, today)
    return Invalid(problem) if problem else text


def _phone(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    text = re.sub(r"[\s-]", "", text).removeprefix("+86")
    return text if _PHONE.match(text) else Invalid("error_phone")


def _choice(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    return text if text in spec.options else Invalid("error_choice")


def _date(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    parsed = parse_date(text)
    if parsed is None:
        return Invalid("error_date")
    if spec.date_range is DateRange.past and parsed > today:
        return Invalid("error_date_past")
    if spec.date_range is DateRange.future and parsed <= today:
        return Invalid("error_date_future")
    return parsed.isoformat()


def _number(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    low = spec.min_value if spec.min_value is not None else 0
    high = spec.max_value if spec.max_value is not None else 10**9
    if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
        return Invalid("error_number", {"min": low, "max": high})
    return str(int(text))


def _text(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    """Free text (also addresses): length and, if the field has one, its pattern."""
    if not spec.min_length <= len(text) <= spec.max_length:
        return Invalid("error_length", {"min": spec.min_length, "max": spec.max_length})
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        return Invalid("error_pattern")
    return text


_CHECKS: dict[FieldType, Callable[[FieldSpec, str, date], str | Invalid]] = {
    FieldType.name: _name, FieldType.id_number: _id_number, FieldType.phone: _phone, FieldType.choice: _choice,
    FieldType.date: _date, FieldType.number: _number,
}


def mask(spec: FieldSpec, value: str) -> str:
    """Show a sensitive value with its middle hidden (身份证号 632802********1234, phone 138****5678)."""
    if not spec.sensitive or len(value) < 4:
        return value
    if spec.type in (FieldType.id_number, FieldType.phone):
        return mask_value(value)
    keep = max(2, len(value) // 4)
    return value[:keep] + "*" * (len(value) - keep)
