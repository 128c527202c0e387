"""RFC 9457 problem details for every API error, with a Chinese `detail` a client may show."""
from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from bot.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(obj: object) -> str:
    """JSON with Chinese left readable."""
    return json.dumps(obj, ensure_ascii=False)


def problem(status: int, title: str, detail: str, **extra: object) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return web.json_response(body, status=status, content_type="application/problem+json",
                             dumps=dumps)


def validation_problem(exc: ValidationError) -> web.Response:
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
    return problem(422, "Invalid request", "请求内容不完整或格式不对。", errors=errors)


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter: true or false (absent: false); anything else is a 422 problem."""
    value = request.query.get(name, "false")
    if value not in ("true", "false"):
        body = dumps({"type": "about:blank", "title": "Invalid request", "status": 422,
                      "detail": f"{name} 只能是 true 或 false。"})
        raise web.HTTPUnprocessableEntity(text=body, content_type="application/problem+json")
    return value == "true"


_INT64_MAX = 2**63 - 1


def stored_int(text: str) -> int | None:
    """A non-negative id or cursor as the database stores it: ASCII digits within 64 bits, else None."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if value <= _INT64_MAX else None


_HTTP_DETAIL = {413: "请求内容太大了，请缩小后再发。", 405: "这个地址不支持这种请求方法。"}

_DOMAIN_STATUS: tuple[tuple[type[DomainError], int, str], ...] = (
    (NotFound, 404, "Not found"), (Forbidden, 403, "Forbidden"), (Conflict, 409, "Conflict"),
    (Invalid, 422, "Invalid request"))


def domain_problem(exc: DomainError) -> web.Response:
    """The one mapping of domain refusals to problem details: NotFound 404, Forbidden 403, Conflict 409,
    Invalid 422."""
    status, title = next(((s, t) for kind, s, t in _DOMAIN_STATUS if isinstance(exc, kind)), (409, "Conflict"))
    extra = {"reason": exc.reason} if exc.reason is not None else {}
    return problem(status, title, exc.detail, **extra)


def problems_middleware(log: logging.Logger) -> Middleware:
    """Turn HTTP errors, domain refusals and crashes into problem details; never leak a traceback to clients."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.content_type == "application/problem+json" or exc.status < 400:
                raise
            response = problem(exc.status, exc.reason, _HTTP_DETAIL.get(exc.status, "请求的地址或方法不对。"))
            if "Allow" in exc.headers:  # 405 names the methods the address accepts
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except DomainError as exc:
            return domain_problem(exc)
        except Exception:  # a ValidationError here is ours, not the client's: request bodies are checked by handlers
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem(503, "Temporarily unavailable", "系统有点忙，请稍后再试，您已填写的内容都保存着。")

    return middleware
