"""WeChat login end to end: session tokens against the WeChat simulator over HTTP, require_login, phone binding."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from sim.wechat import WeChatSimulator
from tests.e2e.casework import VALID_ID, submitted_renewal
from tests.e2e.miniprogram.session import SessionChat, bearer, login
from tests.metrics import sample, scrape

LOGIN = "/api/v1/auth/wechat/login"


async def test_login_gives_a_token_that_identifies_the_citizen(client, sim, clock) -> None:
    response = await client.post(LOGIN, json={"code": sim.issue_code("oCitizen1", unionid="uUnion1")})
    assert response.status == 200
    body = await response.json()
    assert body["expires_at"] == (clock.now + timedelta(hours=2)).isoformat()
    cases = await client.get("/api/v1/cases", headers=bearer(body["token"]))
    assert cases.status == 200 and (await cases.json()) == {"cases": []}


async def test_a_used_or_unknown_code_is_refused_in_chinese(client, sim) -> None:
    code = sim.issue_code("oCitizen1")
    assert (await client.post(LOGIN, json={"code": code})).status == 200
    for bad in (code, "made-up"):
        response = await client.post(LOGIN, json={"code": bad})
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert "登录凭证无效" in (await response.json())["detail"]
    assert (await client.post(LOGIN, json={})).status == 422


async def test_wechat_down_is_a_503_to_try_again(client, sim) -> None:
    for _ in range(4):  # every attempt (aiohttp itself may retry a GET on a reused connection)
        sim.drop_next("/sns/jscode2session")
    response = await client.post(LOGIN, json={"code": sim.issue_code("oCitizen1")})
    assert response.status == 503 and response.headers["Retry-After"]
    assert "稍后再试" in (await response.json())["detail"]


async def test_wechat_busy_is_a_503_too(client, sim) -> None:
    sim.fail_next("/sns/jscode2session", -1, "system error")
    assert (await client.post(LOGIN, json={"code": sim.issue_code("oCitizen1")})).status == 503


async def test_an_expired_token_is_refused(client, sim, clock) -> None:
    token = await login(client, sim, "oCitizen1")
    clock.now += timedelta(hours=2, seconds=1)
    response = await client.get("/api/v1/cases", headers=bearer(token))
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert "重新进入小程序" in (await response.json())["detail"]


async def test_logout_revokes_that_token_only(client, sim) -> None:
    token, other = await login(client, sim, "oCitizen1"), await login(client, sim, "oCitizen1")
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status == 204
    assert (await client.get("/api/v1/cases", headers=bearer(token))).status == 401
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status == 401
    assert (await client.get("/api/v1/cases", headers=bearer(other))).status == 200
    assert (await client.post("/api/v1/auth/logout")).status == 401


async def test_a_tampered_token_is_refused(client, sim) -> None:
    token = await login(client, sim, "oCitizen1")
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "oSomeoneElse"}).encode()).rstrip(b"=").decode()
    for bad in (f"{version}.{forged}.{signature}", token[:-2] + "xx", "v1.e30.", "garbage", token + "。"):
        response = await client.get("/api/v1/cases", headers=bearer(bad))
        assert response.status == 401, bad
    basic = await client.get("/api/v1/cases", headers={"Authorization": f"Basic {token}"})
    assert basic.status == 401


async def test_without_require_login_a_user_without_token_is_still_trusted(client, chat_factory) -> None:
    await chat_factory("h5-user").say("你好")
    assert (await client.get("/api/v1/cases", params={"user": "h5-user"})).status == 200


@pytest.mark.parametrize("require_login", [True])
async def test_require_login_makes_the_token_the_identity(client, sim) -> None:
    response = await client.post("/api/v1/chat/messages", json={"user": "oCitizen1", "text": "你好"})
    assert response.status == 401 and "请先登录" in (await response.json())["detail"]
    assert (await client.get("/api/v1/cases", params={"user": "oCitizen1"})).status == 401
    assert (await client.get("/api/v1/messages", params={"user": "oCitizen1"})).status == 401

    token = await login(client, sim, "oCitizen1")
    citizen = SessionChat(client, "oCitizen1", token)
    number = await submitted_renewal(citizen)
    mine = await (await client.get("/api/v1/cases", headers=bearer(token))).json()
    assert [c["number"] for c in mine["cases"]] == [number]
    one = await client.get(f"/api/v1/cases/{number}", params={"user": "someone-else"}, headers=bearer(token))
    assert one.status == 200  # a `user` sent along with a token is ignored
    stranger = await login(client, sim, "oStranger")
    assert (await client.get(f"/api/v1/cases/{number}", headers=bearer(stranger))).status == 404
    spoofed = await client.post("/api/v1/chat/messages", json={"user": "oCitizen1", "text": "评价"},
                                headers=bearer(stranger))
    assert spoofed.status == 200
    assert (await (await client.get("/api/v1/cases", headers=bearer(stranger))).json()) == {"cases": []}


async def test_phone_binding_is_stored_encrypted_masked_and_offered_for_reuse(client, sim, settings) -> None:
    code = sim.issue_phone_code("13800138000")
    assert (await client.post("/api/v1/auth/wechat/phone", json={"code": code})).status == 401
    token = await login(client, sim, "oCitizen1")
    response = await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(token))
    assert response.status == 200
    assert await response.json() == {"phone": "138****8000"}
    reused = await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(token))
    assert reused.status == 422 and "重新点击获取手机号" in (await reused.json())["detail"]

    db = create_async_engine(settings.database_url)
    async with db.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT payload FROM profiles WHERE user_id = 'oCitizen1'"))).scalar_one()
    await db.dispose()
    assert "13800138000" not in stored and stored.startswith("v2:")

    citizen = SessionChat(client, "oCitizen1", token)
    await citizen.say("身份证过期了咋办")
    await citizen.tap("我要办理")
    shown = citizen.text()
    assert "138****8000" in shown and "13800138000" not in shown
    await citizen.tap("沿用")
    for answer in ("张三", VALID_ID):
        await citizen.say(answer)
    assert "换领的原因" in citizen.text()  # the phone number is not asked again


async def test_a_foreign_phone_number_is_not_bound(client, sim: WeChatSimulator) -> None:
    token = await login(client, sim, "oCitizen1")
    response = await client.post("/api/v1/auth/wechat/phone", json={"code": sim.issue_phone_code("+85291234567")},
                                 headers=bearer(token))
    assert response.status == 422 and "中国大陆手机号" in (await response.json())["detail"]


async def test_wechat_api_calls_and_errcodes_are_in_the_metrics(client, sim) -> None:
    code = sim.issue_code("oMetrics1")
    for sent in (code, code):  # the second use of a code is refused by WeChat with an errcode
        await client.post(LOGIN, json={"code": sent})
    scraped = await scrape(client)
    calls = {labels: v for (name, labels), v in scraped.items() if name == "zwb_wechat_api_calls_total"}
    errors = {labels: v for (name, labels), v in scraped.items() if name == "zwb_wechat_api_errors_total"}
    assert sum(calls.values()) >= 2 and sum(errors.values()) >= 1, (calls, errors)
    assert sample(scraped, "zwb_provider_requests_total", provider="wechat", outcome="2xx") >= 2  # wechat_api_base
