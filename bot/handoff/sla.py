"""The three timers of a handoff, in working time: first response (claimed chats and waiting ones alike), next
response (a citizen message unanswered), resolution (open to closed). A breach is shown as it happens and
recorded on the chat when the late answer (or the close) comes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.handoff.hours import WorkingHours
from bot.handoff.models import Handoff, HandoffStatus

FIRST, NEXT, RESOLUTION = "first_response", "next_response", "resolution"


@dataclass(frozen=True)
class SlaTargets:
    first_response_seconds: int = 60
    next_response_seconds: int = 180
    resolution_seconds: int = 1800


@dataclass(frozen=True)
class Sla:
    hours: WorkingHours
    targets: SlaTargets

    def waited(self, start: datetime, end: datetime) -> float:
        return self.hours.seconds_between(start, end)

    def breached_now(self, handoff: Handoff, now: datetime) -> list[str]:
        """The timers of the chat running late at `now` (recorded ones included)."""
        breached = set(handoff.breaches)
        if handoff.status in (HandoffStatus.closed, HandoffStatus.callback):
            return sorted(breached)
        t = self.targets
        if handoff.first_response_at is None and self.waited(handoff.created_at, now) > t.first_response_seconds:
            breached.add(FIRST)
        if (handoff.first_response_at is not None and handoff.last_citizen_at is not None
                and (handoff.last_staff_at is None or handoff.last_staff_at < handoff.last_citizen_at)
                and self.waited(handoff.last_citizen_at, now) > t.next_response_seconds):
            breached.add(NEXT)
        if self.waited(handoff.created_at, now) > t.resolution_seconds:
            breached.add(RESOLUTION)
        return sorted(breached)

    def on_staff_answer(self, handoff: Handoff, now: datetime) -> list[str]:
        """The breaches to record when staff answer at `now`."""
        late = set(handoff.breaches)
        if handoff.first_response_at is None:
            if self.waited(handoff.created_at, now) > self.targets.first_response_seconds:
                late.add(FIRST)
        elif (handoff.last_citizen_at is not None and (handoff.last_staff_at is None
                                                       or handoff.last_staff_at < handoff.last_citizen_at)
              and self.waited(handoff.last_citizen_at, now) > self.targets.next_response_seconds):
            late.add(NEXT)
        return sorted(late)

    def on_close(self, handoff: Handoff, now: datetime) -> list[str]:
        late = set(self.breached_now(handoff, now))
        return sorted(late)
