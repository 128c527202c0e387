"""The unmatched inbox's store on SQLite and PostgreSQL: groups with counts by kind, first and last seen and
distinct examples, most frequent first; proposals kept; the retention purge forgets old utterances and empty
groups, and the housekeeping job says so in the log."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.inbox.models import Miss, MissKind
from bot.inbox.recorder import MissBuffer
from bot.inbox.service import UnmatchedInbox
from jobs import UnmatchedRetention
from storage.staff import SqlAudit
from storage.unmatched import SqlUnmatched

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
LONG_AGO = NOW - timedelta(days=100)
NO_STUDIO = None  # these tests flush, list and purge: proposals (which make studio drafts) are tested end to end


def miss(text: str, at: datetime = NOW, kind: MissKind = MissKind.miss) -> Miss:
    return Miss(kind, text, at, ("MZ0010000",) if kind is MissKind.abandoned_clarify else ())


async def test_groups_count_by_kind_most_frequent_first(db: AsyncEngine) -> None:
    store = SqlUnmatched(db)
    dogs, = await store.add([(None, "办狗证", [miss("办狗证", NOW - timedelta(hours=2)), miss("办狗证")])])
    assert await store.add([(dogs, "办狗证", [miss("狗证在哪办", kind=MissKind.handoff)])]) == [dogs]
    fish, = await store.add([(None, "钓鱼证", [miss("钓鱼证", kind=MissKind.abandoned_clarify)])])
    assert await store.keys(NOW - timedelta(days=1)) == [(dogs, "办狗证"), (fish, "钓鱼证")]

    top = await store.groups(NOW - timedelta(days=90), 10, NOW)
    assert [(g.id, g.count, g.kinds) for g in top] == [(dogs, 3, {"miss": 2, "handoff": 1}),
                                                       (fish, 1, {"abandoned_clarify": 1})]
    assert top[0].examples == ["狗证在哪办", "办狗证"]  # newest first, each text once
    assert (top[0].first_seen, top[0].last_seen, top[0].text) == (NOW - timedelta(hours=2), NOW, "办狗证")
    assert [g.id for g in await store.groups(NOW - timedelta(days=90), 1, NOW)] == [dogs]

    await store.propose(fish, {"action": "out_of_scope"})
    group = await store.group(fish, NOW)
    assert group is not None and (group.status, group.proposal, group.count) == ("proposed",
                                                                                 {"action": "out_of_scope"}, 1)
    assert await store.group(9999, NOW) is None


async def test_purge_forgets_old_utterances_and_empty_groups(db: AsyncEngine) -> None:
    store = SqlUnmatched(db)
    mixed, old = await store.add([(None, "办狗证", [miss("办狗证", LONG_AGO), miss("办狗证")]),
                                  (None, "钓鱼证", [miss("钓鱼证", LONG_AGO)])])
    assert await store.purge(NOW - timedelta(days=90)) == 2
    assert await store.group(old, NOW) is None
    kept = await store.group(mixed, NOW)
    assert kept is not None and (kept.count, kept.first_seen) == (1, NOW)
    assert await store.add([(old, "钓鱼证", [miss("钓鱼证")])]) != [old]  # a group purged meanwhile: a new one


async def test_the_housekeeping_job_purges_after_the_retention_days_and_logs_it(db: AsyncEngine, caplog) -> None:
    caplog.set_level(logging.INFO, "zhengwu")
    store, buffer = SqlUnmatched(db), MissBuffer(lambda: NOW)
    inbox = UnmatchedInbox(store, buffer, SqlAudit(db, lambda: NOW), NO_STUDIO,
                           Path("intents"), lambda: NOW, retention_days=90)
    await store.add([(None, "钓鱼证", [miss("钓鱼证", LONG_AGO)])])
    buffer.record(MissKind.miss, "钓鱼证哪里办")
    buffer.record(MissKind.miss, "驾照")
    assert await inbox.flush() == 2
    await UnmatchedRetention(inbox, 90)()
    assert "retention: purged 1 unmatched utterances older than 90 days" in caplog.text
    remaining = await store.groups(NOW - timedelta(days=365), 10, NOW)
    assert sorted((g.text, g.count) for g in remaining) == [("钓鱼证哪里办", 1), ("驾照", 1)]


async def test_a_clarify_counts_once_unanswered_past_the_wait_whichever_instance_hears_the_answer(
        db: AsyncEngine) -> None:
    now = [NOW]
    store = SqlUnmatched(db)
    asking, answering = MissBuffer(lambda: now[0]), MissBuffer(lambda: now[0])  # two instances
    inbox_a, inbox_b = (UnmatchedInbox(store, buffer, SqlAudit(db, lambda: now[0]), NO_STUDIO, Path("intents"),
                                       lambda: now[0], 90, timedelta(minutes=30))
                        for buffer in (asking, answering))
    picked = asking.asked("公积金", ["GJJ01", "GJJ02"])
    asking.asked("社保", ["SB01", "SB02"])               # never answered
    late = asking.asked("医保", ["YB01", "YB02"])
    asking.settle(picked)                               # answered on the same instance before any flush
    answering.settle(late)                              # answered on the other one, written before the question
    assert await inbox_b.flush() == 0
    assert await inbox_a.flush() == 2

    async def shown() -> dict[str, dict[str, int]]:
        return {g.text: g.kinds for g in await store.groups(NOW - timedelta(days=1), 10, now[0] - timedelta(minutes=30))}

    assert await shown() == {}                          # it may still be answered
    now[0] = NOW + timedelta(minutes=31)
    assert await shown() == {"社保": {"unanswered_clarify": 1}}
    again = asking.asked("社保", ["SB01", "SB02"])
    assert await inbox_a.flush() == 1
    answering.settle(again)                             # answered after its question was written
    await inbox_b.flush()
    now[0] = NOW + timedelta(hours=2)
    assert await shown() == {"社保": {"unanswered_clarify": 1}}
