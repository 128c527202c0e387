"""Case read API for citizens: their own cases only, personal data masked; their progress messages, read and
acknowledged apart. Every read counts against a per-user limit (429 with Retry-After)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Callable, Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, model_validator

from bot.content import Content
from bot.notify import Inbox
from bot.payments.orders import yuan
from bot.payments.service import Payments
from bot.privacy import TypedField, mask_fields
from bot.cases import Case
from bot.ports import CaseRepository
from handlers.auth import USER_PARAM, USER_PATTERN, RequestAuth
from handlers.problems import dumps, problem, query_flag, validation_problem
from handlers.routes import Param, Route

_LIST_LIMIT = 50


class ReadLimiter(Protocol):
    async def wait(self, user: str) -> int:
        """Count one read of the user: 0 when allowed, else the seconds to wait."""


class ProgressMessage(BaseModel):
    type: Literal["text"] = "text"
    id: int
    text: str
    case_number: str | None
    created_at: datetime
    unread: bool = Field(description="not acknowledged yet (POST /api/v1/messages/ack)")


class MessagesResponse(BaseModel):
    messages: list[ProgressMessage]


class AckRequest(BaseModel):
    """Which messages the client has shown: their ids, or every message up to an id."""

    user: str | None = Field(default=None, pattern=USER_PATTERN,
                             description="needed without a session token, ignored with one")
    ids: list[int] | None = Field(default=None, max_length=_LIST_LIMIT, examples=[[41, 42]])
    up_to: int | None = Field(default=None, ge=1, le=2**63 - 1, examples=[42])

    @model_validator(mode="after")
    def _one_of(self) -> "AckRequest":
        if (self.ids is None) == (self.up_to is None):
            raise ValueError("give ids or up_to")
        if any(not 1 <= i <= 2**63 - 1 for i in self.ids or []):
            raise ValueError("ids are message ids")
        return self


class AckResponse(BaseModel):
    acknowledged: int = Field(description="how many of them were unread")


def case_view(case: Case, library: Mapping[str, TypedField]) -> dict[str, object]:
    """The JSON a citizen sees of a case: personal data (身份证号, phone, names, addresses) masked."""
    return {
        "number": case.number, "status": case.status, "target": case.target, "name": case.target_name,
        "items": case.item_codes, "submitted_at": case.submitted_at.isoformat(),
        "promised_date": case.promised_date.isoformat(), "promised_date_provisional": case.provisional_date,
        "fields": mask_fields(case.fields, library),
        "materials": [{"key": m.key, "name": m.name, "provided_as": m.entry.kind if m.entry else "missing"}
                      for m in case.materials],
    }


class CaseHandlers:
    def __init__(self, cases: CaseRepository, inbox: Inbox, payments: Payments,
                 clock: Callable[[], datetime], auth: RequestAuth, content: Callable[[], Content],
                 reads: ReadLimiter) -> None:
        self._cases, self._inbox, self._payments, self._clock = cases, inbox, payments, clock
        self._auth, self._content, self._reads = auth, content, reads

    async def _too_many(self, user: str) -> web.Response | None:
        """The 429 answer when the user reads too often, else None."""
        wait = await self._reads.wait(user)
        if not wait:
            return None
        response = problem(429, "Too many requests", "查询太频繁了，请稍等几秒再试。")
        response.headers["Retry-After"] = str(wait)
        return response

    async def messages(self, request: web.Request) -> web.Response:
        """The user's latest progress messages (`unread=true`: the unread ones), oldest first; marks nothing."""
        unread_only = query_flag(request, "unread")
        user = await self._auth.user(request, request.query.get("user"))
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        if limited := await self._too_many(user):
            return limited
        found = await self._inbox.recent(user, unread_only=unread_only, limit=_LIST_LIMIT)
        body = MessagesResponse(messages=[ProgressMessage(id=m.id, text=m.text, case_number=m.case_number,
                                                          created_at=m.created_at, unread=m.unread) for m in found])
        return web.json_response(body.model_dump(mode="json"), dumps=dumps)

    async def acknowledge(self, request: web.Request) -> web.Response:
        """Mark messages the client has shown as read."""
        try:
            body = AckRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        user = await self._auth.user(request, body.user)
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        if limited := await self._too_many(user):
            return limited
        done = await self._inbox.acknowledge(user, body.ids, body.up_to, self._clock())
        return web.json_response(AckResponse(acknowledged=done).model_dump())

    async def list_cases(self, request: web.Request) -> web.Response:
        user = await self._auth.user(request, request.query.get("user"))
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        if limited := await self._too_many(user):
            return limited
        cases = await self._cases.list_for_user(user)
        library = self._content().scripts.library
        return web.json_response({"cases": [case_view(c, library) for c in cases]}, dumps=dumps)

    async def get_case(self, request: web.Request) -> web.Response:
        user = await self._auth.user(request, request.query.get("user"))
        if user is not None and (limited := await self._too_many(user)):
            return limited
        case = await self._cases.get(request.match_info["number"])
        # Someone else's case answers exactly like a missing one: numbers must not be probeable.
        if user is None or case is None or case.user != user:
            return problem(404, "Not found", "没有找到这个办件。")
        fee, state = await self._payments.fee_state(case)
        view = case_view(case, self._content().scripts.library)
        return web.json_response({**view, "fee": {"amount": yuan(fee), "state": state}}, dumps=dumps)


def routes(cases: CaseHandlers) -> list[Route]:
    return [
        Route("GET", "/api/v1/cases", cases.list_cases, "The user's cases, newest first", params=(USER_PARAM,),
              ok=(200, "{cases: [Case]}"), problems=(401, 422, 429)),
        Route("GET", "/api/v1/cases/{number}", cases.get_case,
              "One case of the user (someone else's case answers 404, like a missing one)", params=(USER_PARAM,),
              ok=(200, "Case with masked personal data and its fee"), problems=(401, 404, 429)),
        Route("GET", "/api/v1/messages", cases.messages,
              f"The user's latest {_LIST_LIMIT} progress messages, oldest first, each with its unread flag; reading "
              "marks nothing (acknowledge with POST /api/v1/messages/ack). The chat's opening shows the unread "
              "ones once and marks them read",
              params=(USER_PARAM, Param("unread", "boolean", description="only the unread ones")),
              response=MessagesResponse, ok=(200, "the messages"), problems=(401, 422, 429)),
        Route("POST", "/api/v1/messages/ack", cases.acknowledge,
              "Acknowledge progress messages the client has shown (by ids, or every one up to an id): they are no "
              "longer unread, and the chat's opening does not show them again",
              request=AckRequest, response=AckResponse, ok=(200, "how many were unread"), problems=(401, 422, 429)),
    ]
