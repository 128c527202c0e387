"""What supervisors see of their department's human service: the live board (waiting, longest wait, in progress,
staff online, breaches today) and statistics (first response p50/p90 in working seconds, resolution rate,
satisfaction of human sessions)."""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import quantiles
from typing import Callable

from bot.handoff.live import Presence
from bot.handoff.models import Handoff, HandoffStatus, HandoffStore
from bot.handoff.sla import Sla
from bot.workdays import CHINA

STATS_DAYS = 30


class Board:
    def __init__(self, store: HandoffStore, sla: Sla, presence: Presence, clock: Callable[[], datetime]) -> None:
        self._store, self._sla, self._presence, self._clock = store, sla, presence, clock

    async def live(self, department: str) -> dict[str, object]:
        now = self._clock()
        midnight = now.astimezone(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
        today = await self._store.since(department, midnight)
        waiting = [h for h in today if h.status is HandoffStatus.waiting]
        return {"department": department,
                "waiting": len(waiting),
                "longest_wait_seconds": max((int((now - h.created_at).total_seconds()) for h in waiting), default=0),
                "in_progress": sum(h.status is HandoffStatus.active for h in today),
                "callbacks": sum(h.status is HandoffStatus.callback for h in today),
                "online": len(await self._presence.online(department)),
                "breaches_today": sum(bool(self._sla.breached_now(h, now)) for h in today
                                      if h.created_at >= midnight)}

    async def statistics(self, department: str) -> dict[str, object]:
        now = self._clock()
        chats = [h for h in await self._store.since(department, now - timedelta(days=STATS_DAYS))
                 if h.status is not HandoffStatus.callback]
        first = sorted(self._sla.waited(h.created_at, h.first_response_at) for h in chats if h.first_response_at)
        rated = [h.rating for h in chats if h.rating]
        closed = [h for h in chats if h.status is HandoffStatus.closed]
        return {"department": department, "days": STATS_DAYS, "chats": len(chats),
                "first_response_p50": _percentile(first, 50), "first_response_p90": _percentile(first, 90),
                "resolution_rate": round(sum(_resolved(h) for h in closed) / len(chats), 4) if chats else None,
                "ratings": len(rated),
                "satisfaction_rate": round(sum(r >= 3 for r in rated) / len(rated), 4) if rated else None}


def _resolved(handoff: Handoff) -> bool:
    """Closed by staff with a summary (not left by the citizen while waiting)."""
    return handoff.owner_id is not None and handoff.first_response_at is not None


def _percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(quantiles(values, n=100, method="inclusive")[pct - 1], 1)
