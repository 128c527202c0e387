"""The progress dispatch loop: it claims when there is something to claim. After a batch that took everything due
it waits to be woken instead of asking the database again for nothing, and it still delivers at once what is
written during a batch and what a full batch left behind."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from bot.outbox.dispatcher import Claimed, Dispatcher, Failure
from bot.outbox.events import MESSAGE, OutboxEvent
from jobs import dispatch_progress
from storage.wakeups import MemoryWakeups

NOW = datetime(2026, 12, 8, tzinfo=timezone.utc)
POLL_S = 60.0  # far longer than any test waits: whatever is delivered was woken, not polled


class CountingOutbox:
    """Due events in memory; counts the claims (each one a statement on the database)."""

    def __init__(self, wakeups: MemoryWakeups) -> None:
        self._wakeups, self._due, self._next_id = wakeups, list[OutboxEvent](), 1
        self.claims, self.delivered = 0, list[int]()

    def write(self, count: int = 1) -> None:
        """Events committed by a submit: the commit wakes the dispatcher, as storage.wakeups does."""
        for _ in range(count):
            self._due.append(OutboxEvent(self._next_id, f"DLH{self._next_id}", "case.submitted", {"user": "u"}))
            self._next_id += 1
        self._wakeups.notify()

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        self.claims += 1
        batch, self._due = self._due[:limit], self._due[limit:]
        return [Claimed(event) for event in batch]

    async def done(self, event_id: int, handler: str, now: datetime) -> None:
        self.delivered.append(event_id)

    async def failed(self, event_id: int, handler: str, failure: Failure, now: datetime) -> None:
        raise AssertionError(failure.error)

    async def release(self, event_id: int, next_attempt_at: datetime | None, now: datetime,
                      done: str | None = None) -> None:
        if done is not None:  # the last handler's success comes with the release
            self.delivered.append(event_id)

    async def dead_letters(self) -> list[dict[str, object]]:
        return []


class Channel:
    name, retry = "inchat", MESSAGE

    def __init__(self) -> None:
        self.on_first: CountingOutbox | None = None  # set: the first delivery writes another event meanwhile

    async def handle(self, event: OutboxEvent) -> None:
        if self.on_first is not None:
            self.on_first.write()
            self.on_first = None


async def delivered(outbox: CountingOutbox, count: int) -> None:
    async with asyncio.timeout(2):
        while len(outbox.delivered) < count:
            await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)  # and nothing more happens meanwhile


async def run_loop(outbox: CountingOutbox, wakeups: MemoryWakeups, channel: Channel) -> asyncio.Task[None]:
    dispatcher = Dispatcher(outbox, {"case.submitted": [channel]}, lambda: NOW, logging.getLogger("t"))
    task = asyncio.ensure_future(dispatch_progress(dispatcher, wakeups, POLL_S))
    await asyncio.sleep(0.02)  # its first claim finds nothing; it waits
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_one_claim_per_write_when_the_batch_took_everything() -> None:
    wakeups = MemoryWakeups()
    outbox, channel = CountingOutbox(wakeups), Channel()
    task = await run_loop(outbox, wakeups, channel)
    try:
        for written in range(1, 4):
            outbox.write()
            await delivered(outbox, written)
        assert outbox.claims == 1 + 3  # the first, empty one, then one per write: none to find nothing
    finally:
        await stop(task)


async def test_an_event_written_during_a_batch_is_delivered_without_waiting_for_the_poll() -> None:
    wakeups = MemoryWakeups()
    outbox, channel = CountingOutbox(wakeups), Channel()
    channel.on_first = outbox
    task = await run_loop(outbox, wakeups, channel)
    try:
        outbox.write()
        await delivered(outbox, 2)
        assert outbox.delivered == [1, 2]
    finally:
        await stop(task)


async def test_what_a_full_batch_left_is_claimed_at_once() -> None:
    wakeups = MemoryWakeups()
    outbox, channel = CountingOutbox(wakeups), Channel()
    task = await run_loop(outbox, wakeups, channel)
    try:
        outbox.write(120)  # one wake-up for more than two batches of 50
        await delivered(outbox, 120)
        assert outbox.delivered == list(range(1, 121)) and outbox.claims == 1 + 3
    finally:
        await stop(task)
