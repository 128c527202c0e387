"""A plain-mode signature covers no body: the same signed query with another body is refused (in memory and in
Redis), while WeChat's own retry (same query, same body) is still answered; and the access log never holds the
signing parameters, openids or `?user=`."""
from __future__ import annotations

import logging

import pytest

from app import CUSTOMER_SERVICE, build_app, http_options
from sim.wechat import WeChatSimulator
from tests.e2e.test_wechat_channel import sim, wechat_settings  # noqa: F401  (fixture)

CALLBACK = "/wechat/callback"


@pytest.fixture(params=["memory", "redis"])
def shared(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_server"), "redis_prefix": request.getfixturevalue("redis_prefix")}


def text_message(simulator: WeChatSimulator, openid: str, text: str) -> dict[str, object]:
    simulator.note_user_message(openid)
    return simulator.complete_message({"FromUserName": openid, "MsgType": "text", "Content": text})


async def test_a_replayed_plain_signature_with_another_body_is_refused(aiohttp_client, settings, content, clock, sim,
                                                                       shared, caplog) -> None:
    simulator, base = sim
    client = await aiohttp_client(build_app(wechat_settings(settings, simulator, base, **shared), content, clock))
    query, body, content_type = simulator.signed_request(text_message(simulator, "oWxVictim", "居住证怎么办"),
                                                         mode="plain")
    headers = {"Content-Type": content_type}
    first = await client.post(CALLBACK, params=query, data=body, headers=headers)
    assert (first.status, await first.text()) == (200, "success")
    retry = await client.post(CALLBACK, params=query, data=body, headers=headers)  # WeChat retrying the delivery
    assert (retry.status, await retry.text()) == (200, "success")

    caplog.set_level(logging.INFO)
    _, forged, _ = simulator.signed_request(text_message(simulator, "oWxSomeoneElse", "转人工"), mode="plain")
    replayed = await client.post(CALLBACK, params=query, data=forged, headers=headers)
    assert replayed.status == 400 and await replayed.text() == "rejected"
    await client.app[CUSTOMER_SERVICE].drain()
    assert not [m for m in simulator.sent if m["touser"] == "oWxSomeoneElse"]
    assert len([m for m in simulator.sent if m["touser"] == "oWxVictim"]) >= 1  # the first delivery was answered
    refusals = [r for r in caplog.records if "replay" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None


async def test_a_fresh_signature_is_still_taken_after_a_replay_was_refused(aiohttp_client, settings, content, clock,
                                                                           sim, shared) -> None:
    simulator, base = sim
    client = await aiohttp_client(build_app(wechat_settings(settings, simulator, base, **shared), content, clock))
    url = str(client.make_url(CALLBACK))
    assert await simulator.push(url, {"FromUserName": "oWxA", "MsgType": "text", "Content": "你好"}, mode="plain",
                                duplicates=2) == ["success"] * 3
    assert await simulator.push(url, {"FromUserName": "oWxA", "MsgType": "text", "Content": "谢谢"},
                                mode="plain") == ["success"]


async def test_the_access_log_holds_no_signature_nonce_openid_or_user(aiohttp_server, aiohttp_client, settings,
                                                                      content, clock, sim, caplog) -> None:
    simulator, base = sim
    configured = wechat_settings(settings, simulator, base)
    server = await aiohttp_server(build_app(configured, content, clock), **http_options(configured))
    client = await aiohttp_client(server)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    query, body, content_type = simulator.signed_request(text_message(simulator, "oWxLogged", "你好"), mode="plain")
    query = {**query, "openid": "oWxLogged"}  # WeChat adds the sender's openid to some pushes
    assert (await client.post(CALLBACK, params=query, data=body, headers={"Content-Type": content_type})).status == 200
    messages = await client.get("/api/v1/messages", params={"user": "citizen-4711"},
                                headers={"Referer": "http://h5.example/?user=citizen-4711"})
    assert messages.status == 200
    await client.app[CUSTOMER_SERVICE].drain()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(CALLBACK in line for line in lines) and any("/api/v1/messages" in line for line in lines)
    logged = "\n".join(lines)
    for value in (query["signature"], query["nonce"], query["timestamp"], "oWxLogged", "citizen-4711"):
        assert value not in logged, (value, logged)
    assert "user=***" in logged and "signature=***" in logged
