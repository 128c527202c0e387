"""Operations: the request middleware (request id, request metrics), GET /metrics and GET /readyz."""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import os
import re
from collections.abc import Awaitable, Callable, Mapping

import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis, RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.content_holder import ContentHolder

from handlers.problems import Handler, problem
from handlers.routes import Route
from observability.logs import REQUEST_ID
from observability.metrics import Metrics

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # anything else from a client is replaced, never logged
CHECK_SECONDS = 2.0
ReadinessCheck = Callable[[], Awaitable[bool]]


def route_of(request: web.Request) -> str:
    """The matched route's pattern (/api/v1/cases/{number}), never the raw path: bounded label values."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_middleware(metrics: Metrics) -> Middleware:
    """Give each request an id (a sane incoming X-Request-Id, else a new one) for its log lines and its
    response's X-Request-Id header, and count it by route pattern, method and final status. New ids are this
    process's random prefix and a counter: unique across instances without a system call per request."""
    process, numbers = os.urandom(6).hex(), itertools.count(1)
    count = metrics.request_done

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else f"{process}-{next(numbers):x}"
        REQUEST_ID.set(request_id)  # left set: aiohttp writes the access log line after this returns
        status = 500
        try:
            response = await handler(request)
            status = response.status
        except web.HTTPException as exc:
            status = exc.status
            exc.headers["X-Request-Id"] = request_id
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away first (nginx's number for it)
            raise
        finally:
            count(route_of(request), request.method, str(status))
        response.headers["X-Request-Id"] = request_id
        return response

    return middleware


def readiness(db: AsyncEngine, redis: Redis | RedisCluster | None,
              content: ContentHolder) -> dict[str, ReadinessCheck]:
    """The checks of /readyz: the database answers, Redis answers (when configured), the catalog is loaded."""
    async def database() -> bool:
        async with db.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True

    async def loaded() -> bool:
        return bool(content.current.catalog.items)

    checks: dict[str, ReadinessCheck] = {"database": database, "content": loaded}
    if redis is not None:
        checks["redis"] = lambda: redis.ping()
    return checks


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


class OpsHandlers:
    """`token` empty: /metrics answers loopback clients only; else it needs `Authorization: Bearer <token>`."""

    def __init__(self, metrics: Metrics, checks: Mapping[str, ReadinessCheck], token: str) -> None:
        self._metrics, self._checks, self._token = metrics, checks, token

    async def metrics(self, request: web.Request) -> web.Response:
        if self._token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(given.encode(), self._token.encode()):
                return problem(401, "Unauthorized", "需要访问令牌。")
        elif not _loopback(request):
            return problem(403, "Forbidden", "只允许本机访问；远程抓取请配置 metrics_token。")
        body = await self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready to serve: every dependency answers within CHECK_SECONDS."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._check(self._checks[n]) for n in names))
        checks = {name: "ok" if ok else "failed" for name, ok in zip(names, results)}
        if all(results):
            return web.json_response({"status": "ready", "checks": checks})
        return problem(503, "Not ready", "服务暂时不可用，请稍后再试。", checks=checks)

    @staticmethod
    async def _check(check: ReadinessCheck) -> bool:
        try:
            return await asyncio.wait_for(check(), CHECK_SECONDS)
        except Exception:  # unreachable, timed out, refused: all mean "not ready"
            return False


_METRICS_OK = {"200": {"description": "Prometheus text format (version 0.0.4)",
                       "content": {"text/plain": {"schema": {"type": "string"}}}}}


def routes(ops: OpsHandlers) -> list[Route]:
    return [Route("GET", "/readyz", ops.readyz, "Readiness: database, Redis (when configured), content loaded",
                  ok=(200, "ready"), problems=(503,)),
            Route("GET", "/metrics", ops.metrics, "Prometheus metrics (loopback, or Bearer metrics_token)",
                  ok=(200, "Prometheus text format"), problems=(401, 403), responses=_METRICS_OK)]
