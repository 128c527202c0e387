"""The audit log records refused staff attempts (404 for scope, 403 for role) and the rectification steps, not
only successful reads and moves."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from storage import tables
from tests.e2e.casework import auth, bad_rating, completed_case, move, submitted_renewal


async def audit_rows(settings) -> list[dict]:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.audit_log).order_by(tables.audit_log.c.id))).mappings().all()
    await engine.dispose()
    return [dict(r) for r in rows]


async def test_refused_case_attempts_are_audited(client, chat_factory, tokens, settings) -> None:
    number = await submitted_renewal(chat_factory("a1"))
    assert (await move(client, tokens["other_clerk"], number, to="pre_reviewed"))[0] == 404
    assert (await move(client, tokens["approver"], number, to="pre_reviewed"))[0] == 403
    received = await client.post(f"/api/v1/staff/cases/{number}/materials/id_photo/received",
                                 headers=auth(tokens["supervisor"]))
    assert received.status == 403
    refused = [(r["detail"]["attempt"], r["detail"]["status"]) for r in await audit_rows(settings)
               if r["action"] == "refused" and r["case_number"] == number]
    assert refused == [("transition", 404), ("transition", 403), ("receive_material", 403)]


async def test_rectification_steps_and_refusals_are_audited(client, chat_factory, tokens, settings) -> None:
    citizen = chat_factory("a2")
    number = await completed_case(client, citizen, tokens)
    await bad_rating(citizen)
    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [ticket] = [t for t in tickets["rectifications"] if t["case_number"] == number]
    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    assert (await client.post(f"{path}/close", json={"text": "x"}, headers=auth(tokens["supervisor"]))).status == 403
    assert (await client.post(f"{path}/close", json={"text": "x"}, headers=auth(tokens["other_clerk"]))).status == 404
    assert (await client.post(f"{path}/callback", json={"text": "已回访"}, headers=auth(tokens["clerk"]))).status == 200
    assert (await client.post(f"{path}/close", json={"text": "已整改"}, headers=auth(tokens["clerk"]))).status == 200
    rows = [r for r in await audit_rows(settings) if r["detail"].get("ticket") == ticket["id"]]
    assert [(r["action"], r["detail"].get("attempt"), r["detail"].get("status")) for r in rows] == [
        ("refused", "rectification_close", 403), ("refused", "rectification_close", 404),
        ("rectification_callback", None, None), ("rectification_close", None, None)]
    assert rows[-1]["case_number"] == number
