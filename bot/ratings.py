"""好差评: ratings of finished cases and the rectification (整改) a bad rating opens."""
from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from bot.lifecycle import CaseStatus
from bot.staff import StaffNotice

RATEABLE = {CaseStatus.completed.value, CaseStatus.refused.value}
TicketStep = Literal["callback", "rectify"]  # 回访, 整改: the two deadlines of a ticket


class RatingLevel(IntEnum):
    """好差评 level, 5 (非常满意) to 1 (非常不满意); not the administrative `bot.catalog.models.Level`."""

    very_satisfied = 5   # 非常满意
    satisfied = 4        # 满意
    basic = 3            # 基本满意
    unsatisfied = 2      # 不满意
    very_unsatisfied = 1  # 非常不满意

    @property
    def bad(self) -> bool:
        return self <= RatingLevel.unsatisfied


RATING_LABELS = {RatingLevel.very_satisfied: "非常满意", RatingLevel.satisfied: "满意", RatingLevel.basic: "基本满意",
                 RatingLevel.unsatisfied: "不满意", RatingLevel.very_unsatisfied: "非常不满意"}
GOOD_TAGS = ["一次办好", "耐心细致", "办理快捷", "指引清楚"]
BAD_TAGS = ["超时限", "额外条件", "额外材料", "态度不好", "多次跑腿"]


class Rating(BaseModel):
    case_number: str
    user: str
    level: RatingLevel
    tags: list[str] = Field(default_factory=list)
    text: str = Field(default="", max_length=300)
    is_default: bool = False
    created_at: datetime
    updated_at: datetime


class Rectification(BaseModel):
    """差评整改 ticket: callback (回访) and rectification (整改) due in working days; closed with a result."""

    id: int
    case_number: str
    department: str
    level: RatingLevel
    status: str                      # open, called_back, closed
    callback_due: date
    rectify_due: date
    callback_note: str | None = None
    result: str | None = None
    closed_at: datetime | None = None
    citizen_resolved: bool | None = None
    callback_escalated_at: datetime | None = None  # 督办: the missed callback was escalated to the supervisors
    rectify_escalated_at: datetime | None = None   # 督办: the missed rectification deadline was escalated
    supervision_note: str | None = None            # the supervisor's latest 督办 note
    supervised_at: datetime | None = None

    @property
    def escalated(self) -> bool:
        return bool(self.callback_escalated_at or self.rectify_escalated_at)

    def escalated_at(self, step: TicketStep) -> datetime | None:
        return self.callback_escalated_at if step == "callback" else self.rectify_escalated_at


class RatingStore(Protocol):
    async def get(self, case_number: str) -> Rating | None: ...
    async def save(self, rating: Rating, ticket: Rectification | None) -> Rectification | None:
        """Store (or replace) the rating; with a ticket, open it in the same transaction (once per case)."""
    async def tickets(self, departments: list[str]) -> list[Rectification]: ...
    async def ticket(self, ticket_id: int) -> Rectification | None: ...
    async def update_ticket(self, ticket: Rectification, event: dict[str, object] | None) -> None:
        """Write the ticket; with an event, put it in the outbox (e.g. the result for the citizen)."""
    async def for_user(self, user: str) -> list[Rectification]: ...
    async def unclosed_tickets(self) -> list[Rectification]: ...
    async def escalate(self, ticket_id: int, step: TicketStep, notice: StaffNotice) -> bool:
        """Mark the step of the ticket escalated at notice.created_at and store the notice, in one transaction,
        unless it was escalated already (False): however many instances sweep at once, one escalation."""
    async def reopen(self, ticket: Rectification, notice: StaffNotice) -> bool:
        """Write the reopened ticket (status, answer, new deadlines, escalations cleared) and store the notice in one
        transaction, only while the stored ticket is closed and unanswered (False otherwise: reopened once)."""
    async def reopenings(self, ticket_ids: list[int]) -> dict[int, list[datetime]]:
        """When each ticket was reopened by the citizen's "not resolved", oldest first."""
    async def unrated_finished(self, before: datetime) -> list[tuple[str, str]]: ...
    async def all_ratings(self) -> list[tuple[str, int, bool]]:
        """(case target, level, is_default) of every rating."""
