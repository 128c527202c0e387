"""Staff API end to end: queues by department and level, audited masked views, lifecycle moves and RBAC."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from storage import tables
from tests.chat import PNG
from tests.e2e.casework import VALID_ID, auth, deliver, move, new_messages, pay_fee, submitted_renewal

async def test_queue_view_and_audit(client, chat_factory, tokens, settings) -> None:
    number = await submitted_renewal(chat_factory("c1"))
    assert (await client.get("/api/v1/staff/cases")).status == 401
    queue = await (await client.get("/api/v1/staff/cases", headers=auth(tokens["clerk"]))).json()
    row = next(c for c in queue["cases"] if c["number"] == number)
    assert row["status"] == "submitted" and row["deadlines"]["pre_review_due"] == "2026-11-30"
    clerk_view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    assert clerk_view["fields"]["id_number"] == VALID_ID  # the window clerk checks the identity
    approver_view = await (await client.get(f"/api/v1/staff/cases/{number}",
                                            headers=auth(tokens["approver"]))).json()
    assert approver_view["fields"]["id_number"] == "110105********002X"
    other = await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["other_clerk"]))
    assert other.status == 404  # another department learns nothing, not even that the case exists
    other_queue = await (await client.get("/api/v1/staff/cases", headers=auth(tokens["other_clerk"]))).json()
    assert all(c["number"] != number for c in other_queue["cases"])
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        actions = (await conn.execute(sa.select(tables.audit_log.c.action)
                                      .where(tables.audit_log.c.case_number == number))).scalars().all()
    await engine.dispose()
    assert actions == ["view", "view", "refused"]  # the other department's attempt is recorded too


async def test_return_for_correction_needs_reasons_and_is_recorded(client, chat_factory, tokens) -> None:
    number = await submitted_renewal(chat_factory("c2"))
    status, body = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰")
    assert status == 409  # which materials to fix must be named
    status, body = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
                              materials={"old_id_card": "照片模糊，请重新拍摄"})
    assert status == 200 and body["status"] == "returned"
    view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    event = view["events"][-1]
    assert (event["from_status"], event["to_status"]) == ("submitted", "returned")
    assert event["detail"]["materials"] == {"old_id_card": "照片模糊，请重新拍摄"} and event["actor"].startswith("staff:")
    status, _ = await move(client, tokens["clerk"], number, to="pre_reviewed")
    assert status == 409  # waits for the citizen's correction


async def test_full_lifecycle_with_roles_and_deferred_material(client, chat_factory, tokens) -> None:
    citizen = chat_factory("c3")
    number = await submitted_renewal(citizen, defer_old_card=True)
    assert (await move(client, tokens["approver"], number, to="pre_reviewed"))[0] == 403
    assert (await move(client, tokens["supervisor"], number, to="pre_reviewed"))[0] == 403
    assert (await move(client, tokens["clerk"], number, to="completed"))[0] == 409
    assert (await move(client, tokens["other_clerk"], number, to="pre_reviewed"))[0] == 404
    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 200
    assert (await move(client, tokens["clerk"], number, to="accepted"))[0] == 200
    assert (await move(client, tokens["approver"], number, to="in_progress"))[0] == 200
    status, body = await move(client, tokens["approver"], number, to="completed")
    assert status == 409 and "容缺" in body["reason"]
    received = await client.post(f"/api/v1/staff/cases/{number}/materials/old_id_card/received",
                                 headers=auth(tokens["clerk"]))
    assert received.status == 200
    again = await client.post(f"/api/v1/staff/cases/{number}/materials/old_id_card/received",
                              headers=auth(tokens["clerk"]))
    assert again.status == 409
    status, body = await move(client, tokens["approver"], number, to="completed")
    assert status == 409 and "缴纳" in body["reason"]
    await pay_fee(citizen, number)
    assert (await move(client, tokens["approver"], number, to="completed"))[0] == 200
    mine = await (await client.get(f"/api/v1/cases/{number}", params={"user": "c3"})).json()
    assert mine["status"] == "completed"
    provided = {m["key"]: m["provided_as"] for m in mine["materials"]}
    assert provided["old_id_card"] == "received"


async def test_refusal_needs_a_reason_and_is_final(client, chat_factory, tokens) -> None:
    number = await submitted_renewal(chat_factory("c4"))
    await move(client, tokens["clerk"], number, to="pre_reviewed")
    assert (await move(client, tokens["clerk"], number, to="refused"))[0] == 409
    status, body = await move(client, tokens["clerk"], number, to="refused", reason="不符合换领条件")
    assert status == 200 and body["status"] == "refused"
    assert (await move(client, tokens["clerk"], number, to="accepted"))[0] == 409
    bad = await client.post(f"/api/v1/staff/cases/{number}/transitions", json={"to": "flying"},
                            headers=auth(tokens["clerk"]))
    assert bad.status == 422


async def test_returned_case_resumes_the_chat_at_the_materials_to_fix(client, chat_factory, tokens) -> None:
    citizen = chat_factory("c5")
    number = await submitted_renewal(citizen)
    status, _ = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
                           materials={"old_id_card": "照片模糊，请重新拍摄"})
    assert status == 200
    await citizen.say("/hello")  # the citizen opens the chat again
    assert "需要补正" in citizen.text() and "照片模糊" in citizen.text()
    step = citizen.last()
    assert step["type"] == "material_step" and step["key"] == "old_id_card" and step["progress"]["total"] == 1
    await citizen.upload(PNG + b"clearer")
    assert "核对" in citizen.last()["title"]
    await citizen.tap("确认提交")
    assert "重新进入预审" in citizen.text() and number in citizen.text()
    view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    assert view["status"] == "submitted"
    assert view["events"][-1]["actor"] == "citizen:c5" and view["events"][-1]["from_status"] == "returned"
    await citizen.say("补正")
    assert "没有需要补正" in citizen.text()
    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 200


async def test_progress_reaches_the_citizen_once(client, chat_factory, tokens) -> None:
    citizen = chat_factory("c6")
    number = await submitted_renewal(citizen)
    await move(client, tokens["clerk"], number, to="pre_reviewed")
    await move(client, tokens["clerk"], number, to="accepted")
    await deliver(client)
    await citizen.say("/hello")
    news = citizen.replies[0]["text"]
    assert number in news and "预审通过" in news
    assert "待缴费 20.00 元" in citizen.text() and citizen.text().count("20.00 元") == 1  # once, with 去缴费
    assert "已提交" not in news  # the citizen saw the submission in the chat itself: not news
    await citizen.say("/hello")
    assert "新的办件进度" not in citizen.text()  # shown once
    await move(client, tokens["approver"], number, to="in_progress")
    await deliver(client)
    assert await new_messages(client, "c6") == [f"办件 {number} 进度：审批中。"]
    dead = await client.get("/api/v1/staff/outbox/dead", headers=auth(tokens["supervisor"]))
    assert dead.status == 200 and (await dead.json())["dead_letters"] == []
    assert (await client.get("/api/v1/staff/outbox/dead", headers=auth(tokens["clerk"]))).status == 403


async def test_citizen_withdraws_an_open_case(client, chat_factory, tokens) -> None:
    citizen = chat_factory("c7")
    number = await submitted_renewal(citizen)
    await citizen.say("撤回")
    await citizen.tap(number)
    assert "确定撤回" in citizen.text()
    await citizen.tap("不撤回")
    mine = await (await client.get(f"/api/v1/cases/{number}", params={"user": "c7"})).json()
    assert mine["status"] == "submitted"
    await citizen.say("撤回")
    await citizen.tap(number)
    await citizen.tap("确定撤回")
    assert "已撤回" in citizen.text()
    view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    assert view["status"] == "withdrawn" and view["events"][-1]["actor"] == "citizen:c7"
    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 409
    await citizen.say("撤回")
    assert "没有可以撤回" in citizen.text()
    await citizen.say(f"/withdraw_confirm {number}")  # a stale button does nothing
    assert "没有可以撤回" in citizen.text()


async def test_result_delivery_is_recorded_and_told_to_the_citizen(client, chat_factory, tokens) -> None:
    citizen = chat_factory("c8")
    number = await submitted_renewal(citizen)
    path = f"/api/v1/staff/cases/{number}/delivery"
    early = await client.post(path, json={"method": "window"}, headers=auth(tokens["clerk"]))
    assert early.status == 409
    for role, to in (("clerk", "pre_reviewed"), ("clerk", "accepted"), ("approver", "in_progress")):
        await move(client, tokens[role], number, to=to)
    await pay_fee(citizen, number)
    await move(client, tokens["approver"], number, to="completed")
    no_tracking = await client.post(path, json={"method": "mail"}, headers=auth(tokens["clerk"]))
    assert no_tracking.status == 422
    assert (await client.post(path, json={"method": "mail", "tracking": "SF1234567890"},
                              headers=auth(tokens["approver"]))).status == 403
    sent = await client.post(path, json={"method": "mail", "tracking_number": "SF1234567890"},
                             headers=auth(tokens["clerk"]))
    assert sent.status == 200
    await deliver(client)
    await citizen.say("/hello")
    assert "SF1234567890" in citizen.text() and "寄出" in citizen.text()
    view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    assert view["status"] == "completed" and view["events"][-1]["detail"]["tracking"] == "SF1234567890"
