"""POST /api/v1/chat/messages: JSON text/choice messages and multipart uploads."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from pydantic import BaseModel, Field, ValidationError

from bot.content_holder import ContentHolder
from bot.dialogue.engine import Engine, Inbound, TryAgain
from bot.dialogue.replies import ChatResponse, response_json
from bot.ports import TooManyMessages
from bot.uploads import Upload
from handlers.auth import USER_PATTERN, RequestAuth
from handlers.problems import problem, validation_problem
from handlers.routes import Route

_UPLOAD = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "user": {"type": "string"}, "file": {"type": "string", "format": "binary"},
    "elder": {"type": "boolean", "description": "长辈模式, as in a text message"}}}}}
log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    """A text message or a tapped option's value. `user` is needed without a session token and ignored with one."""

    user: str | None = Field(default=None, pattern=USER_PATTERN)
    text: str = Field(min_length=1, max_length=500)
    elder: bool = Field(default=False, description="长辈模式 is on: fewer words per message (short variants of "
                        "the long sentences; an item card opens with what to bring, where, how long and the cost, "
                        "the rest marked `more`)", examples=[True])


class ChatHandlers:
    def __init__(self, engine: Engine, content: ContentHolder, max_upload_bytes: int,
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
            claimed, inbound = body.user, Inbound(text=body.text, elder=body.elder)
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
        """The upload, or a 400 problem for a malformed multipart body (logged in one line, as is a client
        hanging up mid-upload)."""
        try:
            return await self._read_parts(request)
        except LineTooLong:  # a part's header line over 8 KB: in practice its filename
            log.info("upload refused: a multipart header line over the limit")
            return problem(400, "Bad request", "文件名太长了，请改短后再上传。")
        except (ValueError, BadHttpMessage) as exc:
            log.info("upload refused: malformed multipart body (%s: %.200s)", type(exc).__name__, exc)
            return problem(400, "Bad request", "上传的内容格式不对，请重新上传。")
        except asyncio.CancelledError:
            log.info("upload cut short: the connection closed before the body was read")
            raise

    async def _read_parts(self, request: web.Request) -> tuple[str | None, Inbound] | web.Response:
        """Read `user` (if sent) and one `file`; stop reading a file at the limit instead of buffering it all."""
        reader = await request.multipart()
        user: str | None = None
        upload: Upload | None = None
        elder = False
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a nested multipart carries nothing we read
                continue
            if part.name == "user":
                user = (await part.text()).strip()
            elif part.name == "elder":
                elder = (await part.text()).strip() in ("true", "1")
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
        return user, Inbound(upload=upload, elder=elder)


def routes(chat: ChatHandlers) -> list[Route]:
    return [Route("POST", "/api/v1/chat/messages", chat.post_message,
                  "Send a message (text, a tapped option's value, or a file) and get the bot's replies",
                  request=ChatRequest, response=ChatResponse, ok=(200, "Replies to render in order"),
                  other_content=_UPLOAD, problems=(400, 401, 413, 422, 429, 503))]
