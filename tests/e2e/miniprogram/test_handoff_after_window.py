"""A staff answer to a WeChat user after the customer-service send API's 48-hour window (or refused by WeChat):
it waits in the in-chat message list and one subscribe message (人工客服回复) tells the citizen, once per handoff
until they write again, and only against a consent they gave. The app runs against the WeChat simulator."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from bot.config import Settings
from sim.wechat import DEFAULT_AES_KEY, WeChatSimulator
from tests.e2e.casework import auth
from tests.e2e.miniprogram.session import bearer, login
from tests.e2e.test_wechat_channel import SEND, WeChatUser

BASE = "/api/v1/staff/handoffs"
OPENID = "oWxAfterWindow"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The citizen writes through the message push too (safe mode: AES)."""
    return settings.model_copy(update={"wechat_aes_key": DEFAULT_AES_KEY})


async def claimed_chat(client, sim: WeChatSimulator, tokens, consents: int) -> tuple[WeChatUser, str]:
    """A WeChat user who gave `consents` for the reply template asks for a person; a clerk claims the chat."""
    token = await login(client, sim, OPENID)
    for _ in range(consents):
        await client.post("/api/v1/wechat/subscriptions", json={"results": {"tpl-handoff": "accept"}},
                          headers=bearer(token))
    sim.grant_subscription(OPENID, "tpl-handoff", consents)
    console = await client.ws_connect("/api/v1/staff/live")  # the clerk is online
    await console.send_json({"token": tokens["clerk"]})
    assert (await console.receive_json())["kind"] == "ready"
    user = WeChatUser(client, sim, OPENID)
    await user.say("居住证怎么办")
    assert "德令哈市公安局" in await user.say("转人工")
    waiting = await (await client.get(BASE + "?status=waiting", headers=auth(tokens["clerk"]))).json()
    chat = f"{BASE}/{next(h['id'] for h in waiting['items'] if h['user'] == OPENID)}"
    assert (await client.post(f"{chat}/claim", headers=auth(tokens["clerk"]))).status == 200
    await console.close()
    return user, chat


async def answer(client, tokens, chat: str, text: str) -> None:
    assert (await client.post(f"{chat}/messages", json={"text": text}, headers=auth(tokens["clerk"]))).status == 201


async def listed(client) -> list[str]:
    return [m["text"] for m in (await (await client.get("/api/v1/messages", params={"user": OPENID})).json())
            ["messages"]]


async def test_an_answer_after_the_window_is_one_subscribe_message_until_the_citizen_writes(client, sim, tokens,
                                                                                         clock) -> None:
    user, chat = await claimed_chat(client, sim, tokens, consents=3)
    clock.now += timedelta(hours=49)  # the citizen has not written for 49 h: the send API would refuse
    sim.note_user_message(OPENID, at=time.time() - 49 * 3600)
    sent = len(sim.sent)
    await answer(client, tokens, chat, "已核对，请拨13800138000预约")
    await answer(client, tokens, chat, "材料清单已发您")
    assert user.replies_since(sent) == ""  # the doomed sends were not even tried
    [notice] = sim.subscribe_sent  # the second answer sent no other
    assert notice["touser"] == OPENID and notice["template_id"] == "tpl-handoff"
    assert notice["data"]["thing1"] == "德令哈市公安局" and notice["data"]["thing2"] == "已核对，请拨138****8000预约"
    assert notice["data"]["time3"].startswith("2026年11月29日")
    assert (await listed(client))[-2:] == ["已核对，请拨13800138000预约", "材料清单已发您"]
    log = (await (await client.get(chat, headers=auth(tokens["clerk"]))).json())["messages"]
    assert [m["text"] for m in log if m["author"] == "event"].count("已发订阅消息，提醒群众查看回复") == 1

    assert await user.say("好的，我看看") == ""  # the citizen writes: the window opens again
    sent = len(sim.sent)
    await answer(client, tokens, chat, "还有问题请说")
    assert user.replies_since(sent) == "还有问题请说" and len(sim.subscribe_sent) == 1
    clock.now += timedelta(hours=49)
    await answer(client, tokens, chat, "会话将结束")
    assert len(sim.subscribe_sent) == 2  # a new round: one more


@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_an_answer_wechat_refuses_is_announced_by_a_subscribe_message(client, sim, tokens, errcode) -> None:
    _, chat = await claimed_chat(client, sim, tokens, consents=1)
    sim.fail_next(SEND, errcode)
    await answer(client, tokens, chat, "您好，请讲")
    assert [n["template_id"] for n in sim.subscribe_sent] == ["tpl-handoff"]
    assert (await listed(client))[-1] == "您好，请讲"


async def test_without_a_consent_nothing_is_sent_and_it_is_logged_once(client, sim, tokens, clock, caplog) -> None:
    _, chat = await claimed_chat(client, sim, tokens, consents=0)
    clock.now += timedelta(hours=49)
    caplog.set_level(logging.INFO, logger="zhengwu.wechat")
    for text in ("第一条回复", "第二条回复"):
        await answer(client, tokens, chat, text)
    assert sim.subscribe_sent == []
    assert (await listed(client))[-2:] == ["第一条回复", "第二条回复"]
    assert sum("no subscribe consent" in r.getMessage() for r in caplog.records) == 1
