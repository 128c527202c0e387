"""POST /api/v1/chat/messages: JSON text/choice messages and multipart uploads."""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from pydantic import BaseModel, Field, ValidationError

from bot.content_holder import ContentHolder
from bot.dialogue.engine import Engine, Inbound, TryAgain
from bot.dialogue.idempotency import ClientIdReused
from bot.dialogue.replies import ChatResponse, response_json
from bot.ports import TooManyMessages
from bot.uploads import Upload
from handlers.auth import USER_PATTERN, RequestAuth
from handlers.problems import problem, validation_problem
from handlers.routes import Param, Route

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"  # a UUID (with or without dashes) fits
_CLIENT_ID_HELP = ("The client's id of this message (a UUID per message, the same on every retry): sent again, "
                   "the message gets the first answer and nothing runs twice (no second case). Also accepted as "
                   "the Idempotency-Key header; the same id with another message is refused (422).")
_UPLOAD = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "user": {"type": "string"}, "file": {"type": "string", "format": "binary"},
    "client_message_id": {"type": "string", "pattern": CLIENT_ID_PATTERN}}}}}
log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    """A text message or a tapped option's value. `user` is needed without a session token and ignored with one."""

    user: str | None = Field(default=None, pattern=USER_PATTERN)
    text: str = Field(min_length=1, max_length=500)
    client_message_id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN, description=_CLIENT_ID_HELP)


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
            claimed, inbound = body.user, Inbound(text=body.text, client_id=body.client_message_id)
        client_id = _client_id(request, inbound.client_id)
        if isinstance(client_id, web.Response):
            return client_id
        user = await self._auth.user(request, claimed)
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        try:
            replies = await self._engine.handle(user, replace(inbound, client_id=client_id))
        except ClientIdReused:
            return problem(422, "Invalid request", "这条消息的编号已用于另一条消息，请重新发送。")
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
        client_id: str | None = None
        upload: Upload | None = None
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a nested multipart carries nothing we read
                continue
            if part.name == "user":
                user = (await part.text()).strip()
            elif part.name == "client_message_id":
                client_id = (await part.text()).strip()
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
        return user, Inbound(upload=upload, client_id=client_id)


def _client_id(request: web.Request, in_body: str | None) -> str | None | web.Response:
    """The message's client id from the body or the Idempotency-Key header (the same when both are sent), or a
    422 problem for one that is malformed or two that differ."""
    header = request.headers.get("Idempotency-Key")
    if header is None:
        if in_body is not None and not re.fullmatch(CLIENT_ID_PATTERN, in_body):  # a multipart field
            return problem(422, "Invalid request", "消息编号的格式不对。")
        return in_body
    if not re.fullmatch(CLIENT_ID_PATTERN, header) or (in_body is not None and in_body != header):
        return problem(422, "Invalid request", "消息编号的格式不对，或与请求头 Idempotency-Key 不一致。")
    return header


def routes(chat: ChatHandlers) -> list[Route]:
    return [Route("POST", "/api/v1/chat/messages", chat.post_message,
                  "Send a message (text, a tapped option's value, or a file) and get the bot's replies",
                  request=ChatRequest, response=ChatResponse, ok=(200, "Replies to render in order"),
                  other_content=_UPLOAD, problems=(400, 401, 413, 422, 429, 503),
                  params=(Param("Idempotency-Key", where="header", description=_CLIENT_ID_HELP,
                                pattern=CLIENT_ID_PATTERN),))]
