"""Health check and the H5 chat page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.problems import dumps, problem

STATIC = Path(__file__).parent / "static"


class PageHandlers:
    def __init__(self, engine: AsyncEngine, openapi: dict[str, Any]) -> None:
        self._engine = engine
        self._openapi = openapi

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # any database failure means "not healthy"
            return problem(503, "Database unavailable", "数据库暂时不可用。")
        return web.json_response({"status": "ok"})

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self._openapi, dumps=dumps)
