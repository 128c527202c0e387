"""POST /api/v1/chat/messages: JSON text/choice messages and multipart uploads."""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from pydantic import BaseModel, Field, ValidationError

from bot.content_holder import ContentHolder
from bot.dialogue.engine import Engine, Inbound, TryAgain
from bot.dialogue.idempotency import ClientIdReused
from bot.dialogue.replies import ChatResponse, response_json
from bot.ports import TooManyMessages
from handlers.auth import USER_PARAM, USER_PATTERN, RequestAuth
from handlers.cases import ReadLimiter
from handlers.problems import problem, validation_problem
from handlers.routes import Param, Route
from handlers.upload_reader import SpoolLimits, UploadSlots, UploadTimeout, spool, within

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"  # a UUID (with or without dashes) fits
_CLIENT_ID_HELP = ("The client's id of this message (a UUID per message, the same on every retry): sent again, "
                   "the message gets the first answer and nothing runs twice (no second case). Also accepted as "
                   "the Idempotency-Key header; the same id with another message is refused (422).")
_UPLOAD = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "user": {"type": "string", "description": "without a session token or ?user=: a part before file"},
    "elder": {"type": "boolean", "description": "长辈模式, as in a text message; a part before file"},
    "client_message_id": {"type": "string", "pattern": CLIENT_ID_PATTERN, "description": "a part before file"},
    "file": {"type": "string", "format": "binary"}}}}}
log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    """A text message or a tapped option's value. `user` is needed without a session token and ignored with one."""

    user: str | None = Field(default=None, pattern=USER_PATTERN)
    text: str = Field(min_length=1, max_length=500)
    elder: bool = Field(default=False, description="长辈模式 is on: fewer words per message (short variants of "
                        "the long sentences; an item card opens with what to bring, where, how long and the cost, "
                        "the rest marked `more`)", examples=[True])
    client_message_id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN, description=_CLIENT_ID_HELP)


@dataclass(frozen=True)
class UploadGate:
    """What an upload passes before its file is read (rate, slots) and how the file is read (limits)."""

    limits: SpoolLimits
    slots: UploadSlots
    rate: ReadLimiter  # uploads a user may start per minute


class ChatHandlers:
    def __init__(self, engine: Engine, content: ContentHolder, auth: RequestAuth, uploads: UploadGate) -> None:
        self._engine, self._content = engine, content
        self._auth, self._uploads = auth, uploads

    async def post_message(self, request: web.Request) -> web.Response:
        # the raw header, not request.content_type: that parses it with the email package on every message
        if request.headers.get("Content-Type", "")[:10].lower() == "multipart/":
            return await self._post_upload(request)
        try:
            body = ChatRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        user = await self._auth.user(request, body.user or request.query.get("user"))
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        client_id = _client_id(request, body.client_message_id)
        if isinstance(client_id, web.Response):
            return client_id
        return await self._answer(user, Inbound(text=body.text, elder=body.elder, client_id=client_id))

    async def _answer(self, user: str, inbound: Inbound) -> web.Response:
        """The replies to a message whose client id is settled (see _client_id), or a problem."""
        try:
            replies = await self._engine.handle(user, inbound)
        except ClientIdReused:
            return problem(422, "Invalid request", "这条消息的编号已用于另一条消息，请重新发送。")
        except TooManyMessages:
            return _retry_after(problem(429, "Too many messages", "消息发得太快了，请稍等几秒再发。"), 5)
        except TryAgain as exc:
            return _retry_after(problem(503, "Try again", exc.message), 1)
        return web.Response(body=response_json(replies, self._content().card_json), content_type="application/json",
                            charset="utf-8")

    async def _post_upload(self, request: web.Request) -> web.Response:
        """An upload, or a 4xx problem: a malformed multipart body 400, a client too slow 408 (connection closed);
        each logged in one line, as is a client hanging up mid-upload. Who is asking is settled from the headers
        (token, `?user=`) before the body is read: a refused login costs nothing but the request line."""
        user = await self._auth.user(request, request.query.get("user"))
        try:
            return await self._read_parts(request, user)
        except LineTooLong:  # a part's header line over 8 KB: in practice its filename
            log.info("upload refused: a multipart header line over the limit")
            return problem(400, "Bad request", "文件名太长了，请改短后再上传。")
        except (ValueError, BadHttpMessage) as exc:
            log.info("upload refused: malformed multipart body (%s: %.200s)", type(exc).__name__, exc)
            return problem(400, "Bad request", "上传的内容格式不对，请重新上传。")
        except UploadTimeout as exc:
            log.info("upload cut: %s", exc)
            response = problem(408, "Request timeout", "上传超时了，请检查网络后重新上传。")
            response.force_close()
            return response
        except ConnectionResetError:  # nobody is left to read the answer
            log.info("upload cut short: the connection closed before the body was read")
            return problem(400, "Bad request", "上传中断了，请重新上传。")
        except asyncio.CancelledError:
            log.info("upload cut short: the connection closed before the body was read")
            raise

    async def _read_parts(self, request: web.Request, user: str | None) -> web.Response:
        """Read `user` (when the headers did not say who) up to the `file` part, then the file if the user may."""
        limits = self._uploads.limits
        reader = await request.multipart()
        elder, client_id = False, None
        while (part := await within(reader.next(), limits.idle_seconds)) is not None:
            if not isinstance(part, BodyPartReader):  # a nested multipart carries nothing we read
                continue
            if part.name == "user" and user is None:
                claimed = await within(part.read_chunk(200), limits.idle_seconds)
                user = await self._auth.user(request, claimed.decode(errors="replace").strip())
            elif part.name == "elder":
                elder = (await within(part.read_chunk(200), limits.idle_seconds)).strip() in (b"true", b"1")
            elif part.name == "client_message_id":
                sent = await within(part.read_chunk(200), limits.idle_seconds)
                client_id = sent.decode(errors="replace").strip()
            elif part.name == "file":
                if user is None:
                    return problem(422, "Invalid request", "缺少用户标识。")
                settled = _client_id(request, client_id)
                if isinstance(settled, web.Response):
                    return settled
                return await self._receive(user, part, Inbound(elder=elder, client_id=settled))
        return problem(422, "Invalid request", "没有收到文件，请重新上传。")

    async def _receive(self, user: str, part: BodyPartReader, inbound: Inbound) -> web.Response:
        if wait := await self._uploads.rate.wait(user):
            return _retry_after(problem(429, "Too many uploads", "上传太频繁了，请稍等一会儿再传。"), wait)
        with self._uploads.slots.hold(user) as held:
            if not held:
                return _retry_after(problem(429, "Too many uploads", "正在上传的文件太多了，请等前面的传完再试。"), 5)
            upload = await spool(part, self._uploads.limits)
            return await self._answer(user, replace(inbound, upload=upload))


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


def _retry_after(response: web.Response, seconds: int) -> web.Response:
    response.headers["Retry-After"] = str(seconds)
    return response


def routes(chat: ChatHandlers) -> list[Route]:
    return [Route("POST", "/api/v1/chat/messages", chat.post_message,
                  "Send a message (text, a tapped option's value, or a file) and get the bot's replies",
                  request=ChatRequest, response=ChatResponse, ok=(200, "Replies to render in order"),
                  params=(USER_PARAM, Param("Idempotency-Key", where="header", description=_CLIENT_ID_HELP,
                                                 pattern=CLIENT_ID_PATTERN)),
                  other_content=_UPLOAD, problems=(400, 401, 408, 413, 422, 429, 503))]
