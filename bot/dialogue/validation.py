"""Validation of form answers. Returns the normalised value or a prompt key naming the problem."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from bot.dialogue.choices import choose
from bot.dialogue.dates import DateWords
from bot.dialogue.fields import DateRange, FieldSpec, FieldType
from bot.privacy import mask_value

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_NAME = re.compile(r"^[\u4e00-\u9fff·•]{2,20}$")
_NO_DATE_WORDS = DateWords()  # numeric dates only, for callers without the content's words


@dataclass(frozen=True)
class Invalid:
    """A rejected answer: the prompts key of the message and its placeholders."""

    message: str
    params: dict[str, object] = field(default_factory=dict)


def typed_form(text: str) -> str:
    """What a citizen typed, in the one form it is checked, stored and hashed in: NFKC (full-width digits and
    letters become ASCII), spaces removed, upper case. Other scripts' digits (١٣٨…) stay as they are, so the
    checks below, which take ASCII digits only, refuse them."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()


def id_number_problem(value: str, today: date) -> str | None:
    """GB 11643-1999 check of an 18-digit citizen ID number (born by `today`), ASCII digits only; None when valid,
    else a prompts key."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return "error_id_length"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "error_id_birth"
    if born.year < 1900 or born > today:
        return "error_id_birth"
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
    return None if _ID_CHECK[total % 11] == value[17] else "error_id_checksum"


def validate(spec: FieldSpec, raw: str, today: date, dates: DateWords = _NO_DATE_WORDS) -> str | Invalid:
    """Check one answer against its field spec: the normalised value, or why it is refused. `dates` gives the
    words of relative dates (前天, 上个月28号)."""
    if spec.type is FieldType.date:
        return _date(spec, raw.strip(), today, dates)
    return _CHECKS.get(spec.type, _text)(spec, raw.strip(), today)


def _name(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    text = text.replace(" ", "")
    return text if _NAME.match(text) else Invalid("error_name")


def _id_number(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    text = typed_form(text)
    problem = id_number_problem(text, today)
    return Invalid(problem) if problem else text


def _phone(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    """A mainland mobile number; the refusal names what is wrong (length, first digit, a prefix that no network
    uses)."""
    text = typed_form(text).replace("-", "").removeprefix("+86")
    if not text.isascii() or not text.isdigit():
        return Invalid("error_phone")
    if len(text) != 11:
        return Invalid("error_phone_length", {"count": len(text)})
    if text[0] != "1":
        return Invalid("error_phone_first")
    if text[1] in "012":
        return Invalid("error_phone_prefix", {"prefix": text[:2]})
    return text


def _choice(spec: FieldSpec, text: str, today: date) -> str | Invalid:
    return choose(spec, text) or Invalid("error_choice")


def _date(spec: FieldSpec, text: str, today: date, dates: DateWords) -> str | Invalid:
    parsed = dates.parse(text, today, spec.date_range)
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
    FieldType.number: _number,
}


def mask(spec: FieldSpec, value: str) -> str:
    """Show a sensitive value with its middle hidden (身份证号 632802********1234, phone 138****5678)."""
    if not spec.sensitive or len(value) < 4:
        return value
    if spec.type in (FieldType.id_number, FieldType.phone):
        return mask_value(value)
    keep = max(2, len(value) // 4)
    return value[:keep] + "*" * (len(value) - keep)
