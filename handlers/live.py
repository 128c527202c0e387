"""The live channels (WebSocket): a citizen's page hears staff answers and progress messages as they happen; a
staff console hears its department's queue and chats, and being connected is what makes its staff member online.

Browsers cannot set headers on a WebSocket, and a token in the URL would be logged: the first frame the client
sends is `{"token": "..."}` (citizens without login: `{"user": "..."}` unless require_login). A browser's Origin
must be the app's own or one of handoff.allowed_origins. The server answers `{"kind": "ready"}`, then sends events
as JSON frames."""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from aiohttp import WSMsgType, web

from bot.accounts import Sessions
from bot.handoff.live import LiveChannel, Presence, citizen_topic, department_topic, staff_topic
from bot.ports import StaffDirectory
from handlers.auth import USER_PATTERN
from handlers.problems import problem
from handlers.routes import Route

HELLO_SECONDS = 10      # the first frame (credentials) must come within this
BEAT_SECONDS = 10       # a console's presence is renewed this often (and lasts three times as long)
_USER = re.compile(USER_PATTERN)


class LiveHandlers:
    def __init__(self, live: LiveChannel, presence: Presence, sessions: Sessions, require_login: bool,
                 directory: StaffDirectory, allowed_origins: list[str]) -> None:
        self._live, self._presence, self._sessions = live, presence, sessions
        self._require_login, self._directory, self._origins = require_login, directory, set(allowed_origins)

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser (the mini-program, a test client): the token decides
            return True
        own = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
        return origin in own or origin in self._origins

    async def _open(self, request: web.Request) -> tuple[web.WebSocketResponse, dict[str, Any]] | web.Response:
        if not self._origin_ok(request):
            return problem(403, "Forbidden origin", "不允许从这个网页连接。")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        try:
            frame = await ws.receive(timeout=HELLO_SECONDS)
            hello = json.loads(frame.data) if frame.type == WSMsgType.TEXT else {}
        except (asyncio.TimeoutError, ValueError):
            hello = {}
        return ws, hello if isinstance(hello, dict) else {}

    async def citizen(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        ws, hello = opened
        user = await self._citizen_of(hello)
        if user is None:
            await ws.close(code=4401, message=b"unauthorized")
            return ws
        async with self._live.subscribe([citizen_topic(user)]) as events:
            await ws.send_json({"kind": "ready"})
            await _relay(ws, events)
        return ws

    async def staff(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        ws, hello = opened
        token = hello.get("token")
        staff = await self._directory.by_token(token) if isinstance(token, str) and token else None
        if staff is None:
            await ws.close(code=4401, message=b"unauthorized")
            return ws
        beating = asyncio.get_running_loop().create_task(self._beat(staff.id, staff.department))
        try:
            async with self._live.subscribe([department_topic(staff.department), staff_topic(staff.id)]) as events:
                await self._presence.beat(staff.id, staff.department, BEAT_SECONDS * 3)
                await ws.send_json({"kind": "ready", "staff": staff.id, "name": staff.name})
                await _relay(ws, events)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await self._presence.leave(staff.id, staff.department)
        return ws

    async def _beat(self, staff_id: int, department: str) -> None:
        while True:
            await self._presence.beat(staff_id, department, BEAT_SECONDS * 3)
            await asyncio.sleep(BEAT_SECONDS)

    async def _citizen_of(self, hello: dict[str, Any]) -> str | None:
        token, user = hello.get("token"), hello.get("user")
        if isinstance(token, str) and token:
            claims = await self._sessions.authenticate(token)
            return claims.user if claims is not None else None
        if self._require_login or not isinstance(user, str):
            return None
        return user if _USER.fullmatch(user) else None


async def _relay(ws: web.WebSocketResponse, events: Any) -> None:
    """Send each event until the client goes away (its frames are read only to notice that)."""
    async def reader() -> None:
        async for _ in ws:
            pass

    reading = asyncio.get_running_loop().create_task(reader())
    try:
        while not reading.done():
            sending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({sending, reading}, return_when=asyncio.FIRST_COMPLETED)
            if sending not in done:
                sending.cancel()
                break
            await ws.send_json(sending.result())
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading


def routes(live: LiveHandlers) -> list[Route]:
    upgrade = (101, "WebSocket: send {token} (or {user}) first, then read JSON events")
    return [Route("GET", "/api/v1/chat/live", live.citizen, "Live channel of a citizen's page: staff answers, the "
                  "bot taking the chat back, progress messages", ok=upgrade, problems=(403,)),
            Route("GET", "/api/v1/staff/live", live.staff, "Live channel of a staff console: the department's "
                  "queue and chats; while open, its staff member is online", ok=upgrade, problems=(403,))]
