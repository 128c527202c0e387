"""Bearer-token authentication of staff routes, in one place: 401 without a valid token, 429 (with Retry-After)
when one staff member calls more often than `staff_rate_limit`. (403 when the role may not do what it asked is
bot.errors.Forbidden, mapped by handlers/problems.py.)"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from aiohttp import web
from pydantic import BaseModel

from bot.lifecycle import Role
from bot.ports import AuditLog, StaffDirectory
from bot.staff import Staff
from handlers.cases import ReadLimiter
from handlers.problems import problem
from handlers.routes import Param, Route

StaffHandler = Callable[[web.Request, Staff], Awaitable[web.Response]]


class StaffRoutes:
    """With `roles`, a staff member of another role is refused (403, audited as `refused`) before the handler."""

    def __init__(self, directory: StaffDirectory, calls: ReadLimiter, roles: frozenset[Role] | None = None,
                 audit: AuditLog | None = None) -> None:
        self._directory, self._calls, self._roles, self._audit = directory, calls, roles, audit

    def __call__(self, handler: StaffHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """An aiohttp handler that authenticates, then calls `handler(request, staff)`."""

        async def route(request: web.Request) -> web.Response:
            header = request.headers.get("Authorization", "")
            staff = await self._directory.by_token(header.removeprefix("Bearer ").strip()) \
                if header.startswith("Bearer ") else None
            if staff is None:
                return problem(401, "Unauthorized", "请先登录。")
            if wait := await self._calls.wait(str(staff.id)):
                response = problem(429, "Too many requests", "操作太频繁了，请稍等几秒再试。")
                response.headers["Retry-After"] = str(wait)
                return response
            if self._roles is not None and staff.role not in self._roles:
                if self._audit is not None:
                    await self._audit.record(staff, "refused", None, {"attempt": request.path, "status": 403})
                return problem(403, "Forbidden", "您的岗位不能执行这个操作。")
            return await handler(request, staff)

        return route

    def route(self, method: str, path: str, handler: StaffHandler, summary: str, *, ok: tuple[int, str],
              request: type[BaseModel] | None = None, params: tuple[Param, ...] = (),
              problems: tuple[int, ...] = ()) -> Route:
        """A staff route: authenticated and limited as above, documented with the bearer scheme, 401, 403, 429."""
        return Route(method, path, self(handler), summary, request=request, ok=ok, params=params, security="bearer",
                     problems=tuple(sorted({401, 403, 429, *problems})))
