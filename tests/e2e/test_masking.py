"""Names and addresses are masked like 身份证号 and phone numbers: in the citizen case API and in approver and
supervisor views; the window clerk sees them in full (audited as a full view)."""
from __future__ import annotations

from tests.e2e.casework import VALID_ID, auth, move, submitted_renewal

MASKED = {"applicant_name": "张*", "id_number": "110105********002X", "phone": "138****8000",
          "address": "德令哈市河西****"}


async def test_citizen_case_api_masks_names_and_addresses(client, chat_factory) -> None:
    number = await submitted_renewal(chat_factory("m1"))
    one = await (await client.get(f"/api/v1/cases/{number}", params={"user": "m1"})).json()
    listed = await (await client.get("/api/v1/cases", params={"user": "m1"})).json()
    for fields in (one["fields"], listed["cases"][0]["fields"]):
        assert {key: fields[key] for key in MASKED} == MASKED


async def test_approver_and_supervisor_see_names_and_addresses_masked(client, chat_factory, tokens) -> None:
    number = await submitted_renewal(chat_factory("m2"))
    for role in ("approver", "supervisor"):
        view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens[role]))).json()
        assert {key: view["fields"][key] for key in MASKED} == MASKED, role
    status, moved = await move(client, tokens["clerk"], number, to="pre_reviewed")
    assert status == 200 and moved["fields"]["id_number"] == VALID_ID and moved["fields"]["applicant_name"] == "张三"
    await move(client, tokens["clerk"], number, to="accepted")
    status, moved = await move(client, tokens["approver"], number, to="in_progress")
    assert status == 200 and {key: moved["fields"][key] for key in MASKED} == MASKED  # the move's answer too
