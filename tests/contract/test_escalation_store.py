"""督办 escalation and pledge verification storage, on SQLite and PostgreSQL: concurrent escalations of one
ticket step record one escalation and one notice; concurrent "not resolved" answers reopen a ticket once; an
annotation replaces a case material with the event."""
from __future__ import annotations

import asyncio
import os
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from bot.cases import CaseEvent, PledgeVerification
from bot.staff import Staff, StaffNotice
from bot.ratings import Rating, RatingLevel, Rectification
from storage import tables
from storage.cipher import FieldCipher
from storage.ratings import SqlRatings
from storage.sql import SqlCases
from storage.staff import SqlStaffNotices
from tests.contract.cases import HASH, NOW, new_case

CIPHER = FieldCipher(os.urandom(32))
SUPERVISOR = Staff(id=1, name="王督办", role=Role.supervisor, department="德令哈市公安局", level=Level.township)


async def open_ticket(ratings: SqlRatings) -> Rectification:
    rating = Rating(case_number="DLH20261127000001", user="u1", level=RatingLevel.very_unsatisfied, created_at=NOW,
                    updated_at=NOW)
    ticket = Rectification(id=0, case_number=rating.case_number, department=SUPERVISOR.department,
                           level=rating.level, status="open", callback_due=date(2026, 11, 30),
                           rectify_due=date(2026, 12, 18))
    saved = await ratings.save(rating, ticket)
    assert saved is not None
    return saved


def notice(ticket: Rectification, step: str, text: str) -> StaffNotice:
    return StaffNotice(department=ticket.department, role=Role.supervisor, kind=f"escalation.{step}", text=text,
                       case_number=ticket.case_number, ticket_id=ticket.id,
                       created_at=datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))


async def test_concurrent_escalations_of_one_step_record_one(db: AsyncEngine) -> None:
    ratings = SqlRatings(db)
    ticket = await open_ticket(ratings)
    claims = await asyncio.gather(*(ratings.escalate(ticket.id, "callback", notice(ticket, "callback", f"n{i}"))
                                    for i in range(8)))
    assert sorted(claims) == [False] * 7 + [True]
    assert await ratings.escalate(ticket.id, "rectify", notice(ticket, "rectify", "r")) is True
    stored = await ratings.ticket(ticket.id)
    assert stored and stored.callback_escalated_at == datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
    assert [t.id for t in await ratings.unclosed_tickets()] == [ticket.id]
    notices = await SqlStaffNotices(db).for_staff(SUPERVISOR, 0)
    assert [n.kind for n in notices] == ["escalation.rectify", "escalation.callback"]
    clerk = SUPERVISOR.model_copy(update={"role": Role.clerk})
    assert await SqlStaffNotices(db).for_staff(clerk, 0) == []


async def test_concurrent_reopenings_of_a_closed_ticket_reopen_it_once(db: AsyncEngine) -> None:
    ratings = SqlRatings(db)
    ticket = await open_ticket(ratings)
    assert await ratings.escalate(ticket.id, "callback", notice(ticket, "callback", "late"))
    closed = ticket.model_copy(update={"status": "closed", "result": "已整改", "closed_at": NOW})
    await ratings.update_ticket(closed, None)
    reopened = closed.model_copy(update={"status": "open", "citizen_resolved": False, "closed_at": None,
                                         "callback_due": date(2026, 12, 2), "rectify_due": date(2026, 12, 22)})
    again = notice(ticket, "callback", "reopened").model_copy(update={"kind": "rectification.reopened"})
    claims = await asyncio.gather(*(ratings.reopen(reopened, again) for _ in range(6)))
    assert sorted(claims) == [False] * 5 + [True]
    stored = await ratings.ticket(ticket.id)
    assert stored and stored.status == "open" and stored.citizen_resolved is False and stored.closed_at is None
    assert stored.rectify_due == date(2026, 12, 22) and stored.callback_escalated_at is None  # escalated anew
    assert stored.result == "已整改"  # the earlier result stays for staff to read
    assert await ratings.reopenings([ticket.id, ticket.id + 1]) == {ticket.id: [again.created_at]}
    kinds = [n.kind for n in await SqlStaffNotices(db).for_staff(SUPERVISOR, 0)]
    assert kinds == ["rectification.reopened", "escalation.callback"]


async def test_annotation_replaces_a_material_with_its_event(db: AsyncEngine) -> None:
    cases = SqlCases(db, CIPHER, HASH, utc_now)
    case = await cases.submit(new_case("pledge"), "DLH")
    checked = case.materials[0].model_copy(update={"verification": PledgeVerification(
        outcome="false", note="不实", by="staff:1", at=NOW)})
    event = CaseEvent(at=NOW, actor="staff:1", from_status="submitted", to_status="submitted", detail={"pledge": "x"})
    assert await cases.annotate(case.number, "accepted", event, "case.pledge_verified", {}, [checked]) is False
    assert (await cases.get(case.number)).materials[0].verification is None  # nothing written
    assert await cases.annotate(case.number, "submitted", event, "case.pledge_verified", {}, [checked]) is True
    assert (await cases.get(case.number)).materials == [checked]
    async with db.connect() as conn:
        kinds = (await conn.execute(sa.select(tables.outbox.c.event_type).order_by(tables.outbox.c.id))).scalars().all()
    assert kinds == ["case.submitted", "case.pledge_verified"]
