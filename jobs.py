"""Background jobs of every instance: the housekeeping round (every 10 minutes) and the progress dispatch loop.

Each housekeeping job is a small object called once per round; a failing one is logged and the others still run.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bootstrap import Services
from bot.accounts import Sessions
from bot.cancellation import raise_if_cancelling
from bot.feedback import Feedback
from bot.inbox.service import UnmatchedInbox
from bot.handoff.upkeep import Upkeep
from bot.outbox.dispatcher import Dispatcher
from bot.payments.service import Payments
from bot.ports import BlobStore
from bot.workdays import china_date
from storage.sql_sessions import SqlSessionStore
from storage.wakeups import MemoryWakeups

HOUSEKEEPING_SECONDS = 600
Job = Callable[[], Awaitable[None]]
_log = logging.getLogger("zhengwu")


class Reconcile:
    """Once a day (China time), yesterday's orders against the provider's records; mismatches are logged."""

    def __init__(self, payments: Payments, clock: Callable[[], datetime]) -> None:
        self._payments, self._clock = payments, clock
        self._done: date = china_date(clock())  # the first run is the next day's

    async def __call__(self) -> None:
        if (today := china_date(self._clock())) != self._done:
            yesterday = today - timedelta(days=1)
            mismatches = await self._payments.reconcile(yesterday)
            _log.info("payments: reconciled %s, %d mismatches", yesterday, len(mismatches))
            self._done = today


@dataclass(frozen=True)
class Retention:
    """Idle conversations (database store; Redis expires them itself) and uploads of drafts that never became a
    case, once older than draft_retention_days."""

    local_sessions: SqlSessionStore | None
    blobs: BlobStore
    draft_days: int
    clock: Callable[[], datetime]

    async def __call__(self) -> None:
        if self.local_sessions is not None and (purged := await self.local_sessions.purge_idle()):
            _log.info("retention: purged %d idle conversations", purged)
        cutoff = self.clock() - timedelta(days=self.draft_days)
        if purged := await self.blobs.purge_unclaimed(cutoff):
            _log.info("retention: purged %d uploads of drafts last touched before %s", purged, cutoff)


@dataclass(frozen=True)
class Ratings:
    """Default ratings of unrated finished cases; escalation of missed rectification deadlines (督办)."""

    feedback: Feedback

    async def __call__(self) -> None:
        if defaulted := await self.feedback.apply_defaults():
            _log.info("好差评: %d finished cases rated by default (非常满意)", defaulted)
        if escalated := await self.feedback.escalate_overdue():
            _log.info("督办: %d missed rectification deadlines escalated to supervisors", escalated)


@dataclass(frozen=True)
class ForgetRevocations:
    """Revocations of session tokens that have expired anyway."""

    logins: Sessions
    clock: Callable[[], datetime]

    async def __call__(self) -> None:
        if forgotten := await self.logins.purge(self.clock()):
            _log.info("sessions: forgot %d revocations of expired tokens", forgotten)


@dataclass(frozen=True)
class Settle:
    """Orders left open by a lost notification (queried from the provider); old notification deliveries."""

    payments: Payments
    notification_window: timedelta

    async def __call__(self) -> None:
        if settled := await self.payments.settle():
            _log.info("payments: %d orders settled by querying the provider", settled)
        await self.payments.forget_deliveries(self.notification_window)


@dataclass(frozen=True)
class UnmatchedRetention:
    """Utterances of the unmatched inbox older than unmatched_retention_days."""

    inbox: UnmatchedInbox
    days: int

    async def __call__(self) -> None:
        if purged := await self.inbox.purge():
            _log.info("retention: purged %d unmatched utterances older than %d days", purged, self.days)


@dataclass(frozen=True)
class FlushUnmatched:
    """This instance's buffered misses into the unmatched inbox (every unmatched_flush_seconds, and at the end)."""

    inbox: UnmatchedInbox

    async def __call__(self) -> None:
        await self.inbox.flush()


@dataclass(frozen=True)
class HumanService:
    """督办 of callbacks (人工留言) not made by their due day; transcripts past their retention (the desk logs it)."""

    upkeep: Upkeep

    async def __call__(self) -> None:
        if escalated := await self.upkeep.escalate_callbacks():
            _log.info("督办: %d missed callbacks of the human service escalated to supervisors", escalated)
        await self.upkeep.purge()


def housekeeping_jobs(services: Services) -> list[Job]:
    settings, clock = services.settings, services.clock
    return [Reconcile(services.payments, clock),
            Retention(services.stores.shared.local_sessions, services.stores.blobs, settings.draft_retention_days,
                      clock),
            Ratings(services.feedback), ForgetRevocations(services.logins, clock),
            Settle(services.payments, timedelta(seconds=settings.payments.notification_window_seconds)),
            HumanService(services.handoffs.upkeep),
            UnmatchedRetention(services.unmatched, settings.unmatched_retention_days)]


async def housekeeping(jobs: Sequence[Job], interval_s: float = HOUSEKEEPING_SECONDS) -> None:
    """Run every job once per interval, for ever."""
    while True:
        await asyncio.sleep(interval_s)
        for job in jobs:
            try:
                await job()
            except Exception:  # one failing store (e.g. the bucket) must not hold up the other jobs
                raise_if_cancelling()
                _log.exception("housekeeping: %s failed; next round tries again", type(job).__name__)


async def dispatch_progress(dispatcher: Dispatcher, wakeups: MemoryWakeups, interval_s: float) -> None:
    """Deliver outbox events; every instance runs this, claims keep them from sending one twice. After a batch
    that was not full (it took everything due) it waits for a committed outbox write (any instance, through Redis;
    one made during the batch wakes it at once) or the next poll, instead of claiming again to find nothing."""
    while True:
        raise_if_cancelling()
        try:
            delivered, full = await dispatcher.run_batch()
            if not (delivered and full):
                await wakeups.wait(interval_s)
        except Exception:  # the database may be away for a while: try again later
            raise_if_cancelling()
            _log.exception("progress dispatch failed")
            await asyncio.sleep(interval_s)
