"""好差评 loop: citizens rate finished cases; a bad rating opens a rectification ticket with working-day
deadlines; staff call back and close it with a written result the citizen is told about and can answer. A missed
deadline is escalated (督办) to the department's supervisors, who may add a note."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from bot.content import Content
from bot.errors import Forbidden, NotFound
from bot.handoff.models import HANDOFF_PREFIX
from bot.lifecycle import Role
from bot.cases import Case
from bot.ports import AuditLog, CaseRepository
from bot.refusals import audit_refusals
from bot.scope import part_of
from bot.staff import Staff, StaffNotice
from bot.ratings import RATEABLE, Rating, RatingLevel, RatingStore, Rectification, TicketStep
from bot.workdays import china_date


@dataclass(frozen=True)
class TicketRow:
    """A ticket as staff see it: with the rating that opened it and when the citizen said it was not resolved."""

    ticket: Rectification
    overdue: bool
    rating: Rating | None
    reopened_at: list[datetime]


class TicketNotFound(NotFound):
    """No such rectification ticket in the staff member's department, or its case lies outside their scope."""

    detail = "没有找到这个整改单。"


@dataclass(frozen=True)
class FeedbackSettings:
    edit_hours: int = 24         # a rating can be changed this long after it was given
    callback_days: int = 1       # 回访 within … working days
    rectify_days: int = 15       # 整改 within … working days
    default_after_days: int = 15  # unrated finished cases are rated 非常满意 by default after this


class Feedback:
    def __init__(self, ratings: RatingStore, cases: CaseRepository, content: Callable[[], Content],
                 clock: Callable[[], datetime], settings: FeedbackSettings, audit: AuditLog) -> None:
        self._ratings, self._cases, self._content, self._audit = ratings, cases, content, audit
        self._clock, self._settings = clock, settings

    async def rateable(self, user: str) -> list[Case]:
        """The user's finished cases not rated yet, or rated within the edit window."""
        now = self._clock()
        result = []
        for case in await self._cases.list_for_user(user):
            if case.status not in RATEABLE:
                continue
            rating = await self._ratings.get(case.number)
            if rating is None or (not rating.is_default and
                                  now - rating.created_at < timedelta(hours=self._settings.edit_hours)):
                result.append(case)
        return result

    async def rate(self, user: str, number: str, level: RatingLevel, tags: list[str], text: str) -> Rating | None:
        """Save the rating (None if the case is not the user's or no longer rateable); bad ones open a ticket."""
        case = next((c for c in await self.rateable(user) if c.number == number), None)
        if case is None:
            return None
        now = self._clock()
        earlier = await self._ratings.get(number)
        rating = Rating(case_number=number, user=user, level=level, tags=tags, text=text.strip()[:300],
                        created_at=earlier.created_at if earlier else now, updated_at=now)
        await self._ratings.save(rating, self._ticket(case, level) if level.bad else None)
        return rating

    async def apply_defaults(self) -> int:
        """Rate finished cases nobody rated within default_after_days as 非常满意, marked as default."""
        now = self._clock()
        unrated = await self._ratings.unrated_finished(now - timedelta(days=self._settings.default_after_days))
        for number, user in unrated:
            await self._ratings.save(Rating(case_number=number, user=user, level=RatingLevel.very_satisfied,
                                            is_default=True, created_at=now, updated_at=now), None)
        return len(unrated)

    def _ticket(self, case: Case, level: RatingLevel) -> Rectification:
        calendar, catalog = self._content().calendar, self._content().catalog
        item = catalog.items.get(case.item_codes[0])
        today = china_date(self._clock())
        return Rectification(id=0, case_number=case.number, department=item.department if item else "未知部门",
                             level=level, status="open",
                             callback_due=calendar.add_workdays(today, self._settings.callback_days).date,
                             rectify_due=calendar.add_workdays(today, self._settings.rectify_days).date)

    @staticmethod
    def _missed(ticket: Rectification, today: date) -> list[TicketStep]:
        """Steps of the ticket whose deadline passed with the step not done."""
        missed: list[TicketStep] = []
        if ticket.status == "open" and today > ticket.callback_due:
            missed.append("callback")
        if ticket.status != "closed" and today > ticket.rectify_due:
            missed.append("rectify")
        return missed

    async def tickets(self, staff: Staff, escalated_only: bool = False) -> list[TicketRow]:
        """Tickets of the staff member's department whose case is in their scope (level), with an overdue flag,
        the rating (level, tags, comment) and the citizen's "not resolved" answers (supervisors see the same, to
        chase); only the escalated ones if asked. The list is audited."""
        today = china_date(self._clock())
        shown = [t for t in await self._ratings.tickets([staff.department])
                 if (t.escalated or not escalated_only) and await self._in_scope(staff, t)]
        reopened = await self._ratings.reopenings([t.id for t in shown])
        await self._audit.record(staff, "rectification_list", None, {"count": len(shown)})
        return [TicketRow(t, bool(self._missed(t, today)), await self._ratings.get(t.case_number),
                          reopened.get(t.id, [])) for t in shown]

    async def escalate_overdue(self) -> int:
        """Escalate every missed callback or rectification deadline to the department's supervisors as a staff
        notice, once per ticket and step even when several instances sweep at the same time; returns how many
        this call escalated."""
        now, prompts = self._clock(), self._content().prompts
        escalated = 0
        for ticket in await self._ratings.unclosed_tickets():
            for step in self._missed(ticket, china_date(now)):
                if ticket.escalated_at(step):
                    continue
                template, due = ((prompts.escalated_callback, ticket.callback_due) if step == "callback"
                                 else (prompts.escalated_rectify, ticket.rectify_due))
                notice = StaffNotice(department=ticket.department, role=Role.supervisor, kind=f"escalation.{step}",
                                     text=template.format(ticket=ticket.id, number=ticket.case_number,
                                                          due=due.isoformat()),
                                     case_number=ticket.case_number, ticket_id=ticket.id, created_at=now)
                escalated += await self._ratings.escalate(ticket.id, step, notice)
        return escalated

    async def supervise(self, staff: Staff, ticket_id: int, note: str) -> Rectification:
        """A supervisor's 督办 note on a ticket of their department (the latest note is kept). Raises Forbidden,
        TicketNotFound."""
        async with audit_refusals(self._audit, staff, "rectification_supervision", None, ticket=ticket_id):
            if staff.role is not Role.supervisor:
                raise Forbidden("督办 notes are written by supervisors")
            ticket = await self._department_ticket(staff, ticket_id)
        noted = ticket.model_copy(update={"supervision_note": note, "supervised_at": self._clock()})
        await self._ratings.update_ticket(noted, None)
        await self._audit.record(staff, "rectification_supervision", ticket.case_number, {"ticket": ticket_id})
        return noted

    async def call_back(self, staff: Staff, ticket_id: int, note: str) -> Rectification:
        """Record the 回访 of an open ticket (a ticket past that step is returned unchanged). Raises Forbidden,
        TicketNotFound. Audited, refusals too."""
        ticket = await self._own_ticket(staff, ticket_id, "rectification_callback")
        if ticket.status != "open":
            return ticket
        updated = ticket.model_copy(update={"status": "called_back", "callback_note": note})
        await self._ratings.update_ticket(updated, None)
        await self._audit.record(staff, "rectification_callback", ticket.case_number, {"ticket": ticket_id})
        return updated

    async def close(self, staff: Staff, ticket_id: int, result: str) -> Rectification:
        """Close with a written result, pushed to the citizen (outbox) who can then say if it is resolved (a closed
        ticket is returned unchanged). Raises Forbidden, TicketNotFound. Audited, refusals too."""
        ticket = await self._own_ticket(staff, ticket_id, "rectification_close")
        if ticket.status == "closed":
            return ticket
        closed = ticket.model_copy(update={"status": "closed", "result": result, "closed_at": self._clock(),
                                           "citizen_resolved": None})  # asked again, also after a reopening
        case = await self._cases.get(ticket.case_number)
        await self._ratings.update_ticket(closed, {"type": "rectification.closed", "number": ticket.case_number,
                                                   "user": case.user if case else "", "result": result,
                                                   "ticket": ticket.id})
        await self._audit.record(staff, "rectification_close", ticket.case_number, {"ticket": ticket_id})
        return closed

    async def awaiting_answer(self, user: str) -> list[Rectification]:
        return [t for t in await self._ratings.for_user(user) if t.status == "closed" and t.citizen_resolved is None]

    async def answer(self, user: str, ticket_id: int, resolved: bool) -> Rectification | None:
        """The citizen's answer to a closed ticket's result (None when that ticket awaits no answer of theirs).
        Not resolved reopens the ticket with new working-day deadlines and leaves a 督办 notice for the
        department's supervisors, once however often the answer is sent."""
        ticket = next((t for t in await self.awaiting_answer(user) if t.id == ticket_id), None)
        if ticket is None:
            return None
        if resolved:
            answered = ticket.model_copy(update={"citizen_resolved": True})
            await self._ratings.update_ticket(answered, None)
            return answered
        now, content = self._clock(), self._content()
        today = china_date(now)
        reopened = ticket.model_copy(update={
            "status": "open", "citizen_resolved": False, "closed_at": None,
            "callback_due": content.calendar.add_workdays(today, self._settings.callback_days).date,
            "rectify_due": content.calendar.add_workdays(today, self._settings.rectify_days).date,
            "callback_escalated_at": None, "rectify_escalated_at": None})
        notice = StaffNotice(department=ticket.department, role=Role.supervisor, kind="rectification.reopened",
                             text=content.prompts.reopened_notice.format(ticket=ticket.id, number=ticket.case_number,
                                                                         due=reopened.rectify_due.isoformat()),
                             case_number=ticket.case_number, ticket_id=ticket.id, created_at=now)
        return reopened if await self._ratings.reopen(reopened, notice) else None

    async def _own_ticket(self, staff: Staff, ticket_id: int, attempt: str) -> Rectification:
        async with audit_refusals(self._audit, staff, attempt, None, ticket=ticket_id):
            if staff.role is Role.supervisor:
                raise Forbidden("supervisors follow tickets up; the department's staff handle them")
            return await self._department_ticket(staff, ticket_id)

    async def _department_ticket(self, staff: Staff, ticket_id: int) -> Rectification:
        ticket = await self._ratings.ticket(ticket_id)
        if ticket is None or not await self._in_scope(staff, ticket):
            raise TicketNotFound()
        return ticket

    async def _in_scope(self, staff: Staff, ticket: Rectification) -> bool:
        """A ticket follows its case: the staff member's department, and the case within their level."""
        if ticket.department != staff.department:
            return False
        if ticket.case_number.startswith(HANDOFF_PREFIX):  # a human session (转人工): its department's
            return True
        case = await self._cases.get(ticket.case_number)
        return case is not None and part_of(self._content().catalog, staff, case.target) is not None

    async def statistics(self) -> dict[str, object]:
        """Satisfaction and bad-rating rates per department and item, rectification on-time rate, 网上可办率 (overall
        and per department)."""
        catalog = self._content().catalog
        by_department: dict[str, list[int]] = defaultdict(list)
        by_item: dict[str, list[int]] = defaultdict(list)
        for target_key, level, _ in await self._ratings.all_ratings():
            target = catalog.target(target_key)
            for item in target.items if target else ():
                by_item[item.name].append(level)
                by_department[item.department].append(level)
        tickets = await self._ratings.tickets(sorted({i.department for i in catalog.items.values()} | {"未知部门"}))
        closed = [t for t in tickets if t.closed_at]
        on_time = sum(china_date(t.closed_at) <= t.rectify_due for t in closed if t.closed_at)

        def rates(levels: list[int]) -> dict[str, object]:
            return {"ratings": len(levels), "satisfaction_rate": round(sum(lv >= 3 for lv in levels) / len(levels), 4),
                    "bad_rate": round(sum(lv <= 2 for lv in levels) / len(levels), 4)}

        return {"departments": {d: rates(v) for d, v in sorted(by_department.items())},
                "items": {i: rates(v) for i, v in sorted(by_item.items())},
                "rectification": {"tickets": len(tickets), "closed": len(closed),
                                  "on_time_rate": round(on_time / len(closed), 4) if closed else None},
                "online_rate": round(catalog.online_rate(), 4),
                "online_rates": {d: round(rate, 4) for d, rate in catalog.online_rates().items()}}
