"""The human service's housekeeping: 督办 of callbacks not made by their due day, and the purge of transcripts
past their retention."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from bot.content import Content
from bot.handoff.models import HandoffStore
from bot.lifecycle import Role
from bot.staff import StaffNotice
from bot.workdays import china_date


class Upkeep:
    def __init__(self, store: HandoffStore, content: Callable[[], Content], clock: Callable[[], datetime],
                 retention_days: int) -> None:
        self._store, self._content, self._clock, self._retention_days = store, content, clock, retention_days
        self._log = logging.getLogger("zhengwu.handoff")

    async def escalate_callbacks(self) -> int:
        """Every callback not made by its due day becomes a notice to the department's supervisors, once (however
        many instances sweep at the same time)."""
        now, escalated = self._clock(), 0
        for handoff in await self._store.overdue_callbacks(china_date(now)):
            notice = StaffNotice(department=handoff.department, role=Role.supervisor, kind="escalation.handoff",
                                 text=self._content().prompts.escalated_handoff.format(
                                     reference=handoff.reference, due=handoff.callback_due),
                                 created_at=now)
            escalated += await self._store.escalate(handoff.id, notice)
        return escalated

    async def purge(self) -> int:
        """Delete the transcripts of chats closed more than the retention period ago, with a log line."""
        purged = await self._store.purge(self._clock() - timedelta(days=self._retention_days))
        if purged:
            self._log.info("purged %d closed chats older than %d days", purged, self._retention_days)
        return purged
