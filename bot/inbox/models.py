"""What the unmatched inbox keeps: one recorded utterance (Miss) and a group of similar ones."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class MissKind(str, Enum):
    miss = "miss"                            # the matcher found nothing
    abandoned_clarify = "abandoned_clarify"  # asked back which item, the citizen said something else instead
    none_of_these = "none_of_these"          # asked back, the citizen tapped 都不是
    handoff = "handoff"                      # asked for a person (人工) right after a miss
    unanswered_clarify = "unanswered_clarify"  # asked back which item, the citizen never answered (counted once
    #                                            unmatched_clarify_wait_minutes have passed without a pick)


@dataclass(frozen=True)
class Miss:
    """One utterance the bot could not place; `text` is already masked."""

    kind: MissKind
    text: str
    at: datetime
    candidates: tuple[str, ...] = ()  # the item keys offered, for a clarify
    token: str | None = None          # an unanswered clarify: settled (forgotten) when the citizen answers


@dataclass(frozen=True)
class UnmatchedGroup:
    """Similar utterances: how often (by kind), first and last seen, a few examples, and what was proposed."""

    id: int
    text: str  # the first utterance of the group, masked
    count: int
    first_seen: datetime
    last_seen: datetime
    kinds: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    status: str = "open"  # open | proposed
    proposal: dict[str, object] | None = None
