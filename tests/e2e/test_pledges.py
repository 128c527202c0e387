"""告知承诺 end to end: a pledge given in the chat, verified by staff later, flagged when false, told to the citizen,
and a false one letting the approver refuse the open case (never automatically)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from storage import tables
from tests.e2e.casework import auth, deliver, move, new_messages, residence_permit_until_materials


async def pledged_residence_permit(chat) -> str:
    """A 居住证申领 (公安局, township) with the residence proof replaced by a pledge; returns the case number."""
    await residence_permit_until_materials(chat)
    await chat.tap("电子证照")
    await chat.tap("告知承诺")
    await chat.tap("我承诺")
    await chat.tap("跳过")
    await chat.tap("跳过")
    await chat.tap("确认提交")
    return re.search(r"DLH\d{14}", chat.text()).group(0)


async def verify(client, token: str, number: str, key: str, **body) -> tuple[int, dict]:
    response = await client.post(f"/api/v1/staff/cases/{number}/pledges/{key}/verification", json=body,
                                 headers=auth(token))
    return response.status, await response.json()


async def staff_view(client, token: str, number: str) -> dict:
    return await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(token))).json()


async def queue_row(client, token: str, number: str) -> dict:
    queue = await (await client.get("/api/v1/staff/cases", headers=auth(token))).json()
    return next(c for c in queue["cases"] if c["number"] == number)


async def told(client, user: str) -> str:
    """The citizen's new progress messages, once everything due is delivered."""
    await deliver(client)
    return "".join(await new_messages(client, user))


async def test_false_pledge_is_flagged_told_and_lets_the_approver_refuse(client, chat_factory, tokens,
                                                                         settings) -> None:
    citizen = chat_factory("p1")
    number = await pledged_residence_permit(citizen)
    view = await staff_view(client, tokens["approver"], number)
    [pledge] = view["pledges"]
    assert pledge["key"] == "residence_proof" and "居住满半年" in pledge["pledge"] and pledge["verification"] is None
    assert view["pledge_false"] is False and not (await queue_row(client, tokens["clerk"], number))["pledge_false"]
    assert (await move(client, tokens["approver"], number, to="refused", reason="x"))[0] == 409  # not yet

    assert (await verify(client, tokens["supervisor"], number, "residence_proof", outcome="false"))[0] == 403
    assert (await verify(client, tokens["other_clerk"], number, "residence_proof", outcome="false"))[0] == 404
    assert (await verify(client, tokens["clerk"], number, "id_card", outcome="false"))[0] == 409  # an e-licence
    assert (await verify(client, tokens["clerk"], number, "residence_proof", outcome="maybe"))[0] == 422
    status, body = await verify(client, tokens["clerk"], number, "residence_proof", outcome="false",
                                note="社区核实：申请人未在该地址居住")
    assert status == 200 and body["key"] == "residence_proof"
    assert body["verification"]["outcome"] == "false" and body["verification"]["by"].startswith("staff:")

    view = await staff_view(client, tokens["clerk"], number)
    assert view["status"] == "submitted" and view["pledge_false"] is True
    assert view["pledges"][0]["verification"]["note"] == "社区核实：申请人未在该地址居住"
    event = view["events"][-1]
    assert (event["from_status"], event["to_status"]) == ("submitted", "submitted")
    assert event["detail"] == {"pledge": "residence_proof", "outcome": "false", "note": "社区核实：申请人未在该地址居住"}
    assert (await queue_row(client, tokens["approver"], number))["pledge_false"] is True
    assert "承诺与实际情况不符" in await told(client, "p1")

    assert (await move(client, tokens["clerk"], number, to="refused"))[0] == 403  # the approver's decision
    status, body = await move(client, tokens["approver"], number, to="refused")
    assert status == 200 and body["status"] == "refused"
    refusal = (await staff_view(client, tokens["clerk"], number))["events"][-1]
    assert refusal["reason"].startswith("告知承诺经核查不实") and refusal["detail"]["false_pledges"] == ["residence_proof"]
    news = await told(client, "p1")
    assert "不予受理" in news and "告知承诺经核查不实" in news

    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        audited = (await conn.execute(sa.select(tables.audit_log.c.detail).where(
            tables.audit_log.c.case_number == number, tables.audit_log.c.action == "verify_pledge"))).scalars().all()
    await engine.dispose()
    assert audited == [{"material": "residence_proof", "outcome": "false", "recorded": True}]


async def test_confirmed_pledge_changes_nothing_but_is_told_and_later_checks_stay_possible(
        client, chat_factory, tokens) -> None:
    citizen = chat_factory("p2")
    number = await pledged_residence_permit(citizen)
    status, _ = await verify(client, tokens["approver"], number, "residence_proof", outcome="confirmed")
    assert status == 200
    assert "承诺已核查属实" in await told(client, "p2")
    view = await staff_view(client, tokens["clerk"], number)
    assert view["pledges"][0]["verification"]["outcome"] == "confirmed" and view["pledge_false"] is False
    assert (await move(client, tokens["approver"], number, to="refused", reason="x"))[0] == 409
    for role, to in (("clerk", "pre_reviewed"), ("clerk", "accepted"), ("approver", "in_progress"),
                     ("approver", "completed")):
        assert (await move(client, tokens[role], number, to=to))[0] == 200
    # 事后核查: a pledge can still be found false after the case is finished; nothing can be refused any more.
    assert (await verify(client, tokens["clerk"], number, "residence_proof", outcome="false"))[0] == 200
    view = await staff_view(client, tokens["clerk"], number)
    assert view["status"] == "completed" and view["pledge_false"] is True
    assert (await move(client, tokens["approver"], number, to="refused"))[0] == 409
