"""Subscribe messages end to end: consents from the mini-program, outbox events sent through the WeChat simulator
exactly once against the quota, with in-chat as the fallback and retries only for network failures."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from sim.wechat import WeChatSimulator
from tests.e2e.casework import completed_case, deliver, move, submitted_renewal
from tests.e2e.miniprogram.session import SUBSCRIBE_SEND, SessionChat, bearer, login

OPENID = "oCitizen1"


async def consent(client, token: str, **results: str) -> dict[str, int]:
    """Post a wx.requestSubscribeMessage result; returns the consents left per configured template."""
    response = await client.post("/api/v1/wechat/subscriptions", json={"results": results}, headers=bearer(token))
    assert response.status == 200, await response.text()
    return (await response.json())["remaining"]


async def outbox_attempts(settings) -> list[tuple[str, int, bool]]:
    """Per event: its type, the failed attempts of its handlers, and whether every handler is settled."""
    db = create_async_engine(settings.database_url)
    async with db.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT o.event_type, COALESCE(SUM(d.attempts), 0), o.dispatched_at IS NOT NULL FROM outbox o"
            " LEFT JOIN event_deliveries d ON d.event_id = o.id GROUP BY o.id, o.event_type, o.dispatched_at"
            " ORDER BY o.id"))).all()
    await db.dispose()
    return [tuple(r) for r in rows]


async def logged_in_citizen(client, sim: WeChatSimulator) -> tuple[SessionChat, str]:
    token = await login(client, sim, OPENID)
    return SessionChat(client, OPENID, token), token


async def test_consents_are_counted_per_template(client, sim) -> None:
    _, token = await logged_in_citizen(client, sim)
    assert await consent(client, token, **{"tpl-progress": "accept", "tpl-completed": "reject",
                                           "tpl-unknown": "accept"}) == {"tpl-progress": 1, "tpl-completed": 0}
    assert await consent(client, token, **{"tpl-progress": "accept"}) == {"tpl-progress": 2}
    assert await consent(client, token, **{"tpl-progress": "ban"}) == {"tpl-progress": 0}
    bad = await client.post("/api/v1/wechat/subscriptions", json={"results": {"tpl-progress": "maybe"}},
                            headers=bearer(token))
    assert bad.status == 422
    anonymous = await client.post("/api/v1/wechat/subscriptions", json={"results": {"tpl-progress": "accept"}})
    assert anonymous.status == 401


async def test_one_consent_sends_one_message_and_then_in_chat_only(client, sim, tokens, settings, clock) -> None:
    citizen, token = await logged_in_citizen(client, sim)
    number = await submitted_renewal(citizen)
    assert await consent(client, token, **{"tpl-progress": "accept"}) == {"tpl-progress": 1}
    sim.grant_subscription(OPENID, "tpl-progress")
    await deliver(client)
    assert sim.subscribe_sent == []  # case.submitted: the citizen has just done it in the mini-program

    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 200
    await deliver(client)
    await deliver(client)
    [sent] = sim.subscribe_sent
    assert sent["touser"] == OPENID and sent["template_id"] == "tpl-progress"
    assert sent["page"] == f"pages/index/index?case={number}"
    assert sent["data"]["thing1"] == "居民身份证换领" and sent["data"]["character_string2"] == number
    assert sent["data"]["phrase3"] == "预审通过" and sent["data"]["time4"].startswith("2026年11月27日")
    assert await consent(client, token) == {}
    assert await consent(client, token, **{"tpl-progress": "reject"}) == {"tpl-progress": 0}

    assert (await move(client, tokens["clerk"], number, to="accepted"))[0] == 200
    await deliver(client)
    assert len(sim.subscribe_sent) == 1  # no consent left: in the chat only
    texts = (await (await client.get("/api/v1/messages", headers=bearer(token))).json())["messages"]
    assert any("预审通过" in m["text"] for m in texts) and any("已受理" in m["text"] for m in texts)
    assert all(attempts == 0 and done for _, attempts, done in await outbox_attempts(settings))


async def test_no_consent_at_wechat_is_not_retried_and_clears_the_quota(client, sim, tokens, settings,
                                                                        clock) -> None:
    citizen, token = await logged_in_citizen(client, sim)
    await consent(client, token, **{"tpl-completed": "accept"})  # WeChat never got it (no grant): 43101
    await completed_case(client, citizen, tokens)
    await deliver(client)
    assert sim.subscribe_sent == []
    assert await consent(client, token, **{"tpl-completed": "reject"}) == {"tpl-completed": 0}
    assert all(attempts == 0 and done for _, attempts, done in await outbox_attempts(settings))
    texts = (await (await client.get("/api/v1/messages", headers=bearer(token))).json())["messages"]
    assert any("已办结" in m["text"] for m in texts)


async def test_a_network_failure_gives_the_consent_back_and_is_retried(client, sim, tokens, settings, clock) -> None:
    citizen, token = await logged_in_citizen(client, sim)
    number = await submitted_renewal(citizen)
    await consent(client, token, **{"tpl-correction": "accept"})
    sim.grant_subscription(OPENID, "tpl-correction")
    await deliver(client)
    for _ in range(2):  # the WeChat client's attempt and its retry
        sim.drop_next(SUBSCRIBE_SEND)
    status, _ = await move(client, tokens["clerk"], number, to="returned",
                           materials={"id_photo": "照片不清晰"}, reason="材料不清晰")
    assert status == 200
    await deliver(client)
    assert sim.subscribe_sent == []
    assert await consent(client, token, **{"tpl-correction": "reject"}) == {"tpl-correction": 1}
    assert (await outbox_attempts(settings))[-1] == ("case.status_changed", 1, False)

    clock.now += timedelta(minutes=5)  # past the back-off
    await deliver(client)
    [sent] = sim.subscribe_sent
    assert sent["template_id"] == "tpl-correction" and sent["data"]["phrase3"] == "需补正"
    assert await consent(client, token, **{"tpl-correction": "reject"}) == {"tpl-correction": 0}
    assert (await outbox_attempts(settings))[-1] == ("case.status_changed", 1, True)
    texts = (await (await client.get("/api/v1/messages", headers=bearer(token))).json())["messages"]
    assert sum("补正" in m["text"] for m in texts) == 1  # in-chat deduplicates the redelivery
