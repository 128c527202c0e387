"""Progress delivery on SQLite and PostgreSQL: once per event and handler across dispatchers, each handler with its
own retries and outcome (a dead letter, or retried until it succeeds with one alert), and the upgrade of rows
written before delivery state was kept per handler."""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from bot.notify import InChatChannel
from bot.outbox.dispatcher import Dispatcher, EventHandlers, backoff
from bot.outbox.events import MAX_ATTEMPTS, MESSAGE, Alert, EventHandler, OutboxEvent, Retry
from bot.staff import Staff, StaffNotice
from storage import tables
from storage.cipher import FieldCipher, KeyedHash
from storage.direct_pg import DirectPostgres
from storage.engine import open_direct
from storage.migrate import upgrade
from storage.outbox import SqlInbox, SqlOutbox
from storage.sql import SqlCases
from storage.staff import SqlStaffNotices
from storage.wakeups import MemoryWakeups, on_outbox_commit
from tests.contract.cases import new_case

FIRST_CASE = "DLH20261127000001"  # the number submit_cases gives the first case
SUPERVISOR = Staff(id=1, name="s", role=Role.supervisor, department="德令哈市公安局", level=Level.township)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Flaky:
    """A handler that fails until told otherwise, with the retry rule it is given."""

    def __init__(self, name: str = "flaky", retry: Retry = MESSAGE) -> None:
        self.name, self.retry = name, retry
        self.failing = True
        self.calls: list[int] = []
        self.sent: list[int] = []

    async def handle(self, event: OutboxEvent) -> None:
        self.calls.append(event.id)
        if self.failing:
            raise ConnectionError("provider down")
        self.sent.append(event.id)




CIPHER, HASH = FieldCipher(os.urandom(32)), KeyedHash(os.urandom(32))


@pytest.fixture
def cases(db: AsyncEngine, direct: DirectPostgres | None) -> SqlCases:
    """Cases as the app stores them (on PostgreSQL, straight on asyncpg)."""
    return SqlCases(db, CIPHER, HASH, utc_now, direct)


@pytest.fixture
def outbox(db: AsyncEngine, direct: DirectPostgres | None) -> SqlOutbox:
    """The outbox as the app's dispatchers use it (on PostgreSQL, claims and releases straight on asyncpg)."""
    return SqlOutbox(db, direct)


async def submit_cases(cases: SqlCases, count: int, first: int = 0) -> None:
    for i in range(first, first + count):
        await cases.submit(new_case(f"k{i}"), "DLH")


def dispatcher(outbox: SqlOutbox, clock: Clock, *handlers: EventHandler) -> Dispatcher:
    return Dispatcher(outbox, {"case.submitted": handlers}, clock, logging.getLogger("t"))


async def pending(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)
                                   .where(tables.outbox.c.dispatched_at.is_(None)))).scalar_one()


async def test_two_dispatchers_deliver_each_event_once(db: AsyncEngine, cases: SqlCases,
                                                       outbox: SqlOutbox, content) -> None:
    await submit_cases(cases, 30)
    clock = Clock()
    inbox = SqlInbox(db)
    first, second = (dispatcher(outbox, clock, InChatChannel(inbox, lambda: content.prompts, clock)) for _ in range(2))
    counts = await asyncio.gather(first.run_once(limit=7), second.run_once(limit=7),
                                  first.run_once(limit=7), second.run_once(limit=7), first.run_once(limit=50))
    assert sum(counts) == 30
    messages = await inbox.take_unread("u1", clock())
    assert len(messages) == 30 and all("已提交" in m for m in messages)
    assert await pending(db) == 0


async def test_failures_back_off_then_go_to_dead_letters(db: AsyncEngine, cases: SqlCases, outbox: SqlOutbox) -> None:
    await submit_cases(cases, 1)
    assert await outbox.backlog() == (1, 0)  # what /metrics exports
    clock, channel = Clock(), Flaky()
    worker = dispatcher(outbox, clock, channel)
    assert await worker.run_once() == 0
    assert await worker.run_once() == 0 and channel.calls == [1]  # backing off: not retried at once
    clock.now += backoff(1) + timedelta(seconds=1)
    channel.failing = False
    assert await worker.run_once() == 1 and len(channel.sent) == 1

    await submit_cases(cases, 1, first=1)
    channel.failing = True
    for _ in range(MAX_ATTEMPTS):
        await worker.run_once()
        clock.now += timedelta(hours=2)
    dead = await outbox.dead_letters()
    assert [(d["event_type"], d["handler"], d["attempts"]) for d in dead] == [("case.submitted", "flaky", MAX_ATTEMPTS)]
    assert "provider down" in str(dead[0]["last_error"]) and {"id", "case_number", "created_at"} <= set(dead[0])
    channel.failing = False
    assert await worker.run_once() == 0  # dead letters are not retried by themselves
    assert await pending(db) == 0
    assert await outbox.backlog() == (0, 1)


async def test_a_failing_handler_neither_resends_nor_delays_the_others(db: AsyncEngine, cases: SqlCases,
                                                                       outbox: SqlOutbox, content) -> None:
    await submit_cases(cases, 1)
    clock, inbox, flaky = Clock(), SqlInbox(db), Flaky()
    inchat, other = InChatChannel(inbox, lambda: content.prompts, clock), Flaky("other")
    other.failing = False
    worker = dispatcher(outbox, clock, flaky, inchat, other)
    assert await worker.run_once() == 2  # the first handler failing: the message is delivered at once anyway
    assert await inbox.take_unread("u1", clock()) == [f"办件 {FIRST_CASE} 已提交，等待工作人员预审。"]
    for _ in range(MAX_ATTEMPTS - 1):
        clock.now += timedelta(hours=1)
        assert await worker.run_once() == 0
    assert len(flaky.calls) == MAX_ATTEMPTS and other.calls == [1]  # done once, never called again
    assert await inbox.take_unread("u1", clock()) == []
    dead = await outbox.dead_letters()
    assert [(d["handler"], d["attempts"]) for d in dead] == [("flaky", MAX_ATTEMPTS)]
    assert await pending(db) == 0


async def test_a_handler_that_must_succeed_is_retried_past_the_limit_and_alerts_once(db: AsyncEngine, cases: SqlCases,
                                                                                     outbox: SqlOutbox) -> None:
    await submit_cases(cases, 1)

    async def notice(event: OutboxEvent, error: str, now: datetime) -> StaffNotice:
        return StaffNotice(department=SUPERVISOR.department, role=Role.supervisor, kind="refund.stuck",
                           text=f"{event.case_number}: {error}", case_number=event.case_number, created_at=now)

    clock = Clock()
    refund = Flaky("refund", Retry(give_up_after=None, alert=Alert(after=3, notice=notice)))
    first, second = dispatcher(outbox, clock, refund), dispatcher(outbox, clock, refund)
    for attempt in range(1, 2 * MAX_ATTEMPTS + 1):
        assert await (first if attempt % 2 else second).run_once() == 0
        notices = await SqlStaffNotices(db).for_staff(SUPERVISOR, 0)
        assert len(notices) == (attempt >= 3)
        clock.now += timedelta(hours=1)  # the back-off is capped at an hour
    assert len(refund.calls) == 2 * MAX_ATTEMPTS
    assert notices[0].kind == "refund.stuck" and notices[0].case_number == FIRST_CASE
    assert "provider down" in notices[0].text
    assert await outbox.dead_letters() == []
    refund.failing = False
    assert await first.run_once() == 1 and refund.sent == [1]
    assert await pending(db) == 0 and await outbox.dead_letters() == []


async def test_recording_deliveries_wakes_no_dispatcher(db: AsyncEngine, database_url: str) -> None:
    """Only a new event wakes the dispatchers (through the engine or straight on asyncpg, as the app wires them);
    the state they record about it does not (else they wake themselves)."""
    wakeups = MemoryWakeups()
    on_outbox_commit(db, wakeups)
    direct = open_direct(database_url, wakeups.notify)
    try:
        cases, outbox = SqlCases(db, CIPHER, HASH, utc_now, direct), SqlOutbox(db, direct)
        await submit_cases(cases, 1)
        assert await wakeups.wait(1)
        clock, failing, fine = Clock(), Flaky("failing"), Flaky("fine")
        fine.failing = False
        assert await dispatcher(outbox, clock, failing, fine).run_once() == 1
        assert not await wakeups.wait(0.1)
        await submit_cases(cases, 1, first=1)
        assert await wakeups.wait(1)
    finally:
        if direct is not None:
            await direct.close()


async def test_a_redelivered_event_shows_once(db: AsyncEngine, cases: SqlCases, outbox: SqlOutbox, content) -> None:
    await submit_cases(cases, 1)
    clock, inbox = Clock(), SqlInbox(db)
    inchat = InChatChannel(inbox, lambda: content.prompts, clock)
    [claimed] = await outbox.claim(clock(), timedelta(seconds=60), 10)
    await inchat.handle(claimed.event)  # delivered, then the dispatcher crashed before recording it
    clock.now += timedelta(seconds=61)  # the lease runs out
    assert await dispatcher(outbox, clock, inchat).run_once() == 1
    assert len(await inbox.take_unread("u1", clock())) == 1


OUTBOX_0009 = sa.table("outbox", *(sa.column(name) for name in (
    "case_number", "event_type", "created_at", "dispatched_at", "attempts", "next_attempt_at", "last_error", "dead")),
    sa.column("payload", sa.JSON))


async def test_rows_written_before_0010_keep_being_delivered(database_url: str, content) -> None:
    """Pending events stay due; a dead refusal is reopened (its refund may be owed); other dead letters stay."""
    engine = create_async_engine(database_url)
    await upgrade(engine, "0009")
    now = Clock().now
    rows = [("case.submitted", {"user": "u1"}, 2, None, False),                             # pending, retried
            ("case.status_changed", {"user": "u1", "to": "refused"}, 8, "Timeout", True),   # refund may be owed
            ("case.status_changed", {"user": "u1", "to": "accepted"}, 8, "Boom", True),     # a dead letter
            ("case.submitted", {"user": "u1"}, 0, None, False)]                             # dispatched
    async with engine.begin() as conn:
        await conn.execute(OUTBOX_0009.insert(), [
            {"case_number": f"DLH2026112700000{i}", "event_type": event_type, "payload": payload, "created_at": now,
             "dispatched_at": now if i == 4 else None, "attempts": attempts, "next_attempt_at": now if i == 1 else None,
             "last_error": error, "dead": dead}
            for i, (event_type, payload, attempts, error, dead) in enumerate(rows, start=1)])
    await upgrade(engine)
    dead = await SqlOutbox(engine).dead_letters()
    assert [(d["case_number"], d["handler"], d["attempts"], d["last_error"]) for d in dead] == [
        ("DLH20261127000003", "channels", 8, "Boom")]
    clock = Clock()
    clock.now += timedelta(minutes=1)
    seen = Flaky("refund")
    seen.failing = False
    routes: EventHandlers = {"case.submitted": [seen], "case.status_changed": [seen]}
    assert await Dispatcher(SqlOutbox(engine), routes, clock, logging.getLogger("t")).run_once() == 2
    assert seen.sent == [1, 2]
    assert await pending(engine) == 0
    await engine.dispose()


async def test_the_inbox_is_read_without_marking_and_acknowledged_per_user(db: AsyncEngine) -> None:
    inbox, clock = SqlInbox(db), Clock()
    for n in range(4):
        await inbox.put("u1", "DLH1", f"第{n}条", f"e{n}", clock())
    await inbox.put("u2", None, "别人的", "e9", clock())
    first = await inbox.recent("u1", unread_only=False, limit=3)
    assert [m.text for m in first] == ["第1条", "第2条", "第3条"] and all(m.unread for m in first)
    assert first[0].created_at == clock() and first[0].case_number == "DLH1"
    assert await inbox.recent("u1", unread_only=True, limit=10) == await inbox.recent("u1", unread_only=False, limit=10)
    assert await inbox.acknowledge("u2", None, first[-1].id, clock()) == 0  # u1's ids: nothing of u2's below them
    assert await inbox.acknowledge("u1", [first[0].id, first[0].id], None, clock()) == 1
    assert await inbox.acknowledge("u1", None, first[1].id, clock()) == 2  # 第0条 and 第2条
    assert [m.text for m in await inbox.recent("u1", unread_only=True, limit=10)] == ["第3条"]
    assert await inbox.take_unread("u1", clock()) == ["第3条"]
    assert await inbox.take_unread("u2", clock()) == ["别人的"]
    assert [m.unread for m in await inbox.recent("u1", unread_only=False, limit=10)] == [False] * 4
