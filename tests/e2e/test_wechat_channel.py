"""The WeChat customer-service channel end to end: the local WeChat simulator pushes signed (and AES-encrypted)
callbacks to our server over HTTP, our replies go back through its send API. Real signatures, real AES."""
from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest

from app import CUSTOMER_SERVICE, build_app
from sim.wechat import DEFAULT_AES_KEY, WeChatSimulator
from tests.chat import PNG, Chat
from tests.e2e.casework import VALID_ID, move, submitted_renewal

OPENID = "oWxUser0000000000000000001"
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[WeChatSimulator, str]]:
    simulator = WeChatSimulator(push_retry_delay=0.01)
    async with simulator.serve() as base:
        yield simulator, base


def wechat_settings(settings, simulator: WeChatSimulator, base: str, **extra):
    return settings.model_copy(update={"wechat_appid": simulator.appid, "wechat_secret": simulator.secret,
                                       "wechat_token": simulator.token, "wechat_aes_key": DEFAULT_AES_KEY,
                                       "wechat_api_base": base, **extra})


@pytest.fixture
async def client(aiohttp_client, settings, content, clock, sim):
    simulator, base = sim
    return await aiohttp_client(build_app(wechat_settings(settings, simulator, base), content, clock))


class WeChatUser:
    """A citizen typing into the customer-service chat of the mini-program."""

    def __init__(self, client, simulator: WeChatSimulator, openid: str = OPENID) -> None:
        self.client, self.sim, self.openid = client, simulator, openid
        self.url = str(client.make_url("/wechat/callback"))

    async def push(self, message: dict, **options) -> list:
        results = await self.sim.push(self.url, {"FromUserName": self.openid, **message}, **options)
        await self.client.app[CUSTOMER_SERVICE].drain()
        return results

    async def say(self, text: str, **options) -> str:
        sent = len(self.sim.sent)
        assert await self.push({"MsgType": "text", "Content": text}, **options) == ["success"]
        return self.replies_since(sent)

    async def send_image(self, data: bytes) -> str:
        media_id = f"media{len(self.sim.sent)}"
        self.sim.put_media(media_id, data, "image/png")
        sent = len(self.sim.sent)
        assert await self.push({"MsgType": "image", "MediaId": media_id, "PicUrl": "http://x/y.png"}) == ["success"]
        return self.replies_since(sent)

    def replies_since(self, index: int) -> str:
        return "\n".join(m["text"]["content"] for m in self.sim.sent[index:]
                         if m["touser"] == self.openid and m["msgtype"] == "text")

    async def pick(self, reply: str, label_part: str) -> str:
        """Answer with the number of the option whose label contains label_part."""
        number = next(n for n, label in re.findall(r"^(\d+)\. (.+)$", reply, re.M) if label_part in label)
        return await self.say(number)


async def test_url_verification(client, sim) -> None:
    simulator, _ = sim
    assert await simulator.verify_url(str(client.make_url("/wechat/callback")))
    forged = await client.get("/wechat/callback", params={"signature": "0" * 40, "timestamp": "1", "nonce": "1",
                                                          "echostr": "x"})
    assert forged.status == 403


async def up_to_the_photo(user: WeChatUser) -> str:
    """A renewal by text, up to the step that asks for a photo of the old card."""
    reply = await user.say("身份证过期了咋办")
    assert "居民身份证换领" in reply and "回复数字即可选择" in reply
    reply = await user.pick(reply, "我要办理")
    for answer in ("张三", VALID_ID, "13800138000"):
        reply = await user.say(answer)
    reply = await user.pick(reply, "有效期满")
    reply = await user.pick(reply, "邮寄到家")
    reply = await user.say("德令哈市河西街道长江路1号")
    reply = await user.pick(reply, "电子证照")
    assert "直接发送照片" in reply
    return reply


async def test_a_whole_application_by_text_and_photo(client, sim) -> None:
    user = WeChatUser(client, sim[0])
    await up_to_the_photo(user)
    reply = await user.send_image(PNG)  # the photo goes through the material step like an upload
    reply = await user.pick(reply, "跳过")
    reply = await user.pick(reply, "确认提交")
    number = re.search(r"DLH\d{14}", reply).group(0)
    case = await (await client.get(f"/api/v1/cases/{number}", params={"user": OPENID})).json()
    assert case["status"] == "submitted"
    assert {m["key"]: m["provided_as"] for m in case["materials"]}["old_id_card"] == "upload"


async def test_plain_xml_and_session_enter_event(client, sim) -> None:
    user = WeChatUser(client, sim[0], "oWxUserXml")
    sent = len(sim[0].sent)
    assert await user.push({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "home"},
                           mode="plain", fmt="xml") == ["success"]
    assert "您好" in user.replies_since(sent)
    reply = await user.say("居住证怎么办", mode="plain", fmt="xml")
    assert "居住证" in reply


async def test_a_shared_service_page_is_read_by_its_title(client, sim) -> None:
    user = WeChatUser(client, sim[0], "oWxCard")
    sent = len(sim[0].sent)
    assert await user.push({"MsgType": "miniprogrampage", "Title": "居住证申领", "AppId": sim[0].appid,
                            "PagePath": "pages/item/index?code=GA0050000", "ThumbUrl": "", "ThumbMediaId": ""}) \
        == ["success"]
    assert "居住证申领" in user.replies_since(sent)


async def test_retries_and_duplicates_are_answered_once(client, sim) -> None:
    simulator = sim[0]
    user = WeChatUser(client, simulator, "oWxDup")
    sent = len(simulator.sent)
    results = await user.push({"MsgType": "text", "Content": "身份证过期了咋办"}, duplicates=3)
    assert results == ["success"] * 4
    assert len(simulator.sent) - sent == 1


@pytest.mark.parametrize("attack", ["forged signature", "stale timestamp", "malformed", "xxe", "billion laughs"])
async def test_bad_callbacks_are_refused_and_change_nothing(client, sim, attack: str) -> None:
    simulator = sim[0]
    message = simulator.complete_message({"FromUserName": "oWxAttack", "MsgType": "text", "Content": "你好"})
    query, body, content_type = simulator.signed_request(message, mode="plain", fmt="xml")
    if attack == "forged signature":
        query["signature"] = "f" * 40
    elif attack == "stale timestamp":
        query, body, content_type = simulator.signed_request(message, mode="plain", fmt="xml")
        query["timestamp"] = str(int(query["timestamp"]) - 3600)
    elif attack == "malformed":
        body = b"<xml><ToUserName>broken"
    elif attack == "xxe":
        body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<xml><FromUserName>oWxAttack</FromUserName><Content>&e;</Content></xml>")
    else:
        body = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
                b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Content>&lol3;</Content></xml>')
    sent = len(simulator.sent)
    response = await client.post("/wechat/callback", params=query, data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    await client.app[CUSTOMER_SERVICE].drain()
    assert len(simulator.sent) == sent


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
async def test_deeply_nested_xml_is_refused_in_one_log_line(client, sim, caplog, signed: bool) -> None:
    query, _, _ = sim[0].signed_request(sim[0].complete_message({"FromUserName": "oWxDeep", "MsgType": "text"}),
                                        mode="plain", fmt="xml")
    if not signed:
        del query["signature"]
    deep = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
    caplog.set_level(logging.INFO)
    response = await client.post("/wechat/callback", params=query, data=deep, headers={"Content-Type": "text/xml"})
    assert response.status == 400
    ours = [record for record in caplog.records if not record.name.startswith("aiohttp")]
    assert len(ours) == 1 and ours[0].exc_info is None and len(ours[0].getMessage()) < 300


async def test_oversized_body_is_refused(client) -> None:
    response = await client.post("/wechat/callback", params={"signature": "x", "timestamp": "1", "nonce": "1"},
                                 data=b"<xml>" + b"a" * 200_000 + b"</xml>", headers={"Content-Type": "text/xml"})
    assert response.status == 413


@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_refused_send_is_kept_in_the_chat_list_without_retrying(client, sim, errcode: int) -> None:
    simulator = sim[0]
    user = WeChatUser(client, simulator, f"oWxRefused{errcode}")
    simulator.fail_next(SEND, errcode)
    assert await user.say("居住证怎么办") == ""  # WeChat refused the reply
    assert not any(m["touser"] == user.openid for m in simulator.sent)  # one-shot fault: a retry would have sent
    kept = await (await client.get("/api/v1/messages", params={"user": user.openid})).json()
    assert any("居住证" in m["text"] for m in kept["messages"])


async def test_token_expiring_mid_conversation_is_refetched_once(client, sim) -> None:
    simulator = sim[0]
    user = WeChatUser(client, simulator, "oWxToken")
    assert "居住证" in await user.say("居住证怎么办")
    fetches = simulator.token_fetches
    simulator.expire_tokens()
    assert "居住证" in await user.say("居住证怎么办")
    assert simulator.token_fetches == fetches + 1


async def test_network_drop_on_send_is_retried(client, sim) -> None:
    simulator = sim[0]
    user = WeChatUser(client, simulator, "oWxDrop")
    simulator.drop_next(SEND)
    assert "居住证" in await user.say("居住证怎么办")


async def test_asking_for_a_person_transfers_the_chat_when_configured(aiohttp_client, settings, content, clock,
                                                                    sim) -> None:
    simulator, base = sim
    chosen = settings.model_copy(update={"handoff": settings.handoff.model_copy(
        update={"transfer_customer_service": True})})
    client = await aiohttp_client(build_app(wechat_settings(chosen, simulator, base), content, clock))
    user = WeChatUser(client, simulator, "oWxHuman")
    sent = len(simulator.sent)
    assert await user.push({"MsgType": "text", "Content": "转人工"}) == ["transfer"]
    assert simulator.transfers == ["oWxHuman"] and len(simulator.sent) == sent
    assert await user.push({"MsgType": "text", "Content": "人工"}, mode="plain", fmt="xml") == ["transfer"]


async def test_a_person_answers_a_wechat_user_through_the_send_api(client, sim, tokens) -> None:
    simulator = sim[0]
    console = await client.ws_connect("/api/v1/staff/live")
    await console.send_json({"token": tokens["clerk"]})
    assert (await console.receive_json())["kind"] == "ready"
    user = WeChatUser(client, simulator, "oWxPerson")
    await user.say("居住证怎么办")
    assert "德令哈市公安局" in await user.say("转人工") and simulator.transfers == []  # the staff console, not WeChat's
    staff = {"Authorization": f"Bearer {tokens['clerk']}"}
    waiting = await (await client.get("/api/v1/staff/handoffs?status=waiting", headers=staff)).json()
    chat = next(h for h in waiting["items"] if h["user"] == "oWxPerson")
    sent = len(simulator.sent)
    assert (await client.post(f"/api/v1/staff/handoffs/{chat['id']}/claim", headers=staff)).status == 200
    assert (await client.post(f"/api/v1/staff/handoffs/{chat['id']}/messages", json={"text": "您好，请讲"},
                              headers=staff)).status == 201
    assert "您好，请讲" in user.replies_since(sent)
    sent = len(simulator.sent)
    assert (await client.post(f"/api/v1/staff/handoffs/{chat['id']}/close", json={"summary": "已解答"},
                              headers=staff)).status == 200
    closing = user.replies_since(sent)
    assert "本次人工服务已结束" in closing and "非常满意" in closing  # the rating question, numbered
    assert "感谢您的评价" in await user.say("1")  # 1 = 非常满意
    await console.close()


async def test_image_too_large_gets_a_polite_answer(client, sim) -> None:
    user = WeChatUser(client, sim[0], "oWxBig")
    await up_to_the_photo(user)
    reply = await user.send_image(PNG + b"\0" * 300_000)  # the test settings allow 200 kB
    assert "太大" in reply or "不超过" in reply


async def test_two_instances_take_a_message_once_and_fetch_one_token(aiohttp_client, settings, content, clock, sim,
                                                                       redis_server, redis_prefix) -> None:
    simulator, base = sim
    shared = wechat_settings(settings, simulator, base, redis_url=redis_server, redis_prefix=redis_prefix)
    instances = [await aiohttp_client(build_app(shared, content, clock)) for _ in range(2)]
    message = simulator.complete_message({"FromUserName": "oWxTwo", "MsgType": "text", "Content": "居住证怎么办"})
    simulator.note_user_message("oWxTwo")
    query, body, content_type = simulator.signed_request(message)
    for instance in (*instances, *instances):  # WeChat's retries land on any instance
        response = await instance.post("/wechat/callback", params=query, data=body,
                                       headers={"Content-Type": content_type})
        assert (response.status, await response.text()) == (200, "success")
    for instance in instances:
        await instance.app[CUSTOMER_SERVICE].drain()
    assert len([m for m in simulator.sent if m["touser"] == "oWxTwo"]) == 1
    second = simulator.complete_message({"FromUserName": "oWxTwo", "MsgType": "text", "Content": "身份证过期了"})
    query, body, content_type = simulator.signed_request(second)
    await instances[1].post("/wechat/callback", params=query, data=body, headers={"Content-Type": content_type})
    await instances[1].app[CUSTOMER_SERVICE].drain()
    assert len([m for m in simulator.sent if m["touser"] == "oWxTwo"]) == 2
    assert simulator.token_fetches == 1  # the second instance used the token the first one shared in Redis


async def test_paying_from_the_chat_sends_a_card_to_the_payment_page(client, sim, tokens) -> None:
    simulator = sim[0]
    number = await submitted_renewal(Chat(client, "oWxPayer"))
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    user = WeChatUser(client, simulator, "oWxPayer")
    reply = await user.say("缴费")
    assert "20.00 元" in reply and "卡片" in reply
    [card] = [m for m in simulator.sent if m["touser"] == "oWxPayer" and m["msgtype"] == "miniprogrampage"]
    assert card["miniprogrampage"]["pagepath"] == f"pages/pay/index?out_trade_no={number}P01"
    assert number in card["miniprogrampage"]["title"]
