"""Tests for bot/workdays.py: 承诺时限 counted in 工作日."""
from __future__ import annotations

import logging
import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.workdays import (
    Deadline,
    HolidayData,
    HolidayDataError,
    WorkdayCalendar,
    load_holiday_files,
)

CALENDAR_DIR = Path(__file__).resolve().parents[2] / "intents" / "calendar"


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def make_logger() -> tuple[logging.Logger, ListHandler]:
    logger = logging.getLogger(f"test.workdays.{uuid.uuid4().hex}")
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    return logger, handler


def warnings_of(handler: ListHandler) -> list[str]:
    return [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar(extra={}, logger=make_logger()[0])


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# Test-only 2027 data (NOT the official schedule): Jan 1 off, Saturday Jan 9 a 调休 workday.
TEST_2027 = """\
year: 2027
source: test fixture, not official
holidays: [2027-01-01]
workdays: [2027-01-09]
"""


# --- library-backed years -------------------------------------------------------------

def test_guoqing_2026_uses_tiaoxiu_workdays_from_library(cal: WorkdayCalendar) -> None:
    # Premises read from chinese_calendar 1.11.0: Oct 1-7 off, Sun Sep 20 and Sat Oct 10 are 调休 workdays.
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert chinese_calendar.is_workday(date(2026, 9, 20))
    assert chinese_calendar.is_workday(date(2026, 10, 10))

    assert cal.add_workdays(date(2026, 9, 30), 1) == Deadline(date(2026, 10, 8), False)
    # Oct 8 (Thu), Oct 9 (Fri), Oct 10 (Sat, 调休) -> the 3rd working day is a Saturday.
    assert cal.add_workdays(date(2026, 9, 30), 3) == Deadline(date(2026, 10, 10), False)
    assert cal.add_workdays(date(2026, 9, 30), 4).date == date(2026, 10, 12)
    # Sunday Sep 20 counts: Friday Sep 18 + 1 working day is that Sunday.
    assert cal.add_workdays(date(2026, 9, 18), 1).date == date(2026, 9, 20)
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


def test_chunjie_2026_uses_tiaoxiu_workdays_from_library(cal: WorkdayCalendar) -> None:
    # Premises: Feb 15-23 off; Saturdays Feb 14 and Feb 28 are 调休 workdays.
    assert not any(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(date(2026, 2, 14))
    assert chinese_calendar.is_workday(date(2026, 2, 28))

    start = date(2026, 2, 13)  # Friday
    assert cal.add_workdays(start, 1).date == date(2026, 2, 14)
    assert cal.add_workdays(start, 2).date == date(2026, 2, 24)
    assert cal.add_workdays(start, 6).date == date(2026, 2, 28)
    assert cal.add_workdays(start, 7).date == date(2026, 3, 2)
    assert cal.workdays_between(start, date(2026, 3, 2)) == 7


def test_weekend_start(cal: WorkdayCalendar) -> None:
    saturday = date(2026, 11, 28)
    assert cal.add_workdays(saturday, 1).date == date(2026, 11, 30)
    assert cal.add_workdays(saturday, 15) == Deadline(date(2026, 12, 18), False)


def test_days_zero(cal: WorkdayCalendar) -> None:
    assert cal.add_workdays(date(2026, 11, 27), 0).date == date(2026, 11, 27)  # Friday: itself
    assert cal.add_workdays(date(2026, 11, 28), 0).date == date(2026, 11, 30)  # Saturday: Monday
    assert cal.add_workdays(date(2026, 10, 1), 0).date == date(2026, 10, 8)    # 国庆: after the block
    assert cal.add_workdays(date(2026, 10, 10), 0).date == date(2026, 10, 10)  # 调休 Saturday


def test_negative_days_rejected_and_between_is_zero_backwards(cal: WorkdayCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_workdays(date(2026, 11, 27), -1)
    assert cal.workdays_between(date(2026, 11, 27), date(2026, 11, 20)) == 0
    assert cal.workdays_between(date(2026, 11, 27), date(2026, 11, 27)) == 0


# --- years the library does not know ------------------------------------------------

def test_deadline_into_2027_without_data_is_provisional_and_warns_once() -> None:
    logger, handler = make_logger()
    cal = WorkdayCalendar(extra={}, logger=logger)
    assert cal.knows(2026) and not cal.knows(2027)

    # Dec 21-25, 28-31 = 9 days; weekends-only fallback counts Fri Jan 1 2027 as the 10th.
    result = cal.add_workdays(date(2026, 12, 20), 10)
    assert result == Deadline(date(2027, 1, 1), True)
    assert cal.add_workdays(date(2026, 12, 20), 11).date == date(2027, 1, 4)  # weekend skipped
    for days in range(0, 60):
        cal.add_workdays(date(2026, 12, 1), days)
    cal.workdays_between(date(2026, 12, 1), date(2027, 3, 1))

    msgs = warnings_of(handler)
    assert len(msgs) == 1
    assert "2027" in msgs[0]
    # A deadline staying inside a known year is not provisional and does not warn.
    assert cal.add_workdays(date(2026, 11, 28), 15).provisional is False


def test_warns_once_per_unknown_year() -> None:
    logger, handler = make_logger()
    cal = WorkdayCalendar(extra={}, logger=logger)
    assert cal.add_workdays(date(2026, 12, 1), 400).provisional
    cal.add_workdays(date(2026, 12, 1), 400)
    msgs = warnings_of(handler)
    assert len(msgs) == 2
    assert "2027" in msgs[0] and "2028" in msgs[1]


def test_unknown_year_detected_from_library_not_hard_coded(monkeypatch: pytest.MonkeyPatch) -> None:
    real = chinese_calendar.is_workday

    def fake(d: date) -> bool:
        if d.year >= 2026:
            raise NotImplementedError(f"no data for {d.year}")
        return real(d)

    monkeypatch.setattr(chinese_calendar, "is_workday", fake)
    cal = WorkdayCalendar(extra={}, logger=make_logger()[0])
    assert cal.knows(2025) and not cal.knows(2026)
    result = cal.add_workdays(date(2026, 9, 30), 1)
    assert result == Deadline(date(2026, 10, 1), True)  # 国庆 unknown -> weekends only


# --- data files ---------------------------------------------------------------------

def test_2027_data_file_makes_deadline_official(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", TEST_2027)
    logger, handler = make_logger()
    cal = WorkdayCalendar(extra=load_holiday_files(tmp_path), logger=logger)
    assert cal.knows(2027)

    assert cal.add_workdays(date(2026, 12, 20), 10) == Deadline(date(2027, 1, 4), False)  # Jan 1 off
    assert cal.add_workdays(date(2026, 12, 31), 1).date == date(2027, 1, 4)
    # Jan 4-8 then Saturday Jan 9 (调休) is the 6th working day.
    assert cal.add_workdays(date(2026, 12, 31), 6) == Deadline(date(2027, 1, 9), False)
    assert cal.add_workdays(date(2026, 12, 31), 7).date == date(2027, 1, 11)
    assert not cal.is_workday(date(2027, 1, 10))  # ordinary Sunday
    assert warnings_of(handler) == []


def test_data_file_overrides_library_for_known_year(tmp_path: Path) -> None:
    write(tmp_path, "2026.yaml", "year: 2026\nholidays: [2026-12-25]\nworkdays: [2026-12-26]\n")
    cal = WorkdayCalendar(extra=load_holiday_files(tmp_path), logger=make_logger()[0])
    assert not cal.is_workday(date(2026, 12, 25))
    assert cal.is_workday(date(2026, 12, 26))
    # The file replaces the library for 2026 entirely: its 国庆 entries no longer apply.
    assert cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 10))
    assert cal.add_workdays(date(2026, 12, 24), 1) == Deadline(date(2026, 12, 26), False)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("2027.yaml", "year: 2027\nholidays: [2028-01-01]\nworkdays: []\n", "not in year 2027"),
        ("2027.yaml", "year: 2027\nholidays: [2027-01-09]\nworkdays: [2027-01-09]\n", "both"),
        ("2027.yaml", "year: 2027\nholidays: []\nworkdays: [2027-01-04]\n", "not a Saturday or Sunday"),
        ("2027.yaml", "year: 2027\nholidays: [2027-01-01]\n", "workdays"),
        ("2027.yaml", "year: 2027\nholiday: []\nholidays: []\nworkdays: []\n", "holiday"),
        ("2027.yaml", "year: 2027\nholidays: [2027-13-01]\nworkdays: []\n", "month must be in 1..12"),
        ("2027.yaml", "year: 2027\nholidays: [2027-01-01\n", "expected"),
        ("2028.yaml", "year: 2027\nholidays: []\nworkdays: []\n", "file name says 2028"),
    ],
)
def test_bad_data_file_gives_clear_error(tmp_path: Path, name: str, text: str, reason: str) -> None:
    write(tmp_path, name, text)
    with pytest.raises(HolidayDataError) as exc_info:
        load_holiday_files(tmp_path)
    message = str(exc_info.value)
    assert name in message
    assert reason in message


def test_duplicate_year_rejected(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", TEST_2027)
    write(tmp_path, "2027-fix.yaml", TEST_2027)
    with pytest.raises(HolidayDataError, match="defined twice"):
        load_holiday_files(tmp_path)


def test_shipped_calendar_dir_loads_and_sample_is_valid_but_ignored(tmp_path: Path) -> None:
    shipped = load_holiday_files(CALENDAR_DIR)
    assert all(isinstance(v, HolidayData) for v in shipped.values())
    sample = CALENDAR_DIR / "example-2027.yaml.sample"
    assert 2027 not in shipped or "PLACEHOLDER" not in (CALENDAR_DIR / "2027.yaml").read_text("utf-8")
    shutil.copy(sample, tmp_path / "2027.yaml")
    assert load_holiday_files(tmp_path)[2027].year == 2027


# --- properties ---------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 6, 30)),
    days=st.integers(min_value=0, max_value=45),
)
def test_add_workdays_properties(start: date, days: int) -> None:
    cal = WorkdayCalendar(extra={}, logger=make_logger()[0])
    result = cal.add_workdays(start, days)
    following = cal.add_workdays(start, days + 1)

    assert cal.is_workday(result.date)
    if days > 0 or cal.is_workday(start):
        assert following.date > result.date
    else:  # days=0 on a day off already moves to the next workday, same as days=1
        assert following.date == result.date
    assert result.date > start if days > 0 else result.date >= start
    if days > 0:
        assert cal.workdays_between(start, result.date) == days
        assert cal.workdays_between(start, result.date - timedelta(days=1)) == days - 1
    first = start if days == 0 else start + timedelta(days=1)
    span_years = range(first.year, result.date.year + 1)
    assert result.provisional == any(not cal.knows(y) for y in span_years)
