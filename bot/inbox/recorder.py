"""Recording misses without slowing the chat turn: masked at once, kept in a bounded in-memory buffer of this
process, written to the database by a background job (UnmatchedInbox.flush). A crash loses at most one flush
interval of misses; a full buffer drops the oldest and counts them."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from bot.inbox.models import Miss, MissKind
from bot.privacy import mask_text


class MissRecorder(Protocol):
    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = ()) -> None:
        """Keep one utterance the bot could not place (masked here; never blocks)."""


class MissBuffer:
    """The recorder of a serving process."""

    def __init__(self, clock: Callable[[], datetime], capacity: int = 10_000) -> None:
        self._clock = clock
        self._misses: deque[Miss] = deque(maxlen=capacity)
        self.dropped = 0  # oldest misses pushed out by a full buffer

    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = ()) -> None:
        if len(self._misses) == self._misses.maxlen:
            self.dropped += 1
        self._misses.append(Miss(kind, mask_text(text.strip())[:200], self._clock(), tuple(candidates)))

    def drain(self) -> list[Miss]:
        """Everything recorded so far, oldest first; the buffer is empty afterwards."""
        misses = list(self._misses)
        self._misses.clear()
        return misses

    def put_back(self, misses: Sequence[Miss]) -> None:
        """Misses a flush could not store (the database away): kept for the next one; if full, the newest stay."""
        kept = [*misses, *self._misses]
        self.dropped += max(0, len(kept) - (self._misses.maxlen or len(kept)))
        self._misses.clear()
        self._misses.extend(kept)


class DiscardMisses:
    """For engines without an inbox (the CLI chat, most tests)."""

    def record(self, kind: MissKind, text: str, candidates: Sequence[str] = ()) -> None:
        return None
