"""Settings of the human service, as the desk uses them (bot/config.py HandoffConfig is the file's shape)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from bot.handoff.routing import Desk
from bot.handoff.sla import SlaTargets


@dataclass(frozen=True)
class DeskSettings:
    general: Desk
    opens: time = time(9, 0)
    closes: time = time(17, 30)
    every_day: bool = False  # open on weekends and holidays too
    per_person_limit: int = 5
    max_transfers: int = 2
    auto_assign: bool = False
    seconds_per_chat: int = 120          # expected wait per chat ahead in the queue
    presence_seconds: float = 30.0       # a console's heartbeat keeps its staff member online this long
    retention_days: int = 180
    targets: SlaTargets = SlaTargets()
    snippets: tuple[str, ...] = field(default_factory=tuple)
