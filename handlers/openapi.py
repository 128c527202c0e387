"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, generated from the route table and its pydantic models."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from handlers.problems import dumps
from handlers.routes import Param, Route

PATH = "/api/v1/openapi.json"
_REF = "#/components/schemas/{model}"
_PROBLEM = {"description": "Problem details (RFC 9457); `detail` is Chinese text a client may show",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_PROBLEM_SCHEMA = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}}, "required": ["title", "status", "detail"]}
_INFO = {"title": "zhengwu-bot API", "version": "1.0.0",
         "description": "德令哈市政务服务对话机器人。Citizen APIs take the user from the session token "
                        "(`Authorization: Bearer`, see /api/v1/auth/wechat/login); without one, `user` is "
                        "trusted unless the server runs with require_login."}
_SECURITY = {"bearer": {"type": "http", "scheme": "bearer", "description": "token from `python -m bot add-staff`"},
             "session": {"type": "http", "scheme": "bearer", "description": "session token from WeChat login"}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _parameters(route: Route) -> list[dict[str, Any]]:
    listed = {p.name for p in route.params}
    implicit = [Param(name, where="path") for name in re.findall(r"{(\w+)}", route.path) if name not in listed]
    return [{"name": p.name, "in": p.where, "required": p.required or p.where == "path", "schema": p.schema(),
             **({"description": p.description} if p.description else {})}
            for p in (*implicit, *route.params)]


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary}
    if route.security:
        operation["security"] = [{route.security: []}]
    if parameters := _parameters(route):
        operation["parameters"] = parameters
    if route.request is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(route.request)}, **route.other_content}}
    elif route.request_body is not None:
        operation["requestBody"] = dict(route.request_body)
    status, description = route.ok
    ok: dict[str, Any] = {"description": description}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(route.response)}}
    operation["responses"] = {str(status): ok, **{str(s): _PROBLEM for s in route.problems}, **route.responses}
    return operation


def openapi_document(routes: Sequence[Route]) -> dict[str, Any]:
    """The document of exactly these routes, with the JSON schemas of their request and response models."""
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for route in routes:
        if route.request is not None:
            models[(route.request, "validation")] = None
        if route.response is not None:
            models[(route.response, "serialization")] = None
    _, schemas = models_json_schema(list(models), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {"openapi": "3.1.0", "info": _INFO, "paths": paths,
            "components": {"schemas": {**schemas.get("$defs", {}), "Problem": _PROBLEM_SCHEMA},
                           "securitySchemes": _SECURITY}}


class OpenApiHandler:
    """Serves the document of the app's routes, this one included; built once at start-up."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._document = openapi_document([*routes, *self.routes()])

    def routes(self) -> list[Route]:
        return [Route("GET", PATH, self.serve, "This document")]

    async def serve(self, request: web.Request) -> web.Response:
        return web.json_response(self._document, dumps=dumps)
