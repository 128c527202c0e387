"""The staff console (/staff/): its page, and who is signed in (GET /api/v1/staff/me). The console's scripts and
styles are served from handlers/static/staff by app.py beside these routes (a folder, not a route of the API)."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.staff import Staff
from handlers.routes import Route
from handlers.staff_auth import StaffRoutes

STAFF_STATIC = Path(__file__).parent / "static" / "staff"
# The page runs only its own scripts and talks only to this app; the token lives in sessionStorage, never in a URL
# or a cookie, and no other site may frame the page or learn its address.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                                           "frame-src blob:; frame-ancestors 'none'; base-uri 'none'; "
                                           "form-action 'self'",
                "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


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
