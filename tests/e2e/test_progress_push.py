"""Progress reaches the citizen as soon as the change is committed, not at the dispatcher's next poll."""
from __future__ import annotations

import pytest

from app import build_app
from tests.e2e.casework import move, new_messages, submitted_renewal
from tests.waiting import eventually


@pytest.fixture
async def client(aiohttp_client, settings, content, clock):
    """The app with a dispatcher that polls only once a minute."""
    return await aiohttp_client(build_app(settings.model_copy(update={"dispatch_interval_seconds": 60}),
                                          content, clock))


async def next_messages(client, user: str, within: float) -> list[str]:
    """The user's next unread messages; AssertionError unless they arrive within `within` seconds (far less than
    the poll), read as a client polls: within the read limit, acknowledging what it shows."""
    async def unread() -> list[str]:
        return await new_messages(client, user)

    return await eventually(unread, timeout=within, interval=0.4, what=f"a message to {user}")


async def test_a_committed_change_wakes_the_dispatcher(client, chat_factory, tokens) -> None:
    citizen = chat_factory("push1")
    number = await submitted_renewal(citizen)
    # The first message may come with the dispatcher's first poll; once it is read, the dispatcher has polled and
    # the next poll is a minute away, so the second message can only come from the wake-up of its commit.
    await move(client, tokens["clerk"], number, to="pre_reviewed")
    assert await next_messages(client, "push1", within=5) == [f"办件 {number} 进度：预审通过，等待受理。"]
    await move(client, tokens["clerk"], number, to="accepted")
    assert await next_messages(client, "push1", within=5) == [f"办件 {number} 已受理，需缴费 20.00 元。回复「缴费」即可在线支付。"]
