"""Working-day arithmetic for 承诺时限 (deadlines counted in 工作日).

Per year, the source of truth is: a data file from ``intents/calendar/<year>.yaml``
if present, else the ``chinese_calendar`` library if it knows the year, else
weekends only (results are then marked provisional and a warning is logged).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import yaml
from pydantic import BaseModel, ConfigDict, model_validator


CHINA = timezone(timedelta(hours=8), "CST")  # Asia/Shanghai: no daylight saving time since 1991


def china_date(moment: datetime) -> date:
    """The calendar day in China of an aware moment: working days count from the local day, so a case
    submitted at 07:00 Beijing time (23:00 UTC the day before) starts counting on its own day."""
    return moment.astimezone(CHINA).date()


class HolidayDataError(ValueError):
    """A holiday data file is missing fields, malformed or inconsistent."""


class HolidayData(BaseModel):
    """Official holiday schedule of one year (国务院办公厅 notice)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    holidays: list[date]  # days off; weekend days inside a holiday block are allowed
    workdays: list[date]  # 调休: weekend days that are working days
    source: str | None = None  # e.g. the 国务院办公厅 notice title or number

    @model_validator(mode="after")
    def _check_consistency(self) -> HolidayData:
        for d in [*self.holidays, *self.workdays]:
            if d.year != self.year:
                raise ValueError(f"date {d} is not in year {self.year}")
        for d in self.workdays:
            if d.weekday() < 5:
                raise ValueError(f"workday {d} is not a Saturday or Sunday")
        both = [d.isoformat() for d in sorted(set(self.holidays) & set(self.workdays))]
        if both:
            raise ValueError(f"dates listed as both holiday and workday: {both}")
        return self


def load_holiday_files(directory: Path) -> dict[int, HolidayData]:
    """Load every ``*.yaml`` in ``directory``; raise HolidayDataError naming the bad file."""
    result: dict[int, HolidayData] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            data = HolidayData.model_validate(raw)
        except (OSError, yaml.YAMLError, ValueError) as exc:  # ValidationError is a ValueError
            raise HolidayDataError(f"{path}: {exc}") from exc
        if path.stem.isdigit() and int(path.stem) != data.year:
            raise HolidayDataError(f"{path}: file name says {path.stem} but year is {data.year}")
        if data.year in result:
            raise HolidayDataError(f"{path}: year {data.year} is defined twice")
        result[data.year] = data
    return result


@dataclass(frozen=True)
class Deadline:
    """Result of a deadline computation; provisional if an unknown year was involved."""

    date: date
    provisional: bool


class WorkdayCalendar:
    """Decides working days from data files, chinese_calendar, or weekends as a fallback."""

    def __init__(self, extra: dict[int, HolidayData], logger: logging.Logger) -> None:
        self._logger = logger
        self._holidays = {y: frozenset(h.holidays) for y, h in extra.items()}
        self._workdays = {y: frozenset(h.workdays) for y, h in extra.items()}
        self._library_knows: dict[int, bool] = {}
        self._warned: set[int] = set()
        # A day's answer never changes for this calendar (it is rebuilt with the content). Remembered: a 60-day limit
        # asks about ~85 days, and chinese_calendar takes several µs a day (about 12% of a submit's CPU).
        self._decided: dict[date, bool] = {}

    def _in_library(self, year: int) -> bool:
        if year not in self._library_knows:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                self._library_knows[year] = True
            except NotImplementedError:
                self._library_knows[year] = False
        return self._library_knows[year]

    def knows(self, year: int) -> bool:
        """True if official holiday data for ``year`` is available."""
        return year in self._holidays or self._in_library(year)

    def is_workday(self, d: date) -> bool:
        """True if ``d`` is a working day (调休 weekend workdays included)."""
        decided = self._decided.get(d)
        if decided is None:
            decided = self._decided[d] = self._decide(d)
        return decided

    def _decide(self, d: date) -> bool:
        if d.year in self._holidays:
            if d in self._workdays[d.year]:
                return True
            return d.weekday() < 5 and d not in self._holidays[d.year]
        if self._in_library(d.year):
            return bool(chinese_calendar.is_workday(d))
        if d.year not in self._warned:
            self._warned.add(d.year)
            self._logger.warning(
                "No holiday data for %d: counting weekends only, deadlines are provisional. "
                "Add intents/calendar/%d.yaml once the State Council notice is published.",
                d.year, d.year,
            )
        return d.weekday() < 5

    def add_workdays(self, start: date, days: int) -> Deadline:
        """Date of the ``days``-th working day after ``start`` (days=0: start or next workday)."""
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        current = start if days == 0 else start + timedelta(days=1)
        provisional = False
        remaining = days
        while True:
            provisional = provisional or not self.knows(current.year)
            if self.is_workday(current):
                remaining -= 1
                if remaining <= 0:
                    return Deadline(date=current, provisional=provisional)
            current += timedelta(days=1)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 if ``end <= start``."""
        count = 0
        current = start + timedelta(days=1)
        while current <= end:
            count += self.is_workday(current)
            current += timedelta(days=1)
        return count
