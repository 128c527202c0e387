"""The embedded session store: per-user ordering, idle expiry, no lock left behind."""
from __future__ import annotations

import asyncio

from bot.dialogue.state import Conversation, Stage
from storage.sessions import MemorySessionStore


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_state_survives_hours_and_expires_after_idle_time() -> None:
    ticker = Ticker()
    store = MemorySessionStore(idle_seconds=7 * 24 * 3600, monotonic=ticker)
    async with store.session("u") as session:
        await session.save(Conversation(stage=Stage.collect, target="GA0020000", answers={"a": "b"}))
    ticker.now += 5 * 3600
    async with store.session("u") as session:
        loaded = await session.load()
    assert loaded is not None and loaded.answers == {"a": "b"} and loaded.stage is Stage.collect
    ticker.now += 8 * 24 * 3600
    async with store.session("u") as session:
        assert await session.load() is None


async def test_saved_state_is_a_copy() -> None:
    store = MemorySessionStore(idle_seconds=60)
    state = Conversation(answers={"k": "v"})
    async with store.session("u") as session:
        await session.save(state)
        state.answers["k"] = "changed"
        assert (await session.load()).answers == {"k": "v"}


async def test_one_users_messages_run_in_order_and_locks_are_released() -> None:
    store = MemorySessionStore(idle_seconds=60)
    order: list[str] = []

    async def turn(user: str, name: str, pause: float) -> None:
        async with store.session(user):
            order.append(f"{name}:start")
            await asyncio.sleep(pause)
            order.append(f"{name}:end")

    await asyncio.gather(turn("u", "first", 0.05), turn("u", "second", 0), turn("other", "x", 0))
    assert order.index("first:end") < order.index("second:start")
    assert order.index("x:start") < order.index("first:end")  # other users are not held up
    assert store.active_locks() == 0
