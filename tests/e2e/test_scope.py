"""Scope of staff work beyond the case itself: rectification tickets follow their case's department and level; on
a 一件事 bundle each department sees and acts on its own items' part, the lead department on the whole case."""
from __future__ import annotations

import pytest

from app import SERVICES
from bot.catalog.models import Level
from bot.lifecycle import Role
from tests.e2e.casework import VALID_ID, auth, bad_rating, completed_case, move, submitted_newborn

GONGAN, WEIJIAN = "德令哈市公安局", "德令哈市卫生健康委员会"


@pytest.fixture
async def more_tokens(client) -> dict[str, str]:
    """A city-level 公安局 clerk, and city-level 卫健委 (lead of 新生儿出生一件事) clerk and approver."""
    directory = client.app[SERVICES].stores.staff
    people = {"city_clerk": (Role.clerk, GONGAN, Level.city), "lead_clerk": (Role.clerk, WEIJIAN, Level.city),
              "lead_approver": (Role.approver, WEIJIAN, Level.city)}
    return {key: (await directory.add(key, role, department, level))[1]
            for key, (role, department, level) in people.items()}


async def test_a_ticket_is_out_of_reach_where_its_case_is(client, chat_factory, tokens, more_tokens) -> None:
    citizen = chat_factory("s1")
    number = await completed_case(client, citizen, tokens)  # a township 公安局 case
    await bad_rating(citizen)
    city = auth(more_tokens["city_clerk"])
    assert (await client.get(f"/api/v1/staff/cases/{number}", headers=city)).status == 404
    listed = await (await client.get("/api/v1/staff/rectifications", headers=city)).json()
    assert all(t["case_number"] != number for t in listed["rectifications"])
    township = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [ticket] = [t for t in township["rectifications"] if t["case_number"] == number]
    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    for action in ("callback", "close"):
        refused = await client.post(f"{path}/{action}", json={"text": "已处理"}, headers=city)
        assert refused.status == 404
    assert (await client.post(f"{path}/callback", json={"text": "已回访"}, headers=auth(tokens["clerk"]))).status == 200


async def test_a_bundle_department_sees_its_own_part_masked(client, chat_factory, tokens, more_tokens) -> None:
    number = await submitted_newborn(chat_factory("s2"))
    gongan = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    assert gongan["fields"]["id_number"] == "110105********002X" and gongan["fields"]["phone"] == "138****8000"
    keys = {m["key"] for m in gongan["materials"]}
    assert "household_register" in keys and "newborn_vaccination_record" not in keys  # 卫健委's own material
    assert gongan["moves"] == ["returned"]  # the console offers 公安局 only the return of its own part
    lead = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(more_tokens["lead_clerk"]))).json()
    assert lead["fields"]["id_number"] == VALID_ID
    assert "newborn_vaccination_record" in {m["key"] for m in lead["materials"]}
    assert lead["moves"] == ["returned", "pre_reviewed"]


async def test_a_bundle_department_returns_only_its_own_materials(client, chat_factory, tokens, more_tokens) -> None:
    number = await submitted_newborn(chat_factory("s3"))
    status, body = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
                              materials={"newborn_vaccination_record": "看不清"})
    assert status == 403 and "newborn_vaccination_record" in body["reason"]
    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 403  # the lead department's move
    status, body = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
                              materials={"household_register": "照片模糊"})
    assert status == 200 and body["status"] == "returned" and body["fields"]["id_number"] == "110105********002X"
