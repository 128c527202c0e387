"""Ports: what the domain needs from storage and providers. Implementations live in storage/."""
from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from bot.catalog.models import Level
from bot.dialogue.state import Conversation, MaterialEntry
from bot.lifecycle import Role


class SessionUnavailable(Exception):
    """The session store cannot be reached, or the user's lock was not free in time or was lost."""


class TooManyMessages(Exception):
    """The user sent more messages than the rate limit allows in the current window; nothing was changed."""


class BlobStoreUnavailable(Exception):
    """The blob store could not be reached or refused the request (e.g. S3 5xx, network, wrong credentials)."""


class ConversationSession(Protocol):
    """One user's state while their lock is held."""

    async def load(self) -> Conversation | None: ...
    async def save(self, state: Conversation) -> None:
        """Store the state; raises SessionUnavailable if the lock was lost meanwhile (fencing)."""


class SessionStore(Protocol):
    """Conversation state per user, opened under a per-user lock so one user's messages run one at a time.
    Opening a session counts a message against the user's rate limit: over it, TooManyMessages is raised
    before any lock is taken (a message waiting behind another of the same user is counted before it waits)."""

    def session(self, user: str) -> AbstractAsyncContextManager[ConversationSession]: ...
    async def close(self) -> None: ...


class Dedupe(Protocol):
    async def first(self, key: str) -> bool:
        """True the first time `key` is seen (within the store's memory), False for every repeat."""


class Profile(BaseModel):
    """What a user gave in earlier applications, offered again (with consent) instead of re-asking."""

    fields: dict[str, str] = {}
    materials: dict[str, MaterialEntry] = {}


class PledgeVerification(BaseModel):
    """Staff verification (核查) of a 告知承诺 the citizen gave instead of a material."""

    outcome: Literal["confirmed", "false"]
    note: str = Field(default="", max_length=500)
    by: str  # "staff:<id>"
    at: datetime


class CaseMaterial(BaseModel):
    key: str
    name: str
    entry: MaterialEntry | None = None  # None: an optional material not provided
    verification: PledgeVerification | None = None  # a pledge's latest verification


class NewCase(BaseModel):
    """A submitted application, before it has a number."""

    user: str
    target: str
    target_name: str
    item_codes: list[str]
    fields: dict[str, str]
    materials: list[CaseMaterial]
    submitted_at: datetime
    promised_date: date
    provisional_date: bool
    idempotency_key: str


class Case(NewCase):
    """办件: one application and its lifecycle."""

    number: str
    status: str


class CaseEvent(BaseModel):
    """One recorded status change: who, when, why."""

    at: datetime
    actor: str
    from_status: str
    to_status: str
    reason: str | None = None
    detail: dict[str, object] = {}


class StaleCase(Exception):
    """The case changed status since it was read; nothing was written."""


class CaseRepository(Protocol):
    async def submit(self, case: NewCase, number_prefix: str) -> Case:
        """Store the case and its outbox event atomically; the same idempotency key returns the first case."""
    async def get(self, number: str) -> Case | None: ...
    async def list_for_user(self, user: str) -> list[Case]: ...
    async def list_for_targets(self, targets: list[str], statuses: list[str]) -> list[Case]: ...
    async def events(self, number: str) -> list[CaseEvent]: ...
    async def annotate(self, number: str, status: str, event: CaseEvent, outbox_type: str,
                       payload: dict[str, object], materials: list[CaseMaterial] | None = None) -> bool:
        """Record an event that keeps the status (e.g. result delivery) and its outbox message, replacing the
        given materials (by key, e.g. a pledge's verification), atomically; False unless the case is in `status`."""
    async def receive_material(self, number: str, key: str) -> bool:
        """Mark a 容缺 (deferred) material of the case as handed in; False if it was not deferred."""
    async def transition(self, number: str, expected: str, event: CaseEvent,
                         materials: dict[str, MaterialEntry] | None = None) -> Case:
        """Move the case from `expected` to event.to_status (replacing the given materials, for a correction),
        recording the event and an outbox message in one transaction; StaleCase if the status moved on."""


class ProfileStore(Protocol):
    async def load(self, user: str) -> Profile: ...
    async def save(self, user: str, profile: Profile) -> None: ...


class Staff(BaseModel):
    id: int
    name: str
    role: Role
    department: str
    level: Level


class StaffDirectory(Protocol):
    async def by_token(self, token: str) -> Staff | None: ...
    async def add(self, name: str, role: Role, department: str, level: Level) -> tuple[Staff, str]:
        """Create an account; returns it with its bearer token (shown once, stored hashed)."""


class StaffNotice(BaseModel):
    """A message for the staff of one role in one department, e.g. an overdue ticket escalated to supervisors."""

    id: int = 0
    department: str
    role: Role
    kind: str  # e.g. "escalation.callback"
    text: str
    case_number: str | None = None
    ticket_id: int | None = None
    created_at: datetime


class StaffNotices(Protocol):
    async def for_staff(self, staff: Staff, after: int) -> list[StaffNotice]:
        """Notices addressed to the staff member's department and role with an id above `after`, newest first
        (at most 200)."""


class AuditLog(Protocol):
    async def record(self, staff: Staff, action: str, case_number: str | None, detail: dict[str, object]) -> None:
        """Every staff read or change of a case is written here."""


class StoredBlob(BaseModel):
    blob_id: str
    mime: str
    size: int


class BlobStore(Protocol):
    """Uploaded materials, content-addressed; raises BlobStoreUnavailable when the store cannot be used."""

    async def put(self, data: bytes, mime: str) -> StoredBlob: ...
    async def get(self, blob_id: str) -> bytes | None: ...
    async def purge_unclaimed(self, older_than: datetime) -> int:
        """Delete uploads no case or profile refers to, created before `older_than`; returns how many."""
    async def close(self) -> None: ...


class LicenceProvider(Protocol):
    """电子证照: which licences of this citizen the office can fetch itself."""

    async def available(self, user: str, id_number: str | None) -> set[str]: ...
