"""The human service desk on its SQL store, on SQLite and PostgreSQL: 首问负责 (one claim wins, even at the same
moment), the per-person limit, at most two transfers (the first owner still sees the chat), another department's
chat is not found (and the attempt audited), the after-hours callback due the next working day and its 督办,
round-robin auto-assignment, and the retention purge."""
from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog.models import Level
from bot.content import Content
from bot.errors import Forbidden
from bot.handoff.desk import HandoffDesk
from bot.handoff.models import HandoffConflict, HandoffContext, HandoffNotFound, HandoffStatus
from bot.handoff.routing import Desk
from bot.handoff.settings import DeskSettings
from bot.lifecycle import Role
from bot.staff import Staff
from storage import tables
from storage.cipher import FieldCipher
from storage.handoffs import SqlHandoffs
from storage.live import MemoryLive, MemoryPresence
from storage.outbox import SqlInbox
from storage.ratings import SqlRatings
from storage.staff import SqlAudit
from tests.clock import Clock

POLICE = Desk("德令哈市公安局", "township")
FRIDAY_10 = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)    # 10:00 China time
FRIDAY_18 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)   # 18:00: after hours


def clerk(staff_id: int, department: str = POLICE.department, role: Role = Role.clerk) -> Staff:
    return Staff(id=staff_id, name=f"员工{staff_id}", role=role, department=department, level=Level.township)


class World:
    def __init__(self, db: AsyncEngine, cipher: FieldCipher, content: Content, **settings: object) -> None:
        self.clock, self.presence, self.db = Clock(FRIDAY_10), MemoryPresence(), db
        self.desk = HandoffDesk(SqlHandoffs(db, cipher), lambda: content, self.clock,
                                DeskSettings(general=Desk("政务服务中心综合窗口", "city"), **settings),  # type: ignore[arg-type]
                                self.presence, MemoryLive(), SqlInbox(db), SqlRatings(db), SqlAudit(db, self.clock))

    async def online(self, *staff: Staff) -> None:
        for s in staff:
            await self.presence.beat(s.id, s.department, 60)

    async def ask(self, user: str) -> int:
        opening = await self.desk.open(user, HandoffContext(target="GA0020000", target_name="居民身份证换领",
                                                            fields={"id_number": "11010519491231002X"}), POLICE, "chat")
        return opening.handoff.id


@pytest.fixture
def world(db: AsyncEngine, cipher: FieldCipher, content: Content) -> World:
    return World(db, cipher, content, per_person_limit=2)


async def test_one_claim_wins_and_the_limit_holds(world: World) -> None:
    a, b = clerk(1), clerk(2)
    await world.online(a, b)
    chats = [await world.ask(f"u{n}") for n in range(4)]
    results = await asyncio.gather(world.desk.claim(a, chats[0]), world.desk.claim(b, chats[0]),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Handoff", "HandoffConflict"]
    winner = a if not isinstance(results[0], Exception) else b
    await world.desk.claim(winner, chats[1])
    with pytest.raises(HandoffConflict):
        await world.desk.claim(winner, chats[2])  # two at a time
    await world.desk.close(winner, chats[0], "已解答")
    assert (await world.desk.claim(winner, chats[2])).owner_id == winner.id


async def test_another_department_sees_nothing_and_is_audited(world: World) -> None:
    a, other = clerk(1), clerk(9, "德令哈市民政局")
    await world.online(a)
    chat = await world.ask("u1")
    with pytest.raises(HandoffNotFound):
        await world.desk.view(other, chat)
    assert await world.desk.listing(other, [HandoffStatus.waiting]) == []
    with pytest.raises(HandoffNotFound):
        await world.desk.claim(other, chat)
    async with world.db.connect() as conn:
        refused = (await conn.execute(sa.select(tables.audit_log.c.detail)
                                      .where(tables.audit_log.c.action == "refused"))).scalars().all()
    assert [r["attempt"] for r in refused] == ["handoff_view", "handoff_claim"]
    assert all(r["status"] == 404 for r in refused)


async def test_at_most_two_transfers_and_the_first_owner_keeps_seeing_it(world: World) -> None:
    first, colleague, civil = clerk(1), clerk(2), clerk(3, "德令哈市民政局")
    await world.online(first, colleague, civil)
    chat = await world.ask("u1")
    await world.desk.claim(first, chat)
    moved = await world.desk.transfer(first, chat, None, colleague, "他更熟悉这个业务")
    assert (moved.owner_id, moved.transfers, moved.status) == (colleague.id, 1, HandoffStatus.active)
    with pytest.raises(Forbidden):
        await world.desk.say(first, chat, "还在吗")  # 首问负责 moved with the transfer: the first owner may not answer
    moved = await world.desk.transfer(colleague, chat, "德令哈市民政局", None, "涉及婚姻登记")
    assert (moved.department, moved.status, moved.owner_id) == ("德令哈市民政局", HandoffStatus.waiting, None)
    await world.desk.claim(civil, chat)
    with pytest.raises(HandoffConflict):
        await world.desk.transfer(civil, chat, POLICE.department, None, "第三次")
    await world.desk.close(civil, chat, "已告知婚姻登记材料")
    seen = await world.desk.listing(first, [HandoffStatus.closed])
    assert [h.summary for h in seen] == ["已告知婚姻登记材料"]  # the outcome, though the chat left the department
    handoff, messages = await world.desk.view(first, chat)
    assert [m.text for m in messages if m.author.value == "event"][1:3] == [
        "员工1转给员工2：他更熟悉这个业务", "员工2转给德令哈市民政局：涉及婚姻登记"]


async def test_after_hours_a_message_is_due_the_next_working_day_and_escalated_once(world: World) -> None:
    world.clock.now = FRIDAY_18
    a = clerk(1)
    await world.online(a)  # online, but after hours
    chat = await world.ask("u1")
    handoff, _ = await world.desk.view(a, chat)
    assert (handoff.status, handoff.callback_due) == (HandoffStatus.callback, date(2026, 11, 30))  # Monday
    await world.desk.citizen_says(chat, "我的身份证丢了，明天要坐火车怎么办？")
    world.clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # Monday evening: due today, not late
    assert await world.desk.upkeep.escalate_callbacks() == 0
    world.clock.now += timedelta(days=1)
    assert await asyncio.gather(world.desk.upkeep.escalate_callbacks(), world.desk.upkeep.escalate_callbacks()) in ([1, 0], [0, 1])
    async with world.db.connect() as conn:
        notices = (await conn.execute(sa.select(tables.staff_notices))).mappings().all()
    assert [(n["kind"], n["role"], n["department"]) for n in notices] == [
        ("escalation.handoff", "supervisor", POLICE.department)]
    closed = await world.desk.close(a, chat, "已电话回复")  # anyone of the department calls back and closes
    assert closed.status is HandoffStatus.closed


async def test_nobody_online_in_hours_also_leaves_a_message(world: World) -> None:
    chat = await world.ask("u1")
    assert (await world.desk.view(clerk(1), chat))[0].status is HandoffStatus.callback


async def test_auto_assignment_goes_round_robin_under_the_limit(db: AsyncEngine, cipher: FieldCipher,
                                                                 content: Content) -> None:
    world = World(db, cipher, content, auto_assign=True, per_person_limit=2)
    await world.online(clerk(1), clerk(2))
    owners = []
    for n in range(5):
        handoff, _ = await world.desk.view(clerk(1), await world.ask(f"u{n}"))
        owners.append(handoff.owner_id)
    assert owners == [1, 2, 1, 2, None]  # both at their limit: the fifth waits in the queue


async def test_transcripts_past_retention_are_purged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    a = clerk(1)
    await world.online(a)
    old, recent = await world.ask("u1"), await world.ask("u2")
    for chat in (old, recent):
        await world.desk.claim(a, chat)
        await world.desk.say(a, chat, "您好")
    await world.desk.close(a, old, "已解答")
    world.clock.now += timedelta(days=181)
    await world.desk.close(a, recent, "已解答")
    with caplog.at_level(logging.INFO, "zhengwu.handoff"):
        assert await world.desk.upkeep.purge() == 1
    assert "purged 1 closed chats" in caplog.text
    with pytest.raises(HandoffNotFound):
        await world.desk.view(a, old)
    assert (await world.desk.view(a, recent))[1]
