"""Health check and the H5 chat page."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.problems import problem
from handlers.routes import Route

STATIC = Path(__file__).parent / "static"


class PageHandlers:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # any database failure means "not healthy"
            return problem(503, "Database unavailable", "数据库暂时不可用。")
        return web.json_response({"status": "ok"})

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def favicon(self, request: web.Request) -> web.FileResponse:
        """Browsers ask for /favicon.ico whatever the page says: the page's icon, an SVG, a day in their cache."""
        return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml",
                                                                 "Cache-Control": "public, max-age=86400"})


def routes(pages: PageHandlers) -> list[Route]:
    """The page's static files are served by app.py beside these (a folder, not a route of the API)."""
    return [Route("GET", "/healthz", pages.healthz, "Liveness and database check", ok=(200, "ok"), problems=(503,)),
            Route("GET", "/", pages.index, "The H5 chat page", ok=(200, "text/html")),
            Route("GET", "/favicon.ico", pages.favicon, "The page's icon (SVG)", ok=(200, "image/svg+xml"))]
