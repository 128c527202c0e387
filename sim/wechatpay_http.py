"""The WeChat Pay v3 API's wire conventions, as the simulator answers: errors as {"code", "message"} with their
HTTP status, compact JSON bodies, and request fields checked the way WeChat checks them."""
from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An error answer of the v3 API: its HTTP status, WeChat's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(status: int, data: Mapping[str, Any]) -> web.Response:
    """A compact JSON answer."""
    return web.Response(status=status, content_type="application/json",
                        body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def error(status: int, code: str, message: str) -> web.Response:
    """An error answer in WeChat's shape."""
    return json_response(status, {"code": code, "message": message})


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or 400 PARAM_ERROR."""
    try:
        data = json.loads(await request.read())
    except ValueError as exc:
        raise ApiError(400, "PARAM_ERROR", "请求体不是合法的JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "PARAM_ERROR", "请求体不是JSON对象")
    return data


def field(data: Mapping[str, Any], *path: str, kind: type) -> Any:
    """data[path…] when present, non-empty and of type kind, else 400 PARAM_ERROR naming the field."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise ApiError(400, "PARAM_ERROR", f"输入源“/body/{'/'.join(path)}”校验失败，此字段为必填项或格式错误")
    return value


def digits(count: int) -> str:
    """`count` random decimal digits (transaction and refund ids)."""
    return "".join(secrets.choice(string.digits) for _ in range(count))
