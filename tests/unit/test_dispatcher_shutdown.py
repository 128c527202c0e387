"""Shutdown while a progress message is being delivered: the dispatcher stops, even when the driver turned the
cancellation into another error, and the event is not counted as a failed attempt."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from bot.outbox.dispatcher import Claimed, Dispatcher, Failure
from bot.outbox.events import MESSAGE, OutboxEvent

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


class OneEventOutbox:
    def __init__(self) -> None:
        self.failures: list[str] = []

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        return [Claimed(OutboxEvent(1, "DLH1", "case.submitted", {"user": "u"}))]

    async def done(self, event_id: int, handler: str, now: datetime) -> None:
        raise AssertionError("never delivered")

    async def failed(self, event_id: int, handler: str, failure: Failure, now: datetime) -> None:
        self.failures.append(failure.error)

    async def release(self, event_id: int, next_attempt_at: datetime | None, now: datetime,
                      done: str | None = None) -> None:
        raise AssertionError("the lease stays until it runs out")

    async def dead_letters(self) -> list[dict[str, object]]:
        return []


class DriverLikeChannel:
    """Waits on the database; when cancelled, raises what aiosqlite + SQLAlchemy raise instead."""

    name, retry = "inchat", MESSAGE

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def handle(self, event: OutboxEvent) -> None:
        self.started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("Can't reconnect until invalid transaction is rolled back") from None


async def test_cancelled_delivery_stops_the_dispatcher() -> None:
    outbox, channel = OneEventOutbox(), DriverLikeChannel()
    dispatcher = Dispatcher(outbox, {"case.submitted": [channel]}, lambda: NOW, logging.getLogger("t"))
    task = asyncio.ensure_future(dispatcher.run_once())
    await channel.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert outbox.failures == []
