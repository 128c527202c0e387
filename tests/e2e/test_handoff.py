"""转人工 end to end through the real app: a citizen in the middle of an application asks for a person, a clerk of
the item's department (online: console connected) claims the chat, they write to each other (the staff answers
reach the citizen's page live over its WebSocket), the clerk closes, and the bot goes on at the same step and asks
for a rating of the human session."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import ClientWebSocketResponse
from sqlalchemy.ext.asyncio import create_async_engine

from app import build_app
from storage import tables
from tests.e2e.casework import VALID_ID, auth, move, start_renewal, submitted_renewal
from tests.e2e.conftest import staff_tokens

BASE = "/api/v1/staff/handoffs"


async def connect(client, path: str, hello: dict[str, str]) -> ClientWebSocketResponse:
    ws = await client.ws_connect(path)
    await ws.send_json(hello)
    assert (await next_event(ws))["kind"] == "ready"
    return ws


async def next_event(ws: ClientWebSocketResponse, kind: str | None = None, **match: str) -> dict[str, Any]:
    """The next event of this kind (with these values), within five seconds."""
    while True:
        frame = await asyncio.wait_for(ws.receive(), 5)
        event = json.loads(frame.data)
        if (kind is None or event["kind"] == kind) and all(event.get(k) == v for k, v in match.items()):
            return event


async def test_citizen_reaches_a_clerk_and_the_bot_resumes_at_the_same_step(client, chat_factory, tokens,
                                                                            settings) -> None:
    console = await connect(client, "/api/v1/staff/live", {"token": tokens["clerk"]})
    citizen = chat_factory("h1")
    await start_renewal(citizen)
    await citizen.say("张三")
    assert citizen.last()["key"] == "id_number"
    await citizen.say("找工作人员")
    assert "德令哈市公安局" in citizen.text() and "前面还有 0 位" in citizen.text()
    page = await connect(client, "/api/v1/chat/live", {"user": "h1"})

    waiting = await (await client.get(BASE + "?status=waiting", headers=auth(tokens["clerk"]))).json()
    chat = next(h for h in waiting["items"] if h["user"] == "h1")
    assert chat["department"] == "德令哈市公安局" and chat["status"] == "waiting" and chat["waiting_seconds"] >= 0
    assert (await client.get(f"{BASE}/{chat['id']}", headers=auth(tokens["other_clerk"]))).status == 404
    view = await (await client.get(f"{BASE}/{chat['id']}", headers=auth(tokens["clerk"]))).json()
    assert view["item"] == view["context"]["target_name"] == "居民身份证换领" and view["context"]["step"] == "身份证号"
    assert view["context"]["fields"]["applicant_name"] == "张*"  # masked
    assert any("一次性告知" in c["title"] for c in view["canned"])

    assert (await client.post(f"{BASE}/{chat['id']}/claim", headers=auth(tokens["clerk"]))).status == 200
    assert "已接入" in (await next_event(page, "message"))["text"]
    assert (await client.post(f"{BASE}/{chat['id']}/claim", headers=auth(tokens["approver"]))).status == 409

    for n in range(3):
        await citizen.say(f"问题{n}：照片有什么要求？")
        assert citizen.replies == []  # the bot stays silent: the clerk answers
        event = await next_event(console, "message", author="citizen")
        assert (event["author"], event["text"]) == ("citizen", f"问题{n}：照片有什么要求？")
        sent = await client.post(f"{BASE}/{chat['id']}/messages", json={"text": f"回答{n}"},
                                 headers=auth(tokens["clerk"]))
        assert sent.status == 201
        assert (await next_event(page, "message"))["text"] == f"回答{n}"
    listed = await (await client.get(f"/api/v1/messages?user=h1")).json()
    assert [m["text"] for m in listed["messages"]][-3:] == ["回答0", "回答1", "回答2"]

    closed = await client.post(f"{BASE}/{chat['id']}/close", json={"summary": "已说明照片要求"},
                               headers=auth(tokens["clerk"]))
    assert closed.status == 200
    taken_back = (await next_event(page, "replies"))["replies"]
    assert "已结束" in taken_back[0]["text"] and taken_back[-1]["key"] == "id_number"
    rate = next(o["value"] for o in taken_back[1]["options"] if o["label"] == "不满意")

    await citizen.say(VALID_ID)  # the bot goes on at the step the citizen was in
    assert citizen.last()["key"] == "phone"
    await citizen.say(rate)
    assert "不满意" in citizen.text() or "回访" in citizen.text()
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        rating = (await conn.execute(sa.select(tables.ratings))).mappings().one()
        ticket = (await conn.execute(sa.select(tables.rectifications))).mappings().one()
        audit = (await conn.execute(sa.select(tables.audit_log.c.action))).scalars().all()
    await engine.dispose()
    assert rating["case_number"].startswith("RG") and rating["tags"] == ["人工服务"] and rating["level"] == 2
    assert ticket["department"] == "德令哈市公安局"
    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    assert [t["case_number"] for t in tickets["rectifications"]] == [rating["case_number"]]  # the clerks follow it up
    assert {"handoff_view", "handoff_claim", "handoff_close", "refused"} <= set(audit)
    await page.close()
    await console.close()


async def test_a_person_is_offered_after_two_misses_or_three_refused_answers(chat_factory) -> None:
    lost = chat_factory("h2")
    await lost.say("今天天气怎么样")  # out of scope: understood, so not a miss
    await lost.say("我那个事情咋整")
    assert "要不要转人工" not in lost.text()
    await lost.say("就是那个上次说的那个")
    assert "要不要转人工" in lost.text() and lost.option("转人工")
    stuck = chat_factory("h3")
    await start_renewal(stuck)
    await stuck.say("张三")
    for _ in range(2):
        await stuck.say("12345")
        assert "转人工" not in stuck.text()
    await stuck.say("12345")
    assert "转人工" in stuck.text() and stuck.last()["key"] == "id_number"
    await stuck.tap("转人工")
    assert "德令哈市公安局" in stuck.text()  # nobody online: a message to call back about


async def test_the_citizen_picks_a_department_when_nothing_is_in_context(chat_factory) -> None:
    citizen = chat_factory("h4")
    await citizen.say("我要投诉")
    assert citizen.last()["type"] == "choices" and "政务服务中心综合窗口" in citizen.text()
    await citizen.tap("政务服务中心综合窗口")
    assert "政务服务中心综合窗口" in citizen.text() and "留言" in citizen.text()
    await citizen.say("窗口排队太久了")
    assert "留言已收到" in citizen.text()
    await citizen.say("结束人工")
    assert "小助手继续为您服务" in citizen.text()
    await citizen.say("居住证怎么办")
    assert "居住证" in citizen.text()  # the bot has the chat again


async def test_live_channels_check_origin_and_credentials(client, tokens) -> None:
    foreign = await client.get("/api/v1/chat/live", headers={"Origin": "https://evil.example",
                                                              "Connection": "Upgrade", "Upgrade": "websocket",
                                                              "Sec-WebSocket-Version": "13",
                                                              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert foreign.status == 403
    for path, hello in (("/api/v1/staff/live", {"token": "not-a-token"}), ("/api/v1/chat/live", {"user": "bad id!"})):
        ws = await client.ws_connect(path)
        await ws.send_json(hello)
        frame = await ws.receive()
        assert frame.type.name == "CLOSE" and ws.close_code == 4401
    own = await client.ws_connect("/api/v1/staff/live", headers={"Origin": str(client.make_url("")).rstrip("/")})
    await own.send_json({"token": tokens["clerk"]})
    assert (await own.receive_json())["kind"] == "ready"
    await own.close()


async def test_staff_calls_have_one_rate_limit_shared_by_every_staff_route(aiohttp_client, settings, content,
                                                                            clock) -> None:
    # staff_rate_limit alone counts: the citizens' tighter rate_limit does not apply to staff calls.
    settings = settings.model_copy(update={"rate_limit": settings.rate_limit.model_copy(update={"messages": 2}),
                                           "staff_rate_limit": settings.staff_rate_limit.model_copy(
                                               update={"messages": 5, "per_seconds": 60})})
    client = await aiohttp_client(build_app(settings, content, clock))
    clerk = auth((await staff_tokens(client))["clerk"])
    paths = [BASE, "/api/v1/staff/me", BASE + "?status=active", "/api/v1/staff/me", BASE, BASE]
    statuses = [(await client.get(path, headers=clerk)).status for path in paths]
    assert statuses == [200, 200, 200, 200, 200, 429]
    refused = await client.get(BASE, headers=clerk)
    assert int(refused.headers["Retry-After"]) >= 1 and "稍等" in (await refused.json())["detail"]


async def test_supervisors_see_the_board_and_statistics(client, chat_factory, tokens, clock) -> None:
    console = await connect(client, "/api/v1/staff/live", {"token": tokens["clerk"]})
    await chat_factory("h5").say("居住证怎么办")
    await chat_factory("h5").say("转人工")
    await chat_factory("h6").say("身份证过期了咋办")
    await chat_factory("h6").say("人工客服")
    assert (await client.get("/api/v1/staff/handoff-board", headers=auth(tokens["clerk"]))).status == 403
    clock.now += timedelta(seconds=90)  # both waited past the 60 s first-response target
    board = (await (await client.get("/api/v1/staff/handoff-board", headers=auth(tokens["supervisor"]))).json())
    assert board["board"] == {"department": "德令哈市公安局", "waiting": 2, "longest_wait_seconds": 90,
                                "in_progress": 0, "callbacks": 0, "online": 1, "breaches_today": 2}
    waiting = (await (await client.get(BASE, headers=auth(tokens["clerk"]))).json())["items"]
    assert all(chat["breaches"] == ["first_response"] for chat in waiting)  # shown as it happens
    first = waiting[0]["id"]
    await client.post(f"{BASE}/{first}/claim", headers=auth(tokens["clerk"]))
    await client.post(f"{BASE}/{first}/messages", json={"text": "您好"}, headers=auth(tokens["clerk"]))
    await client.post(f"{BASE}/{first}/close", json={"summary": "已解答"}, headers=auth(tokens["clerk"]))
    stats = (await (await client.get("/api/v1/staff/handoff-board", headers=auth(tokens["supervisor"]))).json())
    assert stats["statistics"]["first_response_p50"] == 90.0 and stats["statistics"]["chats"] == 2
    assert stats["statistics"]["resolution_rate"] == 0.5
    await console.close()


async def test_an_open_page_hears_progress_messages_live(client, chat_factory, tokens) -> None:
    number = await submitted_renewal(chat_factory("h7"))
    page = await connect(client, "/api/v1/chat/live", {"user": "h7"})
    assert (await move(client, tokens["clerk"], number, to="returned", reason="照片不清晰",
                       materials={"old_id_card": "请重新拍摄"}))[0] == 200
    event = await next_event(page, "message")
    assert number in event["text"] and "照片不清晰" in event["text"]
    listed = (await (await client.get("/api/v1/messages?user=h7")).json())["messages"]
    assert event["id"] in [m["id"] for m in listed]  # the same message the list has, acknowledged by its id
    await page.close()
