"""Outbox events and what handles them: a handler acts on an event and says, through its retry rule, what
happens when it keeps failing (given up as a dead letter, or retried until it succeeds, telling supervisors)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.ports import StaffNotice

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    case_number: str
    type: str
    payload: dict[str, object]


@dataclass(frozen=True)
class Alert:
    """Supervisors get one notice, built by `notice(event, last error, now)`, once `after` attempts failed."""

    after: int
    notice: Callable[[OutboxEvent, str, datetime], Awaitable[StaffNotice]]


@dataclass(frozen=True)
class Retry:
    """What repeated failures of a handler lead to: a dead letter after `give_up_after` attempts, or (None)
    retries until it succeeds; and, optionally, an alert."""

    give_up_after: int | None = MAX_ATTEMPTS
    alert: Alert | None = None


MESSAGE = Retry()  # a message that cannot be delivered after MAX_ATTEMPTS is a dead letter staff look at


class EventHandler(Protocol):
    """Something an event makes happen. `name` keys the handler's delivery state and the receivers' dedupe key
    "<event id>:<name>": do not rename a handler while events are in flight."""

    name: str
    retry: Retry

    async def handle(self, event: OutboxEvent) -> None:
        """Act on the event; raise to have it retried later. A crash between acting and recording it makes the
        dispatcher call again, so acting twice must show once."""
