"""Only the citizen who owes a fee can confirm its sandbox order: order numbers are guessable (case + P01)."""
from __future__ import annotations

from tests.e2e.casework import move, pay_fee, submitted_renewal


async def test_someone_else_cannot_pay_a_guessed_order(client, chat_factory, tokens) -> None:
    citizen = chat_factory("owner1")
    number = await submitted_renewal(citizen)
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    payment = next(r for r in await citizen.say("缴费") if r["type"] == "payment")
    confirm = f"/api/v1/payments/sandbox/{payment['out_trade_no']}/confirm"
    for params in ({"user": "intruder"}, {}):
        refused = await client.post(confirm, params=params)
        assert refused.status == 404 and (await refused.json())["detail"] == "没有找到这笔订单。"
    state = (await (await client.get(f"/api/v1/cases/{number}", params={"user": "owner1"})).json())["fee"]["state"]
    assert state == "unpaid"
    await pay_fee(citizen, number)  # the owner still can
