"""Staff API for 好差评: rectification tickets of the department, callback, closing with a result, the supervisors'
督办 notes, statistics."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.feedback import Feedback, TicketNotFound
from bot.staff import Staff
from bot.ratings import Rectification
from handlers.problems import dumps, validation_problem

TicketAction = Callable[[Staff, int, str], Awaitable[Rectification]]


class NoteRequest(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


def _ticket_view(ticket: Rectification, overdue: bool | None = None) -> dict[str, object]:
    view = ticket.model_dump(mode="json")
    view["escalated"] = ticket.escalated
    if overdue is not None:
        view["overdue"] = overdue
    return view


class FeedbackHandlers:
    def __init__(self, feedback: Feedback) -> None:
        self._feedback = feedback

    async def tickets(self, request: web.Request, staff: Staff) -> web.Response:
        """The department's tickets; `escalated=true` keeps those escalated to the supervisors (督办)."""
        rows = await self._feedback.tickets(staff, escalated_only=request.query.get("escalated") == "true")
        return web.json_response({"rectifications": [_ticket_view(t, late) for t, late in rows]}, dumps=dumps)

    async def call_back(self, request: web.Request, staff: Staff) -> web.Response:
        return await self._act(request, staff, self._feedback.call_back)

    async def close(self, request: web.Request, staff: Staff) -> web.Response:
        return await self._act(request, staff, self._feedback.close)

    async def supervise(self, request: web.Request, staff: Staff) -> web.Response:
        """A supervisor's 督办 note on a ticket."""
        return await self._act(request, staff, self._feedback.supervise)

    async def _act(self, request: web.Request, staff: Staff, action: TicketAction) -> web.Response:
        try:
            body = NoteRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        ticket_id = request.match_info["id"]
        if not ticket_id.isdigit():
            raise TicketNotFound()
        ticket = await action(staff, int(ticket_id), body.text)
        return web.json_response(_ticket_view(ticket), dumps=dumps)

    async def statistics(self, request: web.Request, staff: Staff) -> web.Response:
        return web.json_response(await self._feedback.statistics(), dumps=dumps)
