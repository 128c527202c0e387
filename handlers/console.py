"""The staff console (/staff/): its page, and who is signed in (GET /api/v1/staff/me). The console's scripts and
styles are served from handlers/static/staff by app.py beside these routes (a folder, not a route of the API)."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.staff import Staff
from handlers.routes import Route
from handlers.staff_auth import StaffRoutes

STAFF_STATIC = Path(__file__).parent / "static" / "staff"
# The token lives in sessionStorage, never in a URL or a cookie; the security headers (the page runs only its own
# scripts, no other site frames it or learns its address) are the app-wide ones of handlers/security_headers.py.
PAGE_HEADERS = {"Cache-Control": "no-cache"}


class ConsoleHandlers:
    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STAFF_STATIC / "index.html", headers=PAGE_HEADERS)

    async def to_index(self, request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/staff/")

    async def me(self, request: web.Request, staff: Staff) -> web.Response:
        """The signed-in staff member: name, role, department and level."""
        return web.json_response(staff.model_dump(mode="json"))


def routes(console: ConsoleHandlers, guard: StaffRoutes) -> list[Route]:
    return [Route("GET", "/staff/", console.index, "The staff console page", ok=(200, "text/html")),
            Route("GET", "/staff", console.to_index, "The staff console page, at /staff/", ok=(308, "redirect")),
            guard.route("GET", "/api/v1/staff/me", console.me,
                        "The signed-in staff member (id, name, role, department, level)", ok=(200, "staff"))]
