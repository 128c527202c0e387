"""The unmatched inbox in SQL: groups and every recorded utterance (already masked). Counts, first and last seen
are computed from the utterances kept, so a purge leaves them right. A question asked back is stored as unanswered
with a token; a settled token deletes it, whichever of the two is written first, and an unanswered one is counted
only once it is older than the wait the caller gives."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.inbox.models import Miss, MissKind, UnmatchedGroup
from storage import tables

g, e = tables.unmatched_groups.c, tables.unmatched_examples.c
settled_tokens = tables.unmatched_settled.c


def _counted(unanswered_before: datetime) -> sa.ColumnElement[bool]:
    """Utterances shown: all but the questions asked back that may still be answered."""
    return sa.or_(e.kind != MissKind.unanswered_clarify.value, e.seen_at < unanswered_before)


class SqlUnmatched:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def keys(self, since: datetime) -> list[tuple[int, str]]:
        """(id, normalised key) of every group with an utterance since `since`."""
        recent = sa.select(e.group_id).where(e.seen_at >= since).distinct().scalar_subquery()
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(g.id, g.key).where(g.id.in_(recent)).order_by(g.id))
        return [(row.id, row.key) for row in rows]

    async def add(self, batches: Sequence[tuple[int | None, str, Sequence[Miss]]]) -> list[int]:
        """Store each batch of misses in its group, or in a new group keyed as given (group None, or a group purged
        meanwhile), in one transaction; the ids of the groups that got an utterance. A question asked back whose
        token was settled already is not stored."""
        ids: list[int] = []
        async with self._engine.begin() as conn:
            known = set((await conn.execute(sa.select(g.id).where(
                g.id.in_([group for group, _, _ in batches if group is not None])))).scalars())
            tokens = [m.token for _, _, misses in batches for m in misses if m.token]
            answered = set((await conn.execute(sa.select(settled_tokens.token).where(
                settled_tokens.token.in_(tokens)))).scalars()) if tokens else set()
            rows = []
            for wanted, key, all_misses in batches:
                misses = [m for m in all_misses if not (m.token and m.token in answered)]
                if not misses:
                    continue
                group_id: int = wanted if wanted is not None and wanted in known else (await conn.execute(
                    tables.unmatched_groups.insert().values(key=key[:200], text=misses[0].text, status="open",
                                                            created_at=misses[0].at).returning(g.id))).scalar_one()
                ids.append(group_id)
                rows += [{"group_id": group_id, "kind": m.kind.value, "text": m.text, "candidates": list(m.candidates),
                          "seen_at": m.at, "token": m.token} for m in misses]
            if rows:
                await conn.execute(tables.unmatched_examples.insert(), rows)
        return ids

    async def settle(self, tokens: Sequence[str], at: datetime) -> int:
        """Questions asked back that were answered: their unanswered records are deleted now, and the tokens kept
        so that a record written later (by a slower instance) is not stored; how many records were deleted."""
        async with self._engine.begin() as conn:
            known = set((await conn.execute(sa.select(settled_tokens.token).where(
                settled_tokens.token.in_(tokens)))).scalars())
            if new := [{"token": token, "settled_at": at} for token in dict.fromkeys(tokens) if token not in known]:
                await conn.execute(tables.unmatched_settled.insert(), new)
            deleted = (await conn.execute(tables.unmatched_examples.delete().where(e.token.in_(tokens)))).rowcount
        return int(deleted or 0)

    async def groups(self, since: datetime, limit: int, unanswered_before: datetime,
                     examples: int = 3) -> list[UnmatchedGroup]:
        """Groups with utterances since `since`, most frequent first, each with its newest distinct examples;
        questions asked back count once asked before `unanswered_before`."""
        count = sa.func.count(e.id).label("n")
        counted = _counted(unanswered_before)
        stats = (sa.select(e.group_id, count, sa.func.min(e.seen_at).label("first"),
                           sa.func.max(e.seen_at).label("last"))
                 .where(e.seen_at >= since, counted).group_by(e.group_id)
                 .order_by(count.desc(), sa.func.max(e.seen_at).desc()).limit(limit))
        async with self._engine.connect() as conn:
            top = (await conn.execute(stats)).all()
            ids = [row.group_id for row in top]
            heads = {row.id: row for row in await conn.execute(tables.unmatched_groups.select().where(g.id.in_(ids)))}
            kinds: dict[int, dict[str, int]] = {i: {} for i in ids}
            for row in await conn.execute(sa.select(e.group_id, e.kind, sa.func.count(e.id).label("n"))
                                          .where(e.group_id.in_(ids), e.seen_at >= since, counted)
                                          .group_by(e.group_id, e.kind)):
                kinds[row.group_id][row.kind] = row.n
            texts: dict[int, list[str]] = {i: [] for i in ids}
            for row in await conn.execute(sa.select(e.group_id, e.text).where(e.group_id.in_(ids), counted)
                                          .order_by(e.seen_at.desc(), e.id.desc())):
                if row.text not in texts[row.group_id] and len(texts[row.group_id]) < examples:
                    texts[row.group_id].append(row.text)
        return [UnmatchedGroup(id=row.group_id, text=heads[row.group_id].text, count=row.n,
                               first_seen=row.first, last_seen=row.last, kinds=kinds[row.group_id],
                               examples=texts[row.group_id], status=heads[row.group_id].status,
                               proposal=heads[row.group_id].proposal)
                for row in top]

    async def group(self, group_id: int, unanswered_before: datetime) -> UnmatchedGroup | None:
        """One group with all its utterances counted (whatever their age; questions asked back once asked before
        `unanswered_before`), or None."""
        counted = _counted(unanswered_before)
        async with self._engine.connect() as conn:
            head = (await conn.execute(tables.unmatched_groups.select().where(g.id == group_id))).first()
            if head is None:
                return None
            stats = (await conn.execute(sa.select(sa.func.count(e.id), sa.func.min(e.seen_at), sa.func.max(e.seen_at))
                                        .where(e.group_id == group_id, counted))).one()
            texts = list((await conn.execute(sa.select(e.text).where(e.group_id == group_id, counted).distinct()
                                             .limit(3))).scalars())
        first = stats[1] or head.created_at
        return UnmatchedGroup(id=head.id, text=head.text, count=stats[0], first_seen=first,
                              last_seen=stats[2] or first, examples=texts, status=head.status,
                              proposal=head.proposal)

    async def propose(self, group_id: int, proposal: dict[str, object]) -> None:
        """Keep the draft change proposed for a group (a later proposal replaces it)."""
        async with self._engine.begin() as conn:
            await conn.execute(tables.unmatched_groups.update().where(g.id == group_id)
                               .values(status="proposed", proposal=proposal))

    async def purge(self, cutoff: datetime) -> int:
        """Forget utterances seen before `cutoff`, and groups left without any; how many utterances."""
        async with self._engine.begin() as conn:
            purged = (await conn.execute(tables.unmatched_examples.delete().where(e.seen_at < cutoff))).rowcount
            await conn.execute(tables.unmatched_settled.delete().where(settled_tokens.settled_at < cutoff))
            kept = sa.select(e.group_id).distinct().scalar_subquery()
            await conn.execute(tables.unmatched_groups.delete().where(g.id.not_in(kept)))
        return int(purged or 0)
