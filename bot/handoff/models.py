"""A handoff (one chat handed to staff), its messages, and the store they live in."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel, Field

from bot.errors import Conflict, NotFound
from bot.staff import StaffNotice


class HandoffStatus(str, Enum):
    waiting = "waiting"    # in the department's queue
    active = "active"      # claimed: its owner answers
    callback = "callback"  # left as a message outside hours or with nobody online: call back by callback_due
    closed = "closed"


OPEN = (HandoffStatus.waiting, HandoffStatus.active)


class Author(str, Enum):
    citizen = "citizen"
    staff = "staff"
    bot = "bot"
    note = "note"    # a private note of staff, never shown to the citizen
    event = "event"  # claimed, transferred, closed: the log of the chat, for staff


class HandoffContext(BaseModel):
    """What the citizen was doing when they asked for a person (the context card; stored encrypted)."""

    target: str | None = None
    target_name: str | None = None
    stage: str = "idle"
    step: str | None = None          # the name of the field or material the citizen was at
    fields: dict[str, str] = Field(default_factory=dict)   # as given: masked in views unless revealed
    labels: dict[str, str] = Field(default_factory=dict)   # field key -> its label (姓名, 身份证号 …)
    materials: list[str] = Field(default_factory=list)     # names of the materials provided
    last_turns: list[str] = Field(default_factory=list)    # the bot's last words and the citizen's request


class Handoff(BaseModel):
    id: int = 0
    user: str
    channel: str = "chat"            # chat (H5 / mini-program) or wechat
    department: str
    level: str
    status: HandoffStatus
    owner_id: int | None = None
    first_owner_id: int | None = None
    auto_assigned: bool = False
    transfers: int = 0
    context: HandoffContext
    created_at: datetime
    claimed_at: datetime | None = None
    first_response_at: datetime | None = None
    last_citizen_at: datetime | None = None
    last_staff_at: datetime | None = None
    closed_at: datetime | None = None
    summary: str | None = None
    callback_due: date | None = None
    escalated_at: datetime | None = None
    breaches: list[str] = Field(default_factory=list)   # timers breached so far (first_response, next_response…)
    rating: int | None = None

    @property
    def reference(self) -> str:
        """The number of the human session in 好差评 (ratings are keyed by case number or this)."""
        return f"{HANDOFF_PREFIX}{self.id:06d}"


HANDOFF_PREFIX = "RG"  # 人工


class HandoffMessage(BaseModel):
    id: int = 0
    handoff_id: int
    author: Author
    staff_id: int | None = None
    text: str
    created_at: datetime


class HandoffNotFound(NotFound):
    """No such chat in the staff member's department (existence is not disclosed)."""

    detail = "没有找到这个会话。"


class HandoffConflict(Conflict):
    detail = "这个会话当前的状态不允许这个操作。"


class LockedChat(Protocol):
    """A chat held for one transaction (see HandoffStore.locked)."""

    handoff: Handoff | None  # None: no such chat

    async def add_message(self, message: HandoffMessage, touch: Mapping[str, object] | None = None
                          ) -> HandoffMessage: ...

    async def tell(self, user: str, text: str, dedupe_key: str, now: datetime) -> int | None:
        """A message into the citizen's chat list (GET /api/v1/messages); its id, None if the key is there."""


class HandoffStore(Protocol):
    def locked(self, handoff_id: int) -> AbstractAsyncContextManager[LockedChat]:
        """The chat read and locked for one transaction: what is written through it is committed together when
        the block ends (nothing of it if the block raises), and another message of the chat waits till then."""

    async def add(self, handoff: Handoff, first: list[HandoffMessage]) -> Handoff: ...
    async def get(self, handoff_id: int) -> Handoff | None: ...
    async def open_for(self, user: str) -> Handoff | None:
        """The user's handoff that is waiting or active, if any."""
    async def listing(self, department: str, statuses: list[HandoffStatus], staff_id: int | None,
                      limit: int) -> list[Handoff]:
        """The department's handoffs in these statuses (and, with staff_id, those it first owned), oldest first."""
    async def update(self, handoff: Handoff, expect: HandoffStatus | None = None,
                     expect_owner: int | None = None) -> bool:
        """Write the handoff if its stored status (and owner) are still as expected; False if not."""
    async def add_message(self, message: HandoffMessage, touch: Mapping[str, object] | None = None) -> HandoffMessage:
        """Store the message, and set these columns of its handoff in the same transaction (only these: a claim or
        a message from the other side at the same moment is not overwritten)."""
    async def citizen_message(self, message: HandoffMessage) -> tuple[Handoff, HandoffMessage] | None:
        """Store a citizen's message and note when they last wrote, in one transaction, unless the chat is closed
        or gone (None); the chat as it is now, and the stored message."""
    async def messages(self, handoff_id: int, include_private: bool) -> list[HandoffMessage]: ...
    async def active_count(self, staff_id: int) -> int: ...
    async def last_auto_owner(self, department: str) -> int | None: ...
    async def since(self, department: str, moment: datetime) -> list[Handoff]:
        """The department's handoffs created at or after `moment`, or still open."""
    async def overdue_callbacks(self, today: date) -> list[Handoff]: ...
    async def escalate(self, handoff_id: int, notice: StaffNotice) -> bool:
        """Mark the callback escalated and store the notice in one transaction, once."""
    async def purge(self, closed_before: datetime) -> int:
        """Delete closed handoffs (and their messages) closed before the moment; how many."""
