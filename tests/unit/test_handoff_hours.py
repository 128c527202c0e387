"""Working time of the human service and its timers: only the hours of working days count (调休 Saturdays
included, weekends and holidays not), so a chat left on Friday evening is not late on Monday morning."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import pytest

from bot.handoff.hours import WorkingHours
from bot.handoff.models import Handoff, HandoffContext, HandoffStatus
from bot.handoff.sla import FIRST, NEXT, Sla, SlaTargets
from bot.workdays import CHINA, WorkdayCalendar


@pytest.fixture
def hours() -> WorkingHours:
    calendar = WorkdayCalendar({}, logging.getLogger("test.handoff.hours"))
    return WorkingHours(calendar.is_workday, time(9, 0), time(17, 30))


def at(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=CHINA)


def chat(created: datetime, **values: object) -> Handoff:
    fields: dict[str, object] = {"status": HandoffStatus.waiting, **values}
    return Handoff(user="u", department="德令哈市公安局", level="township", context=HandoffContext(),
                   created_at=created, **fields)


FRIDAY, MONDAY = date(2026, 11, 27), date(2026, 11, 30)
TIAOXIU_SATURDAY = date(2026, 10, 10)  # a 调休 working day (chinese_calendar), Sunday the 11th is not


def test_a_weekend_does_not_count(hours: WorkingHours) -> None:
    assert hours.seconds_between(at(FRIDAY, 17, 29), at(MONDAY, 9, 1)) == 120
    assert not hours.is_open(at(date(2026, 11, 28), 10, 0)) and hours.is_open(at(MONDAY, 9, 0))
    assert not hours.is_open(at(MONDAY, 17, 30)) and not hours.is_open(at(MONDAY, 8, 59))


def test_a_tiaoxiu_saturday_counts(hours: WorkingHours) -> None:
    assert hours.is_open(at(TIAOXIU_SATURDAY, 10, 0))
    assert hours.seconds_between(at(date(2026, 10, 9), 17, 29, 30), at(TIAOXIU_SATURDAY, 9, 0, 20)) == 50
    assert hours.next_workday(at(date(2026, 10, 9), 20, 0)) == TIAOXIU_SATURDAY
    assert hours.next_workday(at(date(2026, 9, 30), 20, 0)) == date(2026, 10, 8)  # 国庆 off


def test_first_response_is_late_in_working_time_only(hours: WorkingHours) -> None:
    sla = Sla(hours, SlaTargets(first_response_seconds=60))
    friday_evening = chat(at(FRIDAY, 17, 29, 30))
    assert sla.breached_now(friday_evening, at(MONDAY, 9, 0, 20)) == []          # 50 working seconds
    assert sla.breached_now(friday_evening, at(MONDAY, 9, 0, 40)) == [FIRST]     # 70
    assert sla.on_staff_answer(friday_evening, at(MONDAY, 9, 0, 40)) == [FIRST]  # recorded when answered late
    on_time = chat(at(FRIDAY, 10, 0))
    assert sla.on_staff_answer(on_time, at(FRIDAY, 10, 0, 59)) == []


def test_next_response_runs_from_the_citizens_unanswered_message(hours: WorkingHours) -> None:
    sla = Sla(hours, SlaTargets(next_response_seconds=180))
    start = at(FRIDAY, 10, 0)
    answered = chat(start, status=HandoffStatus.active, first_response_at=start + timedelta(seconds=30),
                    last_staff_at=start + timedelta(seconds=30), last_citizen_at=start + timedelta(seconds=60))
    assert sla.breached_now(answered, start + timedelta(seconds=60 + 179)) == []
    assert sla.breached_now(answered, start + timedelta(seconds=60 + 181)) == [NEXT]
    replied = answered.model_copy(update={"last_staff_at": start + timedelta(seconds=90)})
    assert sla.breached_now(replied, start + timedelta(seconds=600)) == []


def test_closed_chats_keep_only_what_was_recorded(hours: WorkingHours) -> None:
    sla = Sla(hours, SlaTargets())
    closed = chat(at(FRIDAY, 10, 0), status=HandoffStatus.closed, breaches=[FIRST])
    assert sla.breached_now(closed, at(MONDAY, 12, 0)) == [FIRST]
