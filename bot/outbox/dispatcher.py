"""Delivering outbox events: every handler of an event type gets the event at least once, with its own attempts,
back-off and outcome, so one failing handler neither re-sends nor delays the others."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Protocol

from bot.cancellation import raise_if_cancelling
from bot.outbox.events import EventHandler, OutboxEvent
from bot.ports import StaffNotice

LEASE = timedelta(seconds=60)

EventHandlers = Mapping[str, Sequence[EventHandler]]  # event type -> its handlers, in the order they run


@dataclass(frozen=True)
class Delivery:
    """Where one handler stands with one event; a handler not tried yet has the defaults."""

    attempts: int = 0
    next_attempt_at: datetime | None = None
    settled: bool = False  # done, or given up (a dead letter)
    alerted: bool = False


@dataclass(frozen=True)
class Claimed:
    event: OutboxEvent
    deliveries: Mapping[str, Delivery] = field(default_factory=dict)  # by handler name


@dataclass(frozen=True)
class Failure:
    attempts: int
    error: str
    retry_at: datetime | None      # None: given up, a dead letter
    alert: StaffNotice | None      # for supervisors; stored at most once per event and handler


class Outbox(Protocol):
    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Lease up to `limit` due events to this dispatcher, with the delivery state of their handlers."""
    async def done(self, event_id: int, handler: str, now: datetime) -> None: ...
    async def failed(self, event_id: int, handler: str, failure: Failure, now: datetime) -> None: ...
    async def release(self, event_id: int, next_attempt_at: datetime | None, now: datetime,
                      done: str | None = None) -> None:
        """End the lease: the event is due again at `next_attempt_at`, or (None) every handler is settled. `done`
        names the handler that succeeded last, recorded as `done()` would, together with the release."""
    async def dead_letters(self) -> list[dict[str, object]]:
        """Deliveries given up, one per event and handler."""


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min … capped at 1 h."""
    return min(timedelta(seconds=15 * 2 ** attempts), timedelta(hours=1))


class Dispatcher:
    """Claims due events and runs each handler of the event's type that is neither done nor given up and whose
    back-off has passed; safe to run in every app instance."""

    def __init__(self, outbox: Outbox, handlers: EventHandlers, clock: Callable[[], datetime],
                 log: logging.Logger) -> None:
        self._outbox, self._handlers, self._clock, self._log = outbox, handlers, clock, log
        self._runs = 0  # run_once calls under way in this process

    async def drain(self) -> int:
        """Deliver everything due now and wait for deliveries this process already has under way (an idle
        instance is woken by every outbox write, so its loop may hold an event): tests and shutdown."""
        delivered = 0
        while (count := await self.run_once()) or self._runs:
            delivered += count
            if not count:
                await asyncio.sleep(0.01)
        return delivered

    async def run_once(self, limit: int = 50) -> int:
        """Deliver what is due now; returns how many deliveries (event, handler) succeeded."""
        return (await self.run_batch(limit))[0]

    async def run_batch(self, limit: int = 50) -> tuple[int, bool]:
        """Deliver one batch of what is due now: how many deliveries succeeded, and whether the batch was full
        (`limit` events claimed: more may be due at once; a shorter batch took everything due when it was claimed)."""
        self._runs += 1
        try:
            delivered, batch = 0, await self._outbox.claim(self._clock(), LEASE, limit)
            for claimed in batch:
                delivered += await self._deliver(claimed)
            return delivered, len(batch) >= limit
        finally:
            self._runs -= 1

    async def _deliver(self, claimed: Claimed) -> int:
        event, delivered, due_again = claimed.event, 0, []
        handlers = self._handlers.get(event.type)
        if handlers is None:
            self._log.error("outbox event %d: no handlers for type %s", event.id, event.type)
        last, finished = handlers[-1] if handlers else None, None  # the last one's success goes with the release
        for handler in handlers or ():
            state = claimed.deliveries.get(handler.name, Delivery())
            if state.settled:
                continue
            if state.next_attempt_at is not None and state.next_attempt_at > self._clock():
                due_again.append(state.next_attempt_at)
                continue
            try:
                await handler.handle(event)
            except Exception as exc:  # this handler only: retried later, alerted or given up by its own rule
                raise_if_cancelling()  # shutting down is not the handler's fault
                if (retry_at := await self._failed(event, handler, state, exc)) is not None:
                    due_again.append(retry_at)
                continue
            if handler is last:  # nothing runs between it and the release: one statement records both
                finished = handler.name
            else:
                await self._outbox.done(event.id, handler.name, self._clock())
            delivered += 1
        await self._outbox.release(event.id, min(due_again, default=None), self._clock(), finished)
        return delivered

    async def _failed(self, event: OutboxEvent, handler: EventHandler, state: Delivery,
                      exc: Exception) -> datetime | None:
        """Record the failed attempt; returns when to try again, None once given up."""
        now, attempts, error = self._clock(), state.attempts + 1, f"{type(exc).__name__}: {exc}"
        rule = handler.retry
        given_up = rule.give_up_after is not None and attempts >= rule.give_up_after
        retry_at = None if given_up else now + backoff(attempts)
        alert = None
        if rule.alert is not None and attempts >= rule.alert.after and not state.alerted:
            alert = await rule.alert.notice(event, error, now)
        await self._outbox.failed(event.id, handler.name, Failure(attempts, error, retry_at, alert), now)
        self._log.warning("outbox event %d, handler %s failed (attempt %d%s): %s", event.id, handler.name, attempts,
                          ", given up" if given_up else "", exc)
        return retry_at
