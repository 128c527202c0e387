"""POST /api/v1/chat/messages: JSON text/choice messages and multipart uploads."""
from __future__ import annotations

from typing import Callable

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, Field, ValidationError

from bot.content import Content
from bot.dialogue.engine import Engine, Inbound, TryAgain
from bot.dialogue.replies import response_json
from bot.ports import TooManyMessages
from bot.uploads import Upload
from handlers.auth import USER_PATTERN, RequestAuth
from handlers.problems import problem, validation_problem


class ChatRequest(BaseModel):
    """A text message or a tapped option's value. `user` is needed without a session token and ignored with one."""

    user: str | None = Field(default=None, pattern=USER_PATTERN)
    text: str = Field(min_length=1, max_length=500)


class ChatHandlers:
    def __init__(self, engine: Engine, content: Callable[[], Content], max_upload_bytes: int,
                 auth: RequestAuth) -> None:
        self._engine, self._content = engine, content
        self._max = max_upload_bytes
        self._auth = auth

    async def post_message(self, request: web.Request) -> web.Response:
        if request.content_type.startswith("multipart/"):
            parsed = await self._read_upload(request)
            if isinstance(parsed, web.Response):
                return parsed
            claimed, inbound = parsed
        else:
            try:
                body = ChatRequest.model_validate_json(await request.read())
            except ValidationError as exc:
                return validation_problem(exc)
            claimed, inbound = body.user, Inbound(text=body.text)
        user = await self._auth.user(request, claimed)
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        try:
            replies = await self._engine.handle(user, inbound)
        except TooManyMessages:
            response = problem(429, "Too many messages", "消息发得太快了，请稍等几秒再发。")
            response.headers["Retry-After"] = "5"
            return response
        except TryAgain as exc:
            response = problem(503, "Try again", exc.message)
            response.headers["Retry-After"] = "1"
            return response
        return web.Response(body=response_json(replies, self._content().card_json), content_type="application/json",
                            charset="utf-8")

    async def _read_upload(self, request: web.Request) -> tuple[str | None, Inbound] | web.Response:
        """Read `user` (if sent) and one `file`; stop reading a file at the limit instead of buffering it all."""
        reader = await request.multipart()
        user: str | None = None
        upload: Upload | None = None
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a nested multipart is nothing we asked for
                continue
            if part.name == "user":
                user = (await part.text()).strip()
            elif part.name == "file" and upload is None:
                data = bytearray()
                while chunk := await part.read_chunk(64 * 1024):
                    data.extend(chunk)
                    if len(data) > self._max:
                        break
                upload = Upload(filename=part.filename or "upload", data=bytes(data[: self._max + 1]),
                                truncated=len(data) > self._max)
        if upload is None:
            return problem(422, "Invalid request", "没有收到文件，请重新上传。")
        return user, Inbound(upload=upload)
