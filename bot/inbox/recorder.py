"""Recording misses without slowing the chat turn: masked at once, kept in a bounded in-memory buffer of this
process, written to the database by a background job (UnmatchedInbox.flush). A crash loses at most one flush
interval of misses; a full buffer drops the oldest and counts them.

A question asked back (clarify) is recorded when asked, as unanswered, under a token kept in the conversation;
the citizen's answer settles the token, on whichever instance it arrives, and the inbox forgets the record. A
clarify never answered is what remains."""
from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from bot.inbox.models import Miss, MissKind
from bot.privacy import mask_text


class MissRecorder(Protocol):
    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = ()) -> None:
        """Keep one utterance the bot could not place (masked here; never blocks)."""

    def asked(self, text: str, candidates: Sequence[str]) -> str:
        """Keep a question asked back as unanswered; the token that settles it."""

    def settle(self, token: str) -> None:
        """The question asked back under `token` was answered (picked, or left for something else)."""


class MissBuffer:
    """The recorder of a serving process."""

    def __init__(self, clock: Callable[[], datetime], capacity: int = 10_000) -> None:
        self._clock = clock
        self._misses: deque[Miss] = deque(maxlen=capacity)
        self._settled: set[str] = set()
        self._capacity = capacity
        self.dropped = 0  # oldest misses pushed out by a full buffer

    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = (), token: str | None = None) -> None:
        if len(self._misses) == self._misses.maxlen:
            self.dropped += 1
        self._misses.append(Miss(kind, mask_text(text.strip())[:200], self._clock(), tuple(candidates), token))

    def asked(self, text: str, candidates: Sequence[str]) -> str:
        token = secrets.token_hex(8)
        self.record(MissKind.unanswered_clarify, text, candidates, token)
        return token

    def settle(self, token: str) -> None:
        if len(self._settled) < self._capacity:
            self._settled.add(token)

    def drain(self) -> list[Miss]:
        """Everything recorded so far, oldest first, but the questions asked back and already answered; the buffer
        is empty afterwards, but for the settled tokens it did not hold (see `drain_settled`)."""
        misses = [miss for miss in self._misses if not (miss.token and miss.token in self._settled)]
        self._settled -= {miss.token for miss in self._misses if miss.token}
        self._misses.clear()
        return misses

    def drain_settled(self) -> list[str]:
        """Tokens settled here whose question was recorded elsewhere or flushed already; forgotten afterwards."""
        settled = sorted(self._settled)
        self._settled.clear()
        return settled

    def put_back(self, misses: Sequence[Miss], settled: Sequence[str] = ()) -> None:
        """Misses and settled tokens a flush could not store (the database away): kept for the next one; if full,
        the newest misses stay."""
        kept = [*misses, *self._misses]
        self.dropped += max(0, len(kept) - (self._misses.maxlen or len(kept)))
        self._misses.clear()
        self._misses.extend(kept)
        self._settled.update(settled)


class DiscardMisses:
    """For engines without an inbox (the CLI chat, most tests)."""

    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = ()) -> None:
        return None

    def asked(self, text: str, candidates: Sequence[str]) -> str:
        return ""

    def settle(self, token: str) -> None:
        return None
