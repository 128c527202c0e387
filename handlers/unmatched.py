"""Studio API of the unmatched inbox (editors and publishers; every call audited): the groups of what the bot
could not place, and proposals that turn a group into a draft."""
from __future__ import annotations

import dataclasses

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.inbox.models import UnmatchedGroup
from bot.inbox.proposals import Action
from bot.inbox.service import UnmatchedInbox
from bot.staff import Staff
from handlers.problems import dumps, problem, stored_int, validation_problem
from handlers.routes import Param, Route
from handlers.staff_auth import StaffRoutes


class ProposalRequest(BaseModel):
    """What to do with a group of unmatched utterances (its first utterance is the one proposed)."""

    group_id: int = Field(ge=1, description="a group of GET /api/v1/studio/unmatched", examples=[3])
    action: Action = Field(description="alias: add as an alias of the item; situation: as one of its situations "
                           "(life events in citizens' words); out_of_scope: nothing should match it",
                           examples=["alias"])
    item_key: str | None = Field(default=None, max_length=80,
                                 description="the item code or bundle:<id> (alias and situation)",
                                 examples=["MZ0010000"])
    draft: str | None = Field(default=None, min_length=1, max_length=80,
                              description="add to this draft (a version id) instead of a new draft from the live "
                              "version", examples=[None])


def _view(group: UnmatchedGroup) -> dict[str, object]:
    return {**dataclasses.asdict(group), "first_seen": group.first_seen.isoformat(),
            "last_seen": group.last_seen.isoformat()}


class UnmatchedHandlers:
    def __init__(self, inbox: UnmatchedInbox) -> None:
        self._inbox = inbox

    async def groups(self, request: web.Request, staff: Staff) -> web.Response:
        days, limit = (stored_int(request.query.get(name, default)) for name, default in (("days", "90"),
                                                                                            ("limit", "50")))
        if not days or not limit or limit > 500:
            return problem(422, "Invalid request", "days 和 limit 应为正整数，limit 不超过500。")
        groups = await self._inbox.groups(staff, days, limit)
        return web.json_response({"groups": [_view(g) for g in groups]}, dumps=dumps)

    async def propose(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            body = ProposalRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        proposal = await self._inbox.propose(staff, body.group_id, body.action, body.item_key, body.draft)
        return web.json_response(proposal, status=201, dumps=dumps)


def routes(handlers: UnmatchedHandlers, guard: StaffRoutes) -> list[Route]:
    base = "/api/v1/studio/unmatched"
    return [
        guard.route("GET", base, handlers.groups,
                    "Unmatched inbox: groups of similar utterances the bot could not place (masked), most frequent "
                    "first, with counts by kind, first and last seen and examples (editors, audited)",
                    params=(Param("days", "integer", description="only the last N days (default and most: "
                                  "unmatched_retention_days)"),
                            Param("limit", "integer", description="at most this many groups (default 50)")),
                    ok=(200, "{groups: [...]}"), problems=(422,)),
        guard.route("POST", base + "/proposals", handlers.propose,
                    "Propose a group's utterance as an alias or situation of an item, or mark it out of scope: a "
                    "draft is made with the change and its golden utterance, checked and tested; the change (file, "
                    "line, YAML lines), the draft's id and its checks are returned and kept with the group "
                    "(editors, audited)",
                    request=ProposalRequest, ok=(201, "the draft change"), problems=(404, 422)),
    ]
