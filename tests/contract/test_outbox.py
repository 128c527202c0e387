"""Progress delivery on SQLite and PostgreSQL: once per event across dispatchers, retries, dead letters."""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.clock import utc_now
from bot.notify import MAX_ATTEMPTS, Dispatcher, InChatChannel, OutboxEvent
from storage import tables
from storage.cipher import FieldCipher, KeyedHash
from storage.migrate import upgrade
from storage.outbox import SqlInbox, SqlOutbox
from storage.sql import SqlCases
from tests.contract.cases import new_case


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Flaky:
    """A channel that fails until told otherwise."""

    name = "flaky"

    def __init__(self) -> None:
        self.failing = True
        self.sent: list[int] = []

    async def send(self, event: OutboxEvent, user: str, text: str) -> None:
        if self.failing:
            raise ConnectionError("provider down")
        self.sent.append(event.id)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncEngine:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else \
        f"sqlite+aiosqlite:///{tmp_path}/outbox.db"
    engine = create_async_engine(url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


CIPHER, HASH = FieldCipher(os.urandom(32)), KeyedHash(os.urandom(32))


async def submit_cases(db: AsyncEngine, count: int, first: int = 0) -> None:
    cases = SqlCases(db, CIPHER, HASH, utc_now)
    for i in range(first, first + count):
        await cases.submit(new_case(f"k{i}"), "DLH")


def dispatcher(db: AsyncEngine, clock: Clock, channel, content) -> Dispatcher:
    return Dispatcher(SqlOutbox(db), [channel], lambda: content.prompts, clock, logging.getLogger("t"))


async def test_two_dispatchers_deliver_each_event_once(db: AsyncEngine, content) -> None:
    await submit_cases(db, 30)
    clock = Clock()
    inbox = SqlInbox(db)
    first, second = (dispatcher(db, clock, InChatChannel(inbox, clock), content) for _ in range(2))
    counts = await asyncio.gather(first.run_once(limit=7), second.run_once(limit=7),
                                  first.run_once(limit=7), second.run_once(limit=7), first.run_once(limit=50))
    assert sum(counts) == 30
    messages = await inbox.take_unread("u1", clock())
    assert len(messages) == 30 and all("已提交" in m for m in messages)
    async with db.connect() as conn:
        pending = (await conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)
                                      .where(tables.outbox.c.dispatched_at.is_(None)))).scalar_one()
    assert pending == 0


async def test_failures_back_off_then_go_to_dead_letters(db: AsyncEngine, content) -> None:
    await submit_cases(db, 1)
    clock, channel = Clock(), Flaky()
    worker = dispatcher(db, clock, channel, content)
    assert await worker.run_once() == 0
    assert await worker.run_once() == 0 and channel.sent == []  # backing off: not retried at once
    clock.now += timedelta(seconds=31)
    channel.failing = False
    assert await worker.run_once() == 1 and len(channel.sent) == 1

    await submit_cases(db, 1, first=1)
    channel.failing = True
    for _ in range(MAX_ATTEMPTS):
        await worker.run_once()
        clock.now += timedelta(hours=2)
    dead = await SqlOutbox(db).dead_letters()
    assert [(d["event_type"], d["attempts"]) for d in dead] == [("case.submitted", MAX_ATTEMPTS)]
    assert "provider down" in dead[0]["last_error"]
    channel.failing = False
    assert await worker.run_once() == 0  # dead letters are not retried by themselves


async def test_a_redelivered_event_shows_once(db: AsyncEngine, content) -> None:
    await submit_cases(db, 1)
    clock, inbox, outbox = Clock(), SqlInbox(db), SqlOutbox(db)
    [event] = await outbox.claim(clock(), timedelta(seconds=60), 10)
    await InChatChannel(inbox, clock).send(event, "u1", "第一次")  # delivered, then the dispatcher crashed
    clock.now += timedelta(seconds=61)  # the lease runs out
    assert await dispatcher(db, clock, InChatChannel(inbox, clock), content).run_once() == 1
    assert await inbox.take_unread("u1", clock()) == ["第一次"]
