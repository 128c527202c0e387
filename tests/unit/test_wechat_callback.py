"""The simulator's pushes, received by a minimal callback endpoint built on CallbackDecoder:
signing and encryption in every mode and format, WeChat's retries, duplicates, and forged requests."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.wechat.api import WeChatApi
from providers.wechat.callback import CallbackDecoder
from providers.wechat.crypto import CallbackRejected
from providers.wechat.messages import ImageMessage, IncomingMessage, SessionEnterEvent, TextMessage
from providers.wechat.tokens import MemoryTokenCache
from sim.wechat import WeChatSimulator

Server = Callable[[web.Application], Awaitable[TestServer]]


class Receiver:
    """Our side, reduced to the rules: check, answer "success", deduplicate. `script` lists what to do
    with the next requests ("500", "slow", "garbage"); afterwards it answers normally."""

    def __init__(self, decoder: CallbackDecoder, script: list[str] | None = None) -> None:
        self.decoder, self.script = decoder, list(script or [])
        self.requests = 0
        self.received: list[IncomingMessage] = []
        self.refused: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/wechat", self.verify)
        self.app.router.add_post("/wechat", self.callback)

    async def verify(self, request: web.Request) -> web.Response:
        try:
            return web.Response(text=self.decoder.verify_url(request.query))
        except CallbackRejected:
            return web.Response(status=401)

    async def callback(self, request: web.Request) -> web.Response:
        self.requests += 1
        action = self.script.pop(0) if self.script else "ok"
        if action == "500":
            return web.Response(status=500)
        if action == "slow":
            await asyncio.sleep(0.5)
        if action == "garbage":
            return web.Response(text="ok")
        try:
            message = self.decoder.decode(request.query, await request.read(), request.content_type)
        except CallbackRejected as exc:
            self.refused.append(type(exc).__name__)
            return web.Response(status=400)
        if all(seen.dedupe_key != message.dedupe_key for seen in self.received):
            self.received.append(message)
        return web.Response(text="success")


def receiver(sim: WeChatSimulator, script: list[str] | None = None) -> Receiver:
    return Receiver(CallbackDecoder(sim.token, sim.cipher), script)


@pytest.mark.parametrize("mode", ["safe", "plain"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_push_in_every_mode_and_format(aiohttp_server: Server, mode: str, fmt: str) -> None:
    sim = WeChatSimulator()
    ours = receiver(sim)
    url = str((await aiohttp_server(ours.app)).make_url("/wechat"))
    results = await sim.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "我要办 <居住证> & 社保"},
                             mode=mode, fmt=fmt)
    results += await sim.push(url, {"FromUserName": "oUser1", "MsgType": "image", "MediaId": "m1",
                                    "PicUrl": "http://x/1.jpg"}, mode=mode, fmt=fmt)
    results += await sim.push(url, {"FromUserName": "oUser1", "MsgType": "event",
                                    "Event": "user_enter_tempsession", "SessionFrom": "home"}, mode=mode, fmt=fmt)
    assert results == ["success"] * 3
    text, image, enter = ours.received
    assert isinstance(text, TextMessage) and text.Content == "我要办 <居住证> & 社保"
    assert text.ToUserName == sim.username and text.openid == "oUser1"
    assert isinstance(image, ImageMessage) and image.MediaId == "m1"
    assert isinstance(enter, SessionEnterEvent) and enter.SessionFrom == "home"


async def test_duplicates_are_delivered_and_deduplicated(aiohttp_server: Server) -> None:
    sim = WeChatSimulator()
    ours = receiver(sim)
    url = str((await aiohttp_server(ours.app)).make_url("/wechat"))
    assert await sim.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "hi"},
                          duplicates=2) == ["success"] * 3
    assert ours.requests == 3 and len(ours.received) == 1


async def test_failed_answers_are_retried(aiohttp_server: Server) -> None:
    sim = WeChatSimulator(push_timeout=0.2)
    ours = receiver(sim, ["500", "slow", "garbage"])
    url = str((await aiohttp_server(ours.app)).make_url("/wechat"))
    assert await sim.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "hi"}) == ["success"]
    assert sim.deliveries[-1].outcomes == [500, "timeout", 200, "success"]
    assert len(ours.received) == 1


async def test_gives_up_after_three_retries(aiohttp_server: Server) -> None:
    sim = WeChatSimulator()
    ours = receiver(sim, ["500"] * 5)
    url = str((await aiohttp_server(ours.app)).make_url("/wechat"))
    assert await sim.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "hi"}) == [500]
    assert sim.deliveries[-1].attempts == 4 and ours.requests == 4
    assert await sim.push("http://127.0.0.1:9/wechat", {"FromUserName": "o", "MsgType": "text",
                                                        "Content": "x"}) == ["unreachable"]


async def test_forged_and_foreign_requests_are_refused(aiohttp_server: Server) -> None:
    sim = WeChatSimulator()
    ours = receiver(sim)
    server = await aiohttp_server(ours.app)
    url = str(server.make_url("/wechat"))
    impostor = WeChatSimulator(token="guessed-token")
    other_app = WeChatSimulator(appid="wx0000000000000bad")
    for fake in (impostor, other_app):
        assert await fake.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "x"}) == [400]
    assert ours.refused == ["SignatureInvalid"] * 4 + ["DecryptError"] * 4  # each retried 3 times
    ours.refused.clear()

    message = sim.complete_message({"FromUserName": "oUser1", "MsgType": "text", "Content": "x"})
    query, body, content_type = sim.signed_request(message, mode="safe")
    encrypt = body.split(b'"Encrypt": "')[1].split(b'"')[0]
    tampered = body.replace(encrypt, sim.cipher.encrypt(b'{"evil": true}').encode())
    async with aiohttp.ClientSession() as session:
        for params, data in [({**query, "msg_signature": "0" * 40}, body),  # forged signature
                             (query, tampered),                              # body swapped under a real one
                             ({**query, "timestamp": "1"}, body)]:           # replayed long after
            async with session.post(url, params=params, data=data, headers={"Content-Type": content_type}) as response:
                assert response.status == 400
        async with session.post(url, params=query, data=body, headers={"Content-Type": content_type}) as response:
            assert await response.text() == "success"
    assert ours.refused == ["SignatureInvalid", "SignatureInvalid", "StaleTimestamp"]
    assert [m.dedupe_key for m in ours.received] == [f"msg:{message['MsgId']}"]


async def test_url_verification(aiohttp_server: Server) -> None:
    sim = WeChatSimulator()
    url = str((await aiohttp_server(receiver(sim).app)).make_url("/wechat"))
    assert await sim.verify_url(url)
    assert not await WeChatSimulator(token="guessed-token").verify_url(url)


async def test_a_pushed_message_opens_the_send_window(aiohttp_server: Server) -> None:
    sim = WeChatSimulator()
    url = str((await aiohttp_server(receiver(sim).app)).make_url("/wechat"))
    await sim.push(url, {"FromUserName": "oUser1", "MsgType": "text", "Content": "在吗"})
    async with sim.serve() as base, aiohttp.ClientSession() as session:
        api = WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=MemoryTokenCache())
        await api.send_text("oUser1", "在的，请问办理什么业务？")
    assert sim.sent[0]["touser"] == "oUser1"


async def test_sim_controls_over_http() -> None:
    sim = WeChatSimulator()
    async with sim.serve() as base, aiohttp.ClientSession() as session:
        async with session.post(f"{base}/sim/codes", json={"openid": "oUser9"}) as response:
            code = (await response.json())["code"]
        api = WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=MemoryTokenCache())
        assert (await api.code2session(code)).openid == "oUser9"
        async with session.post(f"{base}/sim/subscriptions", json={"openid": "oUser9", "template_id": "T1"}):
            pass
        await api.send_subscribe("oUser9", "T1", "pages/index", {"thing1": "已办结"})
        async with session.get(f"{base}/sim/sent") as response:
            assert (await response.json())["subscribe_sent"][0]["data"] == {"thing1": "已办结"}
