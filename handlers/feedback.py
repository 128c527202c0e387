"""Staff API for 好差评: rectification tickets of the department, callback, closing with a result, the supervisors'
督办 notes, statistics."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.feedback import Feedback, TicketNotFound, TicketRow
from bot.staff import Staff
from bot.ratings import RATING_LABELS, Rectification
from handlers.problems import dumps, query_flag, stored_int, validation_problem
from handlers.routes import Param, Route
from handlers.staff_auth import StaffRoutes

TicketAction = Callable[[Staff, int, str], Awaitable[Rectification]]


class NoteRequest(BaseModel):
    """The written note of a rectification step: the callback, the result, or a supervisor's 督办 note."""

    text: str = Field(min_length=1, max_length=1000, description="shown to the citizen when a ticket is closed",
                      examples=["已电话回访，群众反映排队时间长；已增开一个窗口"])


def _ticket_view(ticket: Rectification) -> dict[str, object]:
    view = ticket.model_dump(mode="json")
    view["escalated"] = ticket.escalated
    view["level_label"] = RATING_LABELS[ticket.level]
    return view


def _row_view(row: TicketRow) -> dict[str, object]:
    """A ticket of the list: the rating that opened it (level, tags, comment) and the citizen's answers."""
    view = _ticket_view(row.ticket)
    view["overdue"] = row.overdue
    view["rating"] = None if row.rating is None else {
        "level": int(row.rating.level), "label": RATING_LABELS[row.rating.level], "tags": row.rating.tags,
        "comment": row.rating.text, "rated_at": row.rating.updated_at.isoformat()}
    view["citizen_answers"] = [{"resolved": False, "at": at.isoformat()} for at in row.reopened_at]
    return view


class FeedbackHandlers:
    def __init__(self, feedback: Feedback) -> None:
        self._feedback = feedback

    async def tickets(self, request: web.Request, staff: Staff) -> web.Response:
        """The department's tickets; `escalated=true` keeps those escalated to the supervisors (督办)."""
        rows = await self._feedback.tickets(staff, escalated_only=query_flag(request, "escalated"))
        return web.json_response({"rectifications": [_row_view(row) for row in rows]}, dumps=dumps)

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
        ticket_id = stored_int(request.match_info["id"])
        if ticket_id is None:
            raise TicketNotFound()
        ticket = await action(staff, ticket_id, body.text)
        return web.json_response(_ticket_view(ticket), dumps=dumps)

    async def statistics(self, request: web.Request, staff: Staff) -> web.Response:
        return web.json_response(await self._feedback.statistics(), dumps=dumps)


def routes(feedback: FeedbackHandlers, guard: StaffRoutes) -> list[Route]:
    tickets = "/api/v1/staff/rectifications"
    ticket = (Param("id", "integer", "path"),)
    return [
        guard.route("GET", tickets, feedback.tickets,
                    "差评整改 tickets of the staff member's department, with overdue and escalated (督办) flags, the "
                    "rating (level, tags, comment) and the citizen's later 'not resolved' answers (each reopened it)",
                    params=(Param("escalated", "boolean",
                                  description="only tickets with a missed deadline escalated to the supervisors"),),
                    ok=(200, "{rectifications: [...]}"), problems=(422,)),
        guard.route("POST", tickets + "/{id}/callback", feedback.call_back, "Record the callback (回访) to the citizen",
                    params=ticket, request=NoteRequest, ok=(200, "ticket"), problems=(404, 422)),
        guard.route("POST", tickets + "/{id}/close", feedback.close,
                    "Close with the written result; the citizen is told and can answer resolved or not",
                    params=ticket, request=NoteRequest, ok=(200, "ticket"), problems=(404, 422)),
        guard.route("POST", tickets + "/{id}/supervision", feedback.supervise,
                    "A supervisor's 督办 note on a ticket of their department (the latest is kept)",
                    params=ticket, request=NoteRequest, ok=(200, "ticket"), problems=(404, 422)),
        guard.route("GET", "/api/v1/staff/statistics", feedback.statistics,
                    "Satisfaction and bad-rating rates per department and item, rectification on-time rate, 网上可办率",
                    ok=(200, "statistics")),
    ]
