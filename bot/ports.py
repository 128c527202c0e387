"""Ports: what the domain needs from storage and providers (Protocols and the errors they raise). Implementations
live in storage/ and providers/."""
from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from bot.cases import Case, CaseEvent, CaseMaterial, NewCase
from bot.catalog.models import Level
from bot.dialogue.state import Conversation, MaterialEntry
from bot.lifecycle import Role
from bot.profiles import Profile
from bot.staff import Staff, StaffNotice


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


class TurnObserver(Protocol):
    """What the dialogue reports about its turns (metrics); implementations must not block."""

    def matched(self, decision: str) -> None:
        """The matcher decided on a citizen's free text: match, clarify or none."""
    def turn_took(self, seconds: float) -> None:
        """One message was handled (or refused) in this many seconds."""


class NoObserver:
    """A TurnObserver that records nothing (tools and tests without metrics)."""

    def matched(self, decision: str) -> None:
        return None

    def turn_took(self, seconds: float) -> None:
        return None


class Wakeups(Protocol):
    """storage/wakeups.py: `notify()` wakes every instance's `wait`."""

    def notify(self) -> None: ...

    async def wait(self, timeout: float) -> bool:
        """True when woken before the timeout."""


class Dedupe(Protocol):
    async def first(self, key: str) -> bool:
        """True the first time `key` is seen (within the store's memory), False for every repeat."""


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


class StaffDirectory(Protocol):
    async def by_token(self, token: str) -> Staff | None: ...
    async def add(self, name: str, role: Role, department: str, level: Level) -> tuple[Staff, str]:
        """Create an account; returns it with its bearer token (shown once, stored hashed)."""


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
    """Uploaded materials, encrypted at rest and addressed by owner and content (one owner's same file is stored
    once; another owner's same file has another address); raises BlobStoreUnavailable when the store cannot be
    used."""

    async def put(self, data: bytes, mime: str, owner: str) -> StoredBlob: ...
    async def get(self, blob_id: str) -> bytes | None: ...
    async def reseal(self) -> dict[str, int]:
        """Re-wrap data keys with the current field key and seal blobs stored in clear; counts of each."""
    async def purge_unclaimed(self, older_than: datetime) -> int:
        """Delete uploads no case or profile refers to, created before `older_than`; returns how many."""
    async def close(self) -> None: ...


class LicenceProvider(Protocol):
    """电子证照: which licences of this citizen the office can fetch itself."""

    async def available(self, user: str, id_number: str | None) -> set[str]: ...
