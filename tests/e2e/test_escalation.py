"""督办 end to end: a rectification ticket whose callback or rectification deadline passes is escalated once to the
department's supervisors (staff notifications, escalated tickets), who may add a note; two instances sweeping at
the same time escalate once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from app import FEEDBACK, build_app
from tests.e2e.casework import auth, completed_case


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=timezone.utc)


async def bad_rating(client, citizen, tokens) -> dict:
    """A completed case rated 非常不满意 on 2026-11-27 (Friday): callback due 11-30, rectification due 12-18."""
    number = await completed_case(client, citizen, tokens)
    await citizen.say("评价")
    await citizen.tap("非常不满意")
    await citizen.tap("选好了")
    await citizen.say("排队太久")
    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    return next(t for t in tickets["rectifications"] if t["case_number"] == number)


async def notifications(client, token: str, after: int = 0) -> list[dict]:
    response = await client.get("/api/v1/staff/notifications", params={"after": after}, headers=auth(token))
    assert response.status == 200
    return (await response.json())["notifications"]


async def test_missed_deadlines_are_escalated_once_each_to_the_supervisors(client, chat_factory, tokens,
                                                                           clock) -> None:
    ticket = await bad_rating(client, chat_factory("e1"), tokens)
    assert (ticket["callback_due"], ticket["rectify_due"]) == ("2026-11-30", "2026-12-18") and not ticket["escalated"]
    sweep = client.app[FEEDBACK].escalate_overdue
    clock.now = at("2026-11-30")  # the callback's last day
    assert await sweep() == 0
    clock.now = at("2026-12-01")
    assert await sweep() == 1
    assert await sweep() == 0  # recorded once

    [notice] = await notifications(client, tokens["supervisor"])
    assert notice["text"].startswith(f"工单{ticket['id']}回访已超时") and notice["kind"] == "escalation.callback"
    assert notice["ticket_id"] == ticket["id"] and notice["case_number"] == ticket["case_number"]
    assert await notifications(client, tokens["clerk"]) == []  # addressed to the supervisors only
    assert await notifications(client, tokens["other_clerk"]) == []
    escalated = await (await client.get("/api/v1/staff/rectifications", params={"escalated": "true"},
                                        headers=auth(tokens["supervisor"]))).json()
    [seen] = escalated["rectifications"]
    assert seen["escalated"] and seen["overdue"] and seen["callback_escalated_at"].startswith("2026-12-01")
    assert seen["rectify_escalated_at"] is None

    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    assert (await client.post(f"{path}/supervision", json={"text": "x"}, headers=auth(tokens["clerk"]))).status == 403
    assert (await client.post("/api/v1/staff/rectifications/999/supervision", json={"text": "x"},
                              headers=auth(tokens["supervisor"]))).status == 404
    noted = await client.post(f"{path}/supervision", json={"text": "请今天内完成回访"},
                              headers=auth(tokens["supervisor"]))
    assert noted.status == 200 and (await noted.json())["supervision_note"] == "请今天内完成回访"
    await client.post(f"{path}/callback", json={"text": "已电话回访"}, headers=auth(tokens["clerk"]))
    clock.now = at("2026-12-18")
    assert await sweep() == 0  # called back (late), and the rectification is not due yet
    clock.now = at("2026-12-19")
    assert await sweep() == 1
    newest, oldest = await notifications(client, tokens["supervisor"])
    assert newest["kind"] == "escalation.rectify" and f"工单{ticket['id']}整改已超时" in newest["text"]
    assert [n["id"] for n in await notifications(client, tokens["supervisor"], after=oldest["id"])] == [newest["id"]]
    clerk_view = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [mine] = clerk_view["rectifications"]
    assert mine["supervision_note"] == "请今天内完成回访" and mine["rectify_escalated_at"].startswith("2026-12-19")
    await client.post(f"{path}/close", json={"text": "增设窗口"}, headers=auth(tokens["clerk"]))
    clock.now = at("2027-01-20")
    assert await sweep() == 0


async def test_a_callback_in_time_is_not_escalated(client, chat_factory, tokens, clock) -> None:
    ticket = await bad_rating(client, chat_factory("e2"), tokens)
    await client.post(f"/api/v1/staff/rectifications/{ticket['id']}/callback", json={"text": "已回访"},
                      headers=auth(tokens["clerk"]))
    clock.now = at("2026-12-01")
    assert await client.app[FEEDBACK].escalate_overdue() == 0
    assert await notifications(client, tokens["supervisor"]) == []
    listed = await (await client.get("/api/v1/staff/rectifications", params={"escalated": "true"},
                                     headers=auth(tokens["supervisor"]))).json()
    assert listed["rectifications"] == []


async def test_two_instances_sweeping_at_once_escalate_once(client, aiohttp_client, chat_factory, tokens, clock,
                                                            settings, content) -> None:
    await bad_rating(client, chat_factory("e3"), tokens)
    other = await aiohttp_client(build_app(settings, content, clock))  # a second instance on the same database
    clock.now = at("2026-12-21")  # both deadlines missed
    counts = await asyncio.gather(client.app[FEEDBACK].escalate_overdue(), other.app[FEEDBACK].escalate_overdue())
    assert sum(counts) == 2
    kinds = sorted(n["kind"] for n in await notifications(client, tokens["supervisor"]))
    assert kinds == ["escalation.callback", "escalation.rectify"]
