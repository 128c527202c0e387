"""Staff API of the human service (转人工): the department's chats, one chat with its context card, claim, answer,
notes, transfer, close, reveal of personal data (with a reason), and the supervisors' board. Bearer-token
authenticated and rate-limited per staff member (handlers.staff_auth); another department's chat is a 404; every
view and reveal is audited.

When staff close a chat the bot takes it back at the citizen's step: its replies (a rating question, then what
that step asks) go to the citizen's open page over the live channel."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, model_validator

from bot.content_holder import ContentHolder
from bot.dialogue.engine import Engine
from bot.dialogue.plain import as_text
from bot.dialogue.replies import response_json
from bot.errors import Forbidden, Invalid
from bot.handoff.desk import HandoffDesk
from bot.handoff.live import LiveChannel, citizen_topic
from bot.handoff.models import Handoff, HandoffMessage, HandoffStatus
from bot.handoff.notice import canned_answers
from bot.lifecycle import Role
from bot.privacy import mask_fields
from bot.staff import Staff
from handlers.problems import dumps, problem, stored_int, validation_problem
from handlers.pages import STATIC
from handlers.routes import Param, Route
from handlers.staff import RevealRequest
from handlers.staff_auth import StaffHandler, StaffRoutes
from storage.staff import SqlStaff

BASE = "/api/v1/staff/handoffs"
Body = TypeVar("Body", bound=BaseModel)


class TextRequest(BaseModel):
    text: str = Field(min_length=1, max_length=1000, examples=["您好，请问有什么可以帮您？"])


class TransferRequest(BaseModel):
    """To a department's queue, or to one staff member (by id); the note is logged with the chat."""

    department: str | None = Field(default=None, max_length=128, examples=["德令哈市民政局"])
    staff: int | None = Field(default=None, examples=[7])
    note: str = Field(min_length=1, max_length=500, examples=["涉及婚姻登记，请民政局解答"])

    @model_validator(mode="after")
    def _one_target(self) -> "TransferRequest":
        if (self.department is None) == (self.staff is None):
            raise ValueError("name either a department or a staff member")
        return self


class CloseRequest(BaseModel):
    summary: str = Field(min_length=1, max_length=1000, examples=["已告知所需材料和办理地点"])


def _summary(h: Handoff, now: datetime, desk: HandoffDesk) -> dict[str, object]:
    until = h.claimed_at or h.closed_at or now
    return {"id": h.id, "reference": h.reference, "user": h.user, "department": h.department, "level": h.level,
            "status": h.status.value, "owner_id": h.owner_id, "first_owner_id": h.first_owner_id,
            "transfers": h.transfers, "item": h.context.target_name, "created_at": h.created_at.isoformat(),
            "waiting_seconds": max(0, int((until - h.created_at).total_seconds())),
            "breaches": desk.sla.breached_now(h, now), "callback_due": h.callback_due, "rating": h.rating,
            "summary": h.summary}


async def _body(request: web.Request, model: type[Body]) -> Body | web.Response:
    """The request's JSON as `model`, or the 422 problem saying what is wrong."""
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        return validation_problem(exc)


def _message(m: HandoffMessage) -> dict[str, object]:
    return {"id": m.id, "author": m.author.value, "staff_id": m.staff_id, "text": m.text,
            "at": m.created_at.isoformat()}


class HandoffHandlers:
    def __init__(self, desk: HandoffDesk, engine: Engine, content: ContentHolder, live: LiveChannel,
                 directory: SqlStaff) -> None:
        self._desk, self._board, self._engine, self._content = desk, desk.board, engine, content
        self._live, self._directory = live, directory

    async def listing(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            statuses = [HandoffStatus(s) for s in request.query.get("status", "waiting,active").split(",") if s]
        except ValueError:
            return problem(422, "Invalid request", "status 取值不对。")
        now = self._desk_now()
        chats = await self._desk.listing(staff, statuses)
        return web.json_response({"items": [_summary(h, now, self._desk) for h in chats],
                                  "online": await self._desk.online(staff.department)}, dumps=dumps)

    async def view(self, request: web.Request, staff: Staff) -> web.Response:
        handoff, messages = await self._desk.view(staff, self._id(request))
        content = self._content()
        target = content.catalog.target(handoff.context.target) if handoff.context.target else None
        card = handoff.context.model_dump(exclude={"fields"})
        card["fields"] = mask_fields(handoff.context.fields, content.scripts.library)
        body = {**_summary(handoff, self._desk_now(), self._desk), "messages": [_message(m) for m in messages],
                "context": card,
                "canned": canned_answers(target, content.prompts, self._desk.settings.snippets)}
        return web.json_response(body, dumps=dumps)

    async def reveal(self, request: web.Request, staff: Staff) -> web.Response:
        body = await _body(request, RevealRequest)
        if isinstance(body, web.Response):
            return body
        return web.json_response({"fields": await self._desk.reveal(staff, self._id(request), body.reason)},
                                 dumps=dumps)

    async def claim(self, request: web.Request, staff: Staff) -> web.Response:
        handoff = await self._desk.claim(staff, self._id(request))
        return web.json_response(_summary(handoff, self._desk_now(), self._desk), dumps=dumps)

    async def say(self, request: web.Request, staff: Staff) -> web.Response:
        return await self._written(request, staff, self._desk.say)

    async def note(self, request: web.Request, staff: Staff) -> web.Response:
        return await self._written(request, staff, self._desk.note)

    async def _written(self, request: web.Request, staff: Staff,
                       write: Callable[[Staff, int, str], Awaitable[HandoffMessage]]) -> web.Response:
        """A message to the citizen or a private note: the text of the body, 201 with the stored message."""
        body = await _body(request, TextRequest)
        if isinstance(body, web.Response):
            return body
        return web.json_response(_message(await write(staff, self._id(request), body.text)), status=201, dumps=dumps)

    async def transfer(self, request: web.Request, staff: Staff) -> web.Response:
        body = await _body(request, TransferRequest)
        if isinstance(body, web.Response):
            return body
        to_staff = None
        if body.staff is not None:
            to_staff = await self._directory.get(body.staff)
            if to_staff is None:
                raise Invalid("no such staff member")
        handoff = await self._desk.transfer(staff, self._id(request), body.department, to_staff, body.note)
        return web.json_response(_summary(handoff, self._desk_now(), self._desk), dumps=dumps)

    async def close(self, request: web.Request, staff: Staff) -> web.Response:
        body = await _body(request, CloseRequest)
        if isinstance(body, web.Response):
            return body
        handoff = await self._desk.close(staff, self._id(request), body.summary)
        replies = await self._engine.hand_back(handoff.user, handoff.id)
        if replies:
            rendered = json.loads(response_json(replies, self._content().card_json))["replies"]
            await self._live.publish(citizen_topic(handoff.user), {"kind": "replies", "replies": rendered})
            await self._desk.to_wechat(handoff, as_text(replies, self._content().prompts))
        return web.json_response(_summary(handoff, self._desk_now(), self._desk), dumps=dumps)

    async def board(self, request: web.Request, staff: Staff) -> web.Response:
        """The supervisor's live board and statistics of their department."""
        if staff.role is not Role.supervisor:
            raise Forbidden("the board is for supervisors")
        return web.json_response({"board": await self._board.live(staff.department),
                                  "statistics": await self._board.statistics(staff.department)}, dumps=dumps)

    def _desk_now(self) -> datetime:
        return self._desk.now()

    @staticmethod
    def _id(request: web.Request) -> int:
        handoff_id = stored_int(request.match_info["id"])
        if handoff_id is None:
            raise Invalid("a chat id is a number")
        return handoff_id


    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "staff" / "chats.html")


def routes(h: HandoffHandlers, guard: StaffRoutes) -> list[Route]:
    """Every staff route here is behind the guard: authenticated and rate-limited per staff member
    (`staff_rate_limit`, shared with every other staff route)."""
    one = BASE + "/{id}"

    def route(method: str, path: str, handler: StaffHandler, summary: str, *, ok: tuple[int, str],
              request: type[BaseModel] | None = None, params: tuple[Param, ...] = (),
              problems: tuple[int, ...] = ()) -> Route:
        return guard.route(method, path, handler, summary, ok=ok, request=request, params=params,
                           problems=problems)

    return [
        Route("GET", "/staff/chats", h.page, "The staff console's chat page (sign in with the staff token)",
              ok=(200, "text/html")),
        route("GET", BASE, h.listing, "The department's chats handed to staff (and those the caller first "
                    "owned), oldest first, each with its waiting time and SLA breaches",
                    params=(Param("status", description="comma-separated: waiting, active, callback, closed "
                                  "(default waiting,active)"),), ok=(200, "{items: [...]}"), problems=(422,)),
        route("GET", one, h.view, "One chat: its messages (citizen, staff, bot, private notes, log), the "
                    "context card (personal data masked) and canned answers; audited", ok=(200, "the chat"),
                    problems=(404,)),
        route("POST", one + "/claim", h.claim, "Claim a waiting chat (首问负责: the claimer owns it until "
                    "closed); refused over the per-person limit", ok=(200, "the chat"), problems=(404, 409)),
        route("POST", one + "/messages", h.say, "The owner answers; the citizen sees it live",
                    request=TextRequest, ok=(201, "the message"), problems=(404, 409, 422)),
        route("POST", one + "/notes", h.note, "A private note (never shown to the citizen)",
                    request=TextRequest, ok=(201, "the note"), problems=(404, 422)),
        route("POST", one + "/transfer", h.transfer, "Transfer to a department's queue or a staff member "
                    "with a note (at most twice)", request=TransferRequest, ok=(200, "the chat"),
                    problems=(404, 409, 422)),
        route("POST", one + "/close", h.close, "Close with a summary: the bot takes over at the citizen's "
                    "step and asks for a rating", request=CloseRequest, ok=(200, "the chat"),
                    problems=(404, 409, 422)),
        route("POST", one + "/reveal", h.reveal, "The context card's personal data in full, for a reason "
                    "(audited)", request=RevealRequest, ok=(200, "{fields}"), problems=(404, 422)),
        route("GET", "/api/v1/staff/handoff-board", h.board, "Supervisors: the live board and statistics "
                    "of the department's human service", ok=(200, "{board, statistics}")),
    ]
