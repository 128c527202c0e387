"""Dates as citizens type them: 2026-11-28, 2026.11.28, 2026年11月28日, 二〇二六年十一月二十八日, 11月28号,
上个月28号, 前天. Relative words come from intents/dictionaries/dates.yaml; a date without a year is placed in
the year that fits the field (the last such day for a date in the past, the next one for a date in the future)."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.content_errors import load_model
from bot.dialogue.fields import DateRange

_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "两": "2"}
_NUMERAL = re.compile("[〇零一二两三四五六七八九十]+")
_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def _numeral(run: str) -> str:
    """一 -> 1, 十一 -> 11, 二十八 -> 28, 二〇二六 -> 2026 (digit by digit when there is no 十)."""
    if "十" not in run:
        return "".join(_DIGITS[c] for c in run)
    tens, _, ones = run.partition("十")
    return str(int(_DIGITS.get(tens, "1") if tens else "1") * 10 + (int(_DIGITS[ones]) if ones else 0))


def _shift_month(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


class DateWords(BaseModel):
    """intents/dictionaries/dates.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: dict[str, int] = Field(default_factory=dict)
    months: dict[str, int] = Field(default_factory=dict)
    years: dict[str, int] = Field(default_factory=dict)
    day_marks: list[str] = Field(default_factory=lambda: ["日"])
    tails: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "DateWords":
        return load_model(path, cls, path.parent.parent)

    @cached_property
    def _tail(self) -> re.Pattern[str]:
        words = sorted(self.tails, key=len, reverse=True)
        return re.compile(f"(?:{'|'.join(map(re.escape, words))})+$") if words else re.compile(r"(?!)")

    @cached_property
    def _short(self) -> re.Pattern[str]:
        """[year word] month 月 day [mark], or a month word, day [mark]."""
        marks = "|".join(map(re.escape, self.day_marks)) or "日"
        years = "|".join(map(re.escape, sorted(self.years, key=len, reverse=True))) or "(?!)"
        months = "|".join(map(re.escape, sorted(self.months, key=len, reverse=True))) or "(?!)"
        return re.compile(rf"(?:(?P<year>{years})?(?P<month>\d{{1,2}})\s*[月/-]|(?P<shift>{months}))\s*"
                          rf"(?P<day>\d{{1,2}})\s*(?:{marks})?")

    def parse(self, text: str, today: date, range_: DateRange = DateRange.any) -> date | None:
        """The date meant, or None when the text is not a date (or names a day that does not exist)."""
        text = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
        text = self._tail.sub("", text)
        if text in self.days:
            return today + timedelta(days=self.days[text])
        text = _NUMERAL.sub(lambda m: _numeral(m.group(0)), text)
        try:
            if match := _FULL.fullmatch(text.removesuffix("日").removesuffix("号")):
                return date(*(int(g) for g in match.groups()))
            if (match := self._short.fullmatch(text)) is None:
                return None
            day = int(match["day"])
            if match["shift"]:
                return date(*_shift_month(today, self.months[match["shift"]]), day)
            month = int(match["month"])
            if match["year"]:
                return date(today.year + self.years[match["year"]], month, day)
            return self._fit(today, month, day, range_)
        except ValueError:
            return None

    @staticmethod
    def _fit(today: date, month: int, day: int, range_: DateRange) -> date:
        """Month and day without a year: this year, or the year that puts it on the side of today it must be."""
        meant = date(today.year, month, day)
        if range_ is DateRange.past and meant > today:
            return date(today.year - 1, month, day)
        if range_ is DateRange.future and meant <= today:
            return date(today.year + 1, month, day)
        return meant
