"""Working time of the human service: working days from the calendar (调休 included), hours from config, in
China's time zone. Timers count only working seconds, so a chat left on Friday evening is not late on Monday."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from bot.workdays import CHINA, china_date


@dataclass(frozen=True)
class WorkingHours:
    is_workday: Callable[[date], bool]
    opens: time
    closes: time

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(CHINA)
        return self.is_workday(local.date()) and self.opens <= local.time().replace(tzinfo=None) < self.closes

    def next_workday(self, moment: datetime) -> date:
        """The first working day after the moment's own day (a callback is due then)."""
        day = china_date(moment) + timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end): only the hours of working days count."""
        if end <= start:
            return 0.0
        total, day, last = 0.0, china_date(start), china_date(end)
        while day <= last:
            if self.is_workday(day):
                opens = datetime.combine(day, self.opens, CHINA)
                closes = datetime.combine(day, self.closes, CHINA)
                lo, hi = max(opens, start), min(closes, end)
                total += max(0.0, (hi - lo).total_seconds())
            day += timedelta(days=1)
        return total
