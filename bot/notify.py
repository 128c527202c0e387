"""Progress push: outbox events are delivered at least once through channels, with retries, back-off and a
dead-letter list. Receivers deduplicate by "<event id>:<channel>", so a redelivery shows once."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from bot.cancellation import raise_if_cancelling
from bot.dialogue.prompts import Prompts
from bot.payments.orders import yuan

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    case_number: str
    type: str
    payload: dict[str, object]
    attempts: int


class Outbox(Protocol):
    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEvent]: ...
    async def done(self, event_id: int, now: datetime) -> None: ...
    async def failed(self, event_id: int, error: str, retry_at: datetime | None) -> None: ...
    async def dead_letters(self) -> list[dict[str, object]]: ...


class Channel(Protocol):
    name: str

    async def send(self, event: OutboxEvent, user: str, text: str) -> None:
        """Deliver; raise to have the event retried later."""


class Inbox(Protocol):
    async def put(self, user: str, case_number: str | None, text: str, dedupe_key: str, now: datetime) -> None: ...
    async def take_unread(self, user: str, now: datetime) -> list[str]: ...


class InChatChannel:
    """The message list the citizen sees when opening the chat (and through GET /api/v1/messages)."""

    name = "inchat"

    def __init__(self, inbox: Inbox, clock: Callable[[], datetime]) -> None:
        self._inbox, self._clock = inbox, clock

    async def send(self, event: OutboxEvent, user: str, text: str) -> None:
        await self._inbox.put(user, event.case_number, text, f"{event.id}:{self.name}", self._clock())


class LogChannel:
    """Development channel: one log line per event, case number and status only (no personal data)."""

    name = "log"

    def __init__(self, log: logging.Logger) -> None:
        self._log = log

    async def send(self, event: OutboxEvent, user: str, text: str) -> None:
        self._log.info("progress %s %s %s", event.case_number, event.type, event.payload.get("to", ""))


def progress_text(event: OutboxEvent, prompts: Prompts) -> str:
    """The citizen-facing sentence for an event."""
    if event.type == "case.submitted":
        return prompts.progress_submitted.format(number=event.case_number)
    if event.type == "rating.bad":
        return prompts.progress_rating_bad.format(number=event.case_number)
    if event.type == "case.delivered":
        template = {"window": prompts.delivered_window, "mail": prompts.delivered_mail,
                    "elicence": prompts.delivered_elicence}[str(event.payload.get("delivery"))]
        return template.format(number=event.case_number, tracking=event.payload.get("tracking") or "")
    if event.type in ("payment.paid", "payment.refunded"):
        template = prompts.progress_paid if event.type == "payment.paid" else prompts.progress_refunded
        return template.format(number=event.case_number, amount=yuan(int(str(event.payload.get("amount_fen", 0)))))
    if event.type == "case.pledge_verified":
        template = prompts.pledge_false if event.payload.get("outcome") == "false" else prompts.pledge_confirmed
        return template.format(number=event.case_number, material=event.payload.get("material", ""))
    if event.type == "rectification.closed":
        return prompts.progress_rectified.format(number=event.case_number, result=event.payload.get("result", ""))
    status = str(event.payload.get("to", ""))
    if status == "accepted" and event.payload.get("fee_fen"):
        return prompts.progress_fee_due.format(number=event.case_number,
                                               amount=yuan(int(str(event.payload["fee_fen"]))))
    label = prompts.status_labels.get(status, status)
    reason = event.payload.get("reason")
    text = prompts.progress_status.format(number=event.case_number, status=label)
    return text + (prompts.progress_reason.format(reason=reason) if reason and status != "submitted" else "")


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min … capped at 1 h."""
    return min(timedelta(seconds=15 * 2 ** attempts), timedelta(hours=1))


class Dispatcher:
    """Claims due events and sends each through every channel; safe to run in every app instance."""

    def __init__(self, outbox: Outbox, channels: list[Channel], prompts: Callable[[], Prompts],
                 clock: Callable[[], datetime], log: logging.Logger) -> None:
        self._outbox, self._channels, self._prompts = outbox, channels, prompts
        self._clock, self._log = clock, log
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
        """Deliver what is due now; returns how many events were delivered."""
        self._runs += 1
        try:
            return await self._deliver_due(limit)
        finally:
            self._runs -= 1

    async def _deliver_due(self, limit: int) -> int:
        delivered = 0
        for event in await self._outbox.claim(self._clock(), LEASE, limit):
            user = str(event.payload.get("user", ""))
            try:
                text = progress_text(event, self._prompts())
                for channel in self._channels:
                    await channel.send(event, user, text)
            except Exception as exc:  # any channel failure: retry later, or dead letter after MAX_ATTEMPTS
                raise_if_cancelling()  # shutting down is not the event's fault
                attempts = event.attempts + 1
                retry_at = self._clock() + backoff(attempts) if attempts < MAX_ATTEMPTS else None
                await self._outbox.failed(event.id, f"{type(exc).__name__}: {exc}", retry_at)
                self._log.warning("outbox event %d failed (attempt %d): %s", event.id, attempts, exc)
                continue
            await self._outbox.done(event.id, self._clock())
            delivered += 1
        return delivered
