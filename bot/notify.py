"""Progress messages: the sentences a citizen reads for an outbox event, and the message handlers that deliver them
(the in-chat inbox, a log line). Receivers deduplicate by "<event id>:<handler>[:<n>]", so a redelivery shows once."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from bot.dialogue.prompts import Prompts
from bot.lifecycle import CITIZEN_MOVES, CaseStatus
from bot.outbox.events import MESSAGE, OutboxEvent
from bot.payments.orders import yuan
from bot.ratings import RATEABLE


@dataclass(frozen=True)
class InboxMessage:
    """One message of the in-chat list, as the citizen's client reads it."""

    id: int
    text: str
    case_number: str | None
    created_at: datetime
    unread: bool


class Inbox(Protocol):
    async def put(self, user: str, case_number: str | None, text: str, dedupe_key: str, now: datetime) -> int | None:
        """Store the message once per dedupe key: its id, or None when the key was stored already."""

    async def take_unread(self, user: str, now: datetime) -> list[str]:
        """Unread texts, oldest first, marked read (the chat's opening shows each once)."""

    async def recent(self, user: str, *, unread_only: bool, limit: int) -> list[InboxMessage]:
        """The latest `limit` messages (or unread ones), oldest first; reading marks nothing."""

    async def acknowledge(self, user: str, ids: list[int] | None, up_to: int | None, now: datetime) -> int:
        """Mark the user's messages read (these ids, or every one up to an id); how many were unread."""


class InChatChannel:
    """The message list the citizen sees when opening the chat (and through GET /api/v1/messages). The citizen's
    own moves (a corrected case sent again, a withdrawal) are not news to them: answered when made, not listed."""

    name, retry = "inchat", MESSAGE

    def __init__(self, inbox: Inbox, prompts: Callable[[], Prompts], clock: Callable[[], datetime]) -> None:
        self._inbox, self._prompts, self._clock = inbox, prompts, clock

    async def handle(self, event: OutboxEvent) -> None:
        if own_move(event):
            return
        prompts, user = self._prompts(), str(event.payload.get("user", ""))
        texts = [progress_text(event, prompts), *follow_ups(event, prompts)]
        for n, text in enumerate(texts):
            key = f"{event.id}:{self.name}" + (f":{n}" if n else "")
            await self._inbox.put(user, event.case_number, text, key, self._clock())


class LogChannel:
    """Development channel: one log line per event, case number and status only (no personal data)."""

    name, retry = "log", MESSAGE

    def __init__(self, log: logging.Logger) -> None:
        self._log = log

    async def handle(self, event: OutboxEvent) -> None:
        self._log.info("progress %s %s %s", event.case_number, event.type, event.payload.get("to", ""))


# Moves of staff whose note the citizen needs as the reason (a refusal, a return for correction); on the other
# moves the note is for the file, not a 原因.
REASONED = frozenset({"refused", "returned"})
_CLOSING = "。.！!？?；;，,、 "


def own_move(event: OutboxEvent) -> bool:
    """Whether the event is a status change only the citizen makes."""
    if event.type != "case.status_changed":
        return False
    try:
        move = (CaseStatus(str(event.payload.get("from"))), CaseStatus(str(event.payload.get("to"))))
    except ValueError:
        return False
    return move in CITIZEN_MOVES


def clause(text: str) -> str:
    """`text` without its closing punctuation, for a template that adds its own (no "。。")."""
    return text.strip().rstrip(_CLOSING)


def follow_ups(event: OutboxEvent, prompts: Prompts) -> list[str]:
    """Messages of their own after the progress sentence: the invitation to rate a finished case."""
    if event.type == "case.status_changed" and event.payload.get("to") in RATEABLE:
        return [prompts.rate_invite.format(number=event.case_number)]
    return []


def progress_text(event: OutboxEvent, prompts: Prompts) -> str:
    """The citizen-facing sentence for an event."""
    if event.type == "case.submitted":
        return prompts.progress_submitted.format(number=event.case_number)
    if event.type == "case.delivered":
        template = {"window": prompts.delivered_window, "mail": prompts.delivered_mail,
                    "elicence": prompts.delivered_elicence}[str(event.payload.get("delivery"))]
        return template.format(number=event.case_number, tracking=event.payload.get("tracking") or "")
    if event.type in ("payment.paid", "payment.refunded"):
        template = prompts.progress_paid if event.type == "payment.paid" else prompts.progress_refunded
        return template.format(number=event.case_number, amount=yuan(int(str(event.payload.get("amount_fen", 0)))))
    if event.type == "case.pledge_verified":
        template = prompts.pledge_false if event.payload.get("outcome") == "false" else prompts.pledge_confirmed
        return template.format(number=event.case_number, material=event.payload.get("material", ""))
    if event.type == "rectification.closed":
        return prompts.progress_rectified.format(number=event.case_number, result=clause(str(event.payload.get("result", ""))))
    status = str(event.payload.get("to", ""))
    if status == "accepted" and event.payload.get("fee_fen"):
        return prompts.progress_fee_due.format(number=event.case_number,
                                               amount=yuan(int(str(event.payload["fee_fen"]))))
    label = prompts.status_labels.get(status, status)
    reason = clause(str(event.payload.get("reason") or ""))
    text = prompts.progress_status.format(number=event.case_number, status=label)
    return text + (prompts.progress_reason.format(reason=reason) if reason and status in REASONED else "")
