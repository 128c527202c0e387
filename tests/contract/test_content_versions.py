"""The content version store on SQLite and PostgreSQL: versions are immutable and named by their files, the live
pointer moves by publish and rollback, and two movers from the same generation cannot both win."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.studio.versions import version_id
from storage.content_versions import SqlContentVersions
from tests.clock import Clock
from tests.contract.cases import NOW

A = {"catalog/a.yaml": "items: []\n", "scripts/prompts.yaml": "greeting: 您好\n"}
B = {**A, "catalog/a.yaml": "items: [居住证]\n"}
C = {**A, "dictionaries/synonyms.yaml": "暂住证: 居住证\n"}


async def test_a_version_is_named_by_its_files_and_stored_once(db: AsyncEngine) -> None:
    store = SqlContentVersions(db, Clock(NOW))
    first = await store.add(A, parent=None, source="seed", author="deploy", message="初始")
    again = await store.add(dict(reversed(list(A.items()))), parent="x", source="cli", author="someone", message="再来")
    assert first.id == again.id == version_id(A) and again.author == "deploy" and again.message == "初始"
    assert await store.files(first.id) == A and await store.get("0" * 64) is None
    assert first.published_at is None and await store.live() is None
    assert version_id(B) != first.id


async def test_publish_and_rollback_move_the_live_pointer_like_a_stack(db: AsyncEngine) -> None:
    clock = Clock(NOW)
    store = SqlContentVersions(db, clock)
    a, b, c = [await store.add(f, parent=None, source="cli", author="ops", message=m)
               for f, m in ((A, "a"), (B, "b"), (C, "c"))]
    assert await store.publish(a.id, "ops", expect_generation=None) == 1
    clock.now += timedelta(minutes=1)
    assert await store.publish(b.id, "ops", expect_generation=1) == 2
    assert await store.publish(c.id, "ops", expect_generation=2) == 3
    assert (await store.live()) == (c.id, 3)
    assert await store.rollback("ops") == b.id and (await store.live())[0] == b.id
    assert await store.rollback("ops") == a.id and (await store.live())[0] == a.id
    assert await store.rollback("ops") is None and (await store.live())[0] == a.id  # nothing before the first
    assert await store.publish(c.id, "ops", expect_generation=5) == 6
    assert await store.rollback("ops") == a.id
    published = await store.get(b.id)
    assert published is not None and published.published_at == NOW + timedelta(minutes=1)  # first time it went live
    history = await store.history()
    assert [(p.action, p.version_id) for p in history][:3] == [("rollback", a.id), ("publish", c.id),
                                                               ("rollback", a.id)]
    assert {v.id for v in await store.recent()} == {a.id, b.id, c.id}


async def test_a_publish_from_a_stale_generation_is_refused(db: AsyncEngine) -> None:
    store = SqlContentVersions(db, Clock(NOW))
    a, b, c = [await store.add(f, parent=None, source="cli", author="ops", message="m") for f in (A, B, C)]
    await store.publish(a.id, "ops", expect_generation=None)
    assert await store.publish(a.id, "other", expect_generation=None) is None  # the first publish raced
    results = await asyncio.gather(store.publish(b.id, "one", expect_generation=1),
                                   store.publish(c.id, "two", expect_generation=1))
    assert set(results) == {2, None}
    winner = b.id if results[0] == 2 else c.id
    assert await store.live() == (winner, 2)
    assert [p.version_id for p in await store.history()] == [winner, a.id]
