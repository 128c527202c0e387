"""Fees with the embedded sandbox provider, end to end through HTTP: asked for at acceptance, paid in the chat,
notified asynchronously, refunded when the case is refused, closed when withdrawn, skipped for free items."""
from __future__ import annotations

import re

from tests.chat import PNG
from tests.e2e.casework import auth, deliver, move, pay_fee, residence_permit_until_materials, submitted_renewal
from tests.waiting import eventually


async def accepted_renewal(client, citizen, tokens) -> str:
    number = await submitted_renewal(citizen)
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    return number


async def fee_state(citizen, number: str) -> dict:
    return (await (await citizen.client.get(f"/api/v1/cases/{number}", params={"user": citizen.user})).json())["fee"]


async def test_fee_is_asked_at_acceptance_and_paid_in_the_chat(client, chat_factory, tokens) -> None:
    citizen = chat_factory("p1")
    await citizen.say("缴费")
    assert "没有需要缴纳" in citizen.text()
    number = await submitted_renewal(citizen)
    assert await fee_state(citizen, number) == {"amount": "20.00", "state": "unpaid"}
    await citizen.say("缴费")
    assert "没有需要缴纳" in citizen.text()  # nothing is due before the case is accepted
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    await deliver(client)
    opened = await citizen.say("/hello")
    assert f"（{number}）待缴费 20.00 元" in citizen.text() and citizen.text().count("20.00 元") == 1  # said once
    assert any(r["type"] == "choices" and r["options"][0]["value"] == f"/pay {number}" for r in opened)

    payment = await pay_fee(citizen, number)
    assert payment["amount"] == "20.00" and payment["provider"] == "sandbox"
    assert payment["request"]["out_trade_no"] == payment["out_trade_no"] == f"{number}P01"
    again = await client.post(f"/api/v1/payments/sandbox/{payment['out_trade_no']}/confirm", params={"user": "p1"})
    assert again.status == 409  # paying twice is refused
    await citizen.say("缴费")
    assert "没有需要缴纳" in citizen.text()
    await deliver(client)
    await citizen.say("/hello")
    assert f"办件 {number} 已收到缴费 20.00 元" in citizen.text()
    orders = await (await client.get(f"/api/v1/staff/cases/{number}/payments",
                                     headers=auth(tokens["approver"]))).json()
    assert [(o["status"], o["amount_fen"]) for o in orders["payments"]] == [("paid", 2000)]
    assert "client_params" not in orders["payments"][0] and "user" not in orders["payments"][0]
    other = await client.get(f"/api/v1/staff/cases/{number}/payments", headers=auth(tokens["other_clerk"]))
    assert other.status == 404


async def test_asking_again_reuses_the_order(client, chat_factory, tokens) -> None:
    citizen = chat_factory("p2")
    number = await accepted_renewal(client, citizen, tokens)
    first = next(r for r in await citizen.say("缴费") if r["type"] == "payment")
    second = next(r for r in await citizen.say(f"/pay {number}") if r["type"] == "payment")
    assert first["out_trade_no"] == second["out_trade_no"]
    assert first["request"] == second["request"]  # the prepay is still fresh: no new order at the provider


async def test_refused_after_payment_is_refunded(client, chat_factory, tokens) -> None:
    citizen = chat_factory("p3")
    number = await accepted_renewal(client, citizen, tokens)
    await pay_fee(citizen, number)
    status, _ = await move(client, tokens["approver"], number, to="refused", reason="申请人户籍不在本辖区")
    assert status == 200
    await deliver(client)  # the refusal's outbox event asks the provider for the refund
    refunded = await eventually(lambda: fee_state(citizen, number), lambda fee: fee["state"] == "refunded",
                                what=f"the refund of {number}")
    assert refunded == {"amount": "20.00", "state": "refunded"}
    await deliver(client)
    await citizen.say("/hello")
    assert "不予受理" in citizen.text() and "20.00 元已原路退回" in citizen.text()
    await deliver(client)  # redelivering the refusal refunds nothing twice
    orders = await (await client.get(f"/api/v1/staff/cases/{number}/payments",
                                     headers=auth(tokens["approver"]))).json()
    assert [(o["status"], o["refund_no"]) for o in orders["payments"]] == [("refunded", f"{number}P01R")]


async def test_withdrawn_before_paying_closes_the_order(client, chat_factory, tokens) -> None:
    citizen = chat_factory("p4")
    number = await accepted_renewal(client, citizen, tokens)
    payment = next(r for r in await citizen.say("缴费") if r["type"] == "payment")
    await citizen.say("撤回")
    await citizen.tap("居民身份证换领")
    await citizen.tap("确定撤回")
    await deliver(client)
    late = await client.post(f"/api/v1/payments/sandbox/{payment['out_trade_no']}/confirm", params={"user": "p4"})
    assert late.status == 409  # the order was closed: the payer can no longer pay it
    orders = await (await client.get(f"/api/v1/staff/cases/{number}/payments",
                                     headers=auth(tokens["clerk"]))).json()
    assert [o["status"] for o in orders["payments"]] == ["closed"]


async def test_free_item_needs_no_payment(client, chat_factory, tokens) -> None:
    citizen = chat_factory("p5")
    await residence_permit_until_materials(citizen, "李四", "德令哈市河西街道长江路2号")
    while citizen.last()["type"] == "material_step":
        await citizen.upload(PNG)
    await citizen.tap("确认提交")
    number = re.search(r"DLH\d{14}", citizen.text()).group(0)
    assert await fee_state(citizen, number) == {"amount": "0.00", "state": "free"}
    for role, to in (("clerk", "pre_reviewed"), ("clerk", "accepted"), ("approver", "in_progress"),
                     ("approver", "completed")):
        assert (await move(client, tokens[role], number, to=to))[0] == 200
    await deliver(client)
    await citizen.say("/hello")
    assert "需缴费" not in citizen.text()


async def test_notify_endpoint_refuses_everything_while_the_sandbox_pays(client) -> None:
    response = await client.post("/api/v1/payments/wechat/notify", data=b'{"id": "x"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status == 401 and (await response.json())["code"] == "FAIL"
