"""Errors say the right thing: a too large body, a wrong method, a query flag that is not true/false, a material
the case does not have; and the staff request bodies are documented with field names and examples."""
from __future__ import annotations

from handlers.staff import DeliveryRequest
from tests.e2e.casework import auth, move, submitted_renewal


async def test_a_too_large_body_is_called_too_large(client) -> None:
    huge = await client.post("/api/v1/chat/messages", data=b"x" * 100_000, headers={"Content-Type": "application/json"})
    assert huge.status == 413 and (await huge.json())["detail"] == "请求内容太大了，请缩小后再发。"


async def test_a_wrong_method_names_the_allowed_ones(client) -> None:
    response = await client.put("/api/v1/chat/messages", json={})
    assert response.status == 405 and "POST" in response.headers["Allow"]
    assert response.content_type == "application/problem+json"


async def test_query_flags_accept_only_true_or_false(client, tokens) -> None:
    headers = auth(tokens["clerk"])
    for path, name in (("/api/v1/staff/cases", "overdue"), ("/api/v1/staff/rectifications", "escalated")):
        wrong = await client.get(path, params={name: "yes"}, headers=headers)
        assert wrong.status == 422 and name in (await wrong.json())["detail"]
        assert (await client.get(path, params={name: "true"}, headers=headers)).status == 200


async def test_returning_an_unknown_material_is_a_422_naming_it(client, chat_factory, tokens) -> None:
    number = await submitted_renewal(chat_factory("e1"))
    status, body = await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
                              materials={"old_id_card": "照片模糊", "passport": "缺少"})
    assert status == 422 and "passport" in body["reason"] and "old_id_card" not in body["reason"]


def test_mail_delivery_takes_tracking_number_or_the_older_tracking() -> None:
    for key in ("tracking_number", "tracking"):
        assert DeliveryRequest.model_validate({"method": "mail", key: "SF1"}).tracking_number == "SF1"


async def test_staff_bodies_are_documented_with_examples_and_429_with_the_chat(client) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for model in ("MoveRequest", "DeliveryRequest", "PledgeVerificationRequest", "NoteRequest"):
        for name, field in schemas[model]["properties"].items():
            assert field.get("examples") and field.get("description"), f"{model}.{name}"
    assert "tracking_number" in schemas["DeliveryRequest"]["properties"]
    assert "429" in spec["paths"]["/api/v1/chat/messages"]["post"]["responses"]
