"""The read APIs: progress messages are read without being marked read, acknowledged explicitly, and shown once
when the chat opens; cases and messages are read within a per-user limit (429 with Retry-After)."""
from __future__ import annotations

import pytest

from app import build_app
from bot.config import RateLimitSettings
from tests.e2e.casework import deliver, move, submitted_renewal


async def listed(client, user: str, **query: str) -> list[dict]:
    response = await client.get("/api/v1/messages", params={"user": user, **query})
    assert response.status == 200
    return (await response.json())["messages"]


async def progressed(client, chat_factory, tokens, user: str) -> str:
    """A case of the user pre-reviewed and accepted: two progress messages waiting."""
    number = await submitted_renewal(chat_factory(user))
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    await deliver(client)
    return number


async def test_reading_marks_nothing_the_chat_opening_shows_them_once(client, chat_factory, tokens) -> None:
    number = await progressed(client, chat_factory, tokens, "m1")
    first = await listed(client, "m1")
    assert [m["unread"] for m in first] == [True, True] and all(m["case_number"] == number for m in first)
    assert await listed(client, "m1") == first == await listed(client, "m1", unread="true")
    citizen = chat_factory("m1")
    await citizen.say("/hello")
    assert "预审通过" in citizen.text() and "待缴费" in citizen.text()  # the fee due as its 去缴费 choice
    await citizen.say("/hello")
    assert "预审通过" not in citizen.text()
    assert [m["unread"] for m in await listed(client, "m1")] == [False, False]
    assert await listed(client, "m1", unread="true") == []


async def test_acknowledged_messages_are_not_shown_again(client, chat_factory, tokens) -> None:
    await progressed(client, chat_factory, tokens, "m2")
    accepted_id = (await listed(client, "m2"))[-1]["id"]
    refused = await client.post("/api/v1/messages/ack", json={"user": "m3", "up_to": accepted_id})
    assert refused.status == 200 and await refused.json() == {"acknowledged": 0}  # not m3's messages
    pre_review_id = (await listed(client, "m2"))[0]["id"]
    ack = await client.post("/api/v1/messages/ack", json={"user": "m2", "ids": [pre_review_id]})
    assert await ack.json() == {"acknowledged": 1}
    assert [m["id"] for m in await listed(client, "m2", unread="true")] == [accepted_id]
    ack = await client.post("/api/v1/messages/ack", json={"user": "m2", "up_to": accepted_id})
    assert await ack.json() == {"acknowledged": 1}
    citizen = chat_factory("m2")
    await citizen.say("/hello")
    assert "已受理" not in citizen.text()


@pytest.mark.parametrize("body", [{"user": "m4"}, {"user": "m4", "ids": [1], "up_to": 1},
                                  {"user": "m4", "up_to": 2**63}, {"user": "m4", "ids": [0]}],
                         ids=["neither", "both", "beyond-64-bits", "zero"])
async def test_an_acknowledgement_names_ids_or_up_to(client, body: dict) -> None:
    response = await client.post("/api/v1/messages/ack", json=body)
    assert response.status == 422 and (await response.json())["detail"]


async def test_reads_are_limited_per_user(aiohttp_client, settings, content, clock) -> None:
    limited = settings.model_copy(update={"rate_limit": RateLimitSettings(messages=3, per_seconds=3600)})
    client = await aiohttp_client(build_app(limited, content, clock))
    paths = ["/api/v1/cases", "/api/v1/messages", "/api/v1/cases/DLH20261127000001"]
    assert [(await client.get(p, params={"user": "r1"})).status for p in paths] == [200, 200, 404]
    refused = await client.get("/api/v1/cases", params={"user": "r1"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "频繁" in (await refused.json())["detail"]
    assert (await client.get("/api/v1/cases/DLH20261127000001", params={"user": "r1"})).status == 429
    assert (await client.get("/api/v1/cases", params={"user": "r2"})).status == 200
