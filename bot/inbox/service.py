"""The unmatched inbox: misses buffered by the chat are grouped and stored, listed for the studio, turned into
drafts (checked and tested like any draft; audited) and forgotten after the retention period."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.errors import Forbidden, NotFound
from bot.inbox.grouping import Grouper, Words, normalise
from bot.inbox.models import Miss, UnmatchedGroup
from bot.inbox.proposals import Action, apply, draft_change
from bot.inbox.recorder import MissBuffer
from bot.ports import AuditLog
from bot.refusals import audit_refusals
from bot.staff import Staff
from bot.studio.service import STUDIO_ROLES, Studio


class UnmatchedStore(Protocol):
    async def keys(self, since: datetime) -> list[tuple[int, str]]: ...
    async def add(self, batches: Sequence[tuple[int | None, str, Sequence[Miss]]]) -> list[int]: ...
    async def settle(self, tokens: Sequence[str], at: datetime) -> int: ...
    async def groups(self, since: datetime, limit: int, unanswered_before: datetime,
                     examples: int = 3) -> list[UnmatchedGroup]: ...
    async def group(self, group_id: int, unanswered_before: datetime) -> UnmatchedGroup | None: ...
    async def propose(self, group_id: int, proposal: dict[str, object]) -> None: ...
    async def purge(self, cutoff: datetime) -> int: ...


class UnmatchedInbox:
    def __init__(self, store: UnmatchedStore, buffer: MissBuffer, audit: AuditLog, studio: Studio,
                 intents_dir: Path, clock: Callable[[], datetime], retention_days: int,
                 clarify_wait: timedelta = timedelta(minutes=30)) -> None:
        self._store, self._buffer, self._audit, self._studio = store, buffer, audit, studio
        self._dir, self._clock, self._days = intents_dir, clock, retention_days
        self._clarify_wait = clarify_wait  # a question asked back and not answered this long counts
        self._words = Words.load(intents_dir / "dictionaries" / "synonyms.yaml")

    def _cutoff(self, days: int | None = None) -> datetime:
        return self._clock() - timedelta(days=min(days or self._days, self._days))

    async def flush(self) -> int:
        """Store what this process buffered, each miss in the first similar group (or a new one), after settling
        the questions asked back that were answered; how many misses. What could not be stored (the database away)
        goes back to the buffer for the next flush."""
        misses, settled = self._buffer.drain(), self._buffer.drain_settled()
        if not misses and not settled:
            return 0
        try:
            if settled:
                await self._store.settle(settled, self._clock())
            grouper = Grouper(await self._store.keys(self._cutoff()))
        except Exception:  # the database away: the next flush tries again
            self._buffer.put_back(misses, settled)
            raise
        if not misses:
            return 0
        batches: dict[int, list[Miss]] = defaultdict(list)
        keys: dict[int, str] = {}
        for miss in misses:
            key = normalise(miss.text, self._words)
            group = grouper.assign(key)
            batches[group].append(miss)
            keys.setdefault(group, key)
        try:
            await self._store.add([(group if group > 0 else None, keys[group], batch)
                                   for group, batch in batches.items()])
        except Exception:
            self._buffer.put_back(misses)
            raise
        return len(misses)

    async def groups(self, staff: Staff, days: int | None = None, limit: int = 50) -> list[UnmatchedGroup]:
        """Groups seen in the last `days` (at most the retention period), most frequent first; audited."""
        async with audit_refusals(self._audit, staff, "unmatched_list", None):
            self._editor(staff)
        await self.flush()  # what this instance heard a moment ago is shown too
        groups = await self._store.groups(self._cutoff(days), limit, self._clock() - self._clarify_wait)
        await self._audit.record(staff, "unmatched_list", None, {"days": days, "count": len(groups)})
        return groups

    async def propose(self, staff: Staff, group_id: int, action: Action, item_key: str | None,
                      base: str | None = None) -> dict[str, object]:
        """A draft made from `base` (the live version by default, or an earlier draft to add to) with the group's
        first utterance as an alias or situation of an item, or as out of scope, plus its golden utterance; the
        checks and golden tests run on it. The proposal is kept with the group; audited."""
        async with audit_refusals(self._audit, staff, "unmatched_propose", None, group_id=group_id):
            self._editor(staff)
            group = await self._store.group(group_id, self._clock() - self._clarify_wait)
            if group is None:
                raise NotFound(f"no unmatched group {group_id}")
            base_id, files = await self._studio.base(base)
        changes = draft_change(files, action, group.text, item_key)
        draft = await self._studio.draft(staff, base_id, apply(files, changes),
                                         f"未匹配收件箱 #{group_id}：{group.text}（{action.value}）")
        proposal: dict[str, object] = {"group_id": group_id, "action": action.value, "item_key": item_key,
                                       "text": group.text, "changes": changes, "base": base_id,
                                       "draft": draft.version.id, "checks": draft.report.to_json(),
                                       "proposed_by": staff.id, "proposed_at": self._clock().isoformat()}
        await self._store.propose(group_id, proposal)
        await self._audit.record(staff, "unmatched_propose", None, {"group_id": group_id, "action": action.value,
                                                                    "item_key": item_key, "draft": draft.version.id})
        return proposal

    async def purge(self) -> int:
        """Forget utterances older than the retention period; how many."""
        return await self._store.purge(self._cutoff())

    @staticmethod
    def _editor(staff: Staff) -> None:
        if staff.role not in STUDIO_ROLES:
            raise Forbidden("the unmatched inbox is for editors")
