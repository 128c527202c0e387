"""Case read API for citizens: their own cases only, personal data masked."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Callable

from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from bot.content import Content
from bot.notify import Inbox
from bot.payments.orders import yuan
from bot.payments.service import Payments
from bot.privacy import TypedField, mask_fields
from bot.cases import Case
from bot.ports import CaseRepository
from handlers.auth import USER_PARAM, RequestAuth
from handlers.problems import dumps, problem
from handlers.routes import Route


class ProgressMessage(BaseModel):
    type: Literal["text"] = "text"
    text: str


class MessagesResponse(BaseModel):
    messages: list[ProgressMessage]


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
                 clock: Callable[[], datetime], auth: RequestAuth, content: Callable[[], Content]) -> None:
        self._cases, self._inbox, self._payments, self._clock = cases, inbox, payments, clock
        self._auth, self._content = auth, content

    async def messages(self, request: web.Request) -> web.Response:
        """Unread progress messages of the user (marked read)."""
        user = await self._auth.user(request, request.query.get("user"))
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        texts = await self._inbox.take_unread(user, self._clock())
        body = MessagesResponse(messages=[ProgressMessage(text=t) for t in texts])
        return web.json_response(body.model_dump(), dumps=dumps)

    async def list_cases(self, request: web.Request) -> web.Response:
        user = await self._auth.user(request, request.query.get("user"))
        if user is None:
            return problem(422, "Invalid request", "缺少用户标识。")
        cases = await self._cases.list_for_user(user)
        library = self._content().scripts.library
        return web.json_response({"cases": [case_view(c, library) for c in cases]}, dumps=dumps)

    async def get_case(self, request: web.Request) -> web.Response:
        user = await self._auth.user(request, request.query.get("user"))
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
              ok=(200, "{cases: [Case]}"), problems=(401, 422)),
        Route("GET", "/api/v1/cases/{number}", cases.get_case,
              "One case of the user (someone else's case answers 404, like a missing one)", params=(USER_PARAM,),
              ok=(200, "Case with masked personal data and its fee"), problems=(401, 404)),
        Route("GET", "/api/v1/messages", cases.messages,
              "The user's unread progress messages (marked read); also shown when the chat opens",
              params=(USER_PARAM,), response=MessagesResponse, ok=(200, "the unread messages, now marked read"),
              problems=(401, 422)),
    ]
