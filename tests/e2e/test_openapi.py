"""The OpenAPI document describes exactly the routes the app serves (both ways), with the real enums."""
from __future__ import annotations

import pytest
from aiohttp import web

from app import build_app
from bot.lifecycle import CaseStatus, DeliveryMethod

APPID, SECRET, TOKEN = "wx0000000000000001", "secret", "token"
ALWAYS = {("POST", "/api/v1/chat/messages"), ("GET", "/api/v1/openapi.json"), ("GET", "/healthz"),
          ("POST", "/api/v1/payments/wechat/notify"), ("GET", "/api/v1/staff/cases")}
WECHAT_ONLY = {("GET", "/wechat/callback"), ("POST", "/wechat/callback"), ("POST", "/api/v1/auth/wechat/login"),
               ("POST", "/api/v1/wechat/subscriptions")}


def served(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route; aiohttp's automatic HEAD of a GET and the static folder are not API routes."""
    routes = set()
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource) or route.resource is None:
            continue
        if route.method == "HEAD":
            continue
        routes.add((route.method, route.resource.canonical))
    return routes


def documented(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}


@pytest.mark.parametrize("wechat", [False, True], ids=["embedded-defaults", "wechat-configured"])
async def test_document_names_exactly_the_served_routes(aiohttp_client, settings, content, clock, wechat):
    if wechat:
        settings = settings.model_copy(update={"wechat_appid": APPID, "wechat_secret": SECRET, "wechat_token": TOKEN})
    client = await aiohttp_client(build_app(settings, content, clock))
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    spec = await response.json()
    routes = served(client.app)
    assert routes - documented(spec) == set(), "served but not documented"
    assert documented(spec) - routes == set(), "documented but not served"
    assert ALWAYS <= routes and (WECHAT_ONLY <= routes) is wechat
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            named = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert named == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path


async def test_request_models_use_the_real_enums(client):
    spec = await (await client.get("/api/v1/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    move = spec["paths"]["/api/v1/staff/cases/{number}/transitions"]["post"]["requestBody"]
    assert move["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MoveRequest"}
    assert schemas["CaseStatus"]["enum"] == [s.value for s in CaseStatus]
    assert schemas["DeliveryMethod"]["enum"] == [m.value for m in DeliveryMethod]
    assert set(schemas) >= {"ChatRequest", "ChatResponse", "DeliveryRequest", "PledgeVerificationRequest",
                            "NoteRequest", "Problem"}


async def test_a_value_outside_an_enum_is_a_422_problem_in_chinese(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['clerk']}"}
    for path, body in [("/api/v1/staff/cases/DLH20261127000001/delivery", {"method": "pigeon"}),
                       ("/api/v1/staff/cases/DLH20261127000001/transitions", {"to": "teleported"})]:
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 422 and response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["detail"] == "请求内容不完整或格式不对。" and problem["errors"][0]["field"] in body
