"""Staff JSON API: queues, a case, lifecycle moves, receipt of 容缺 materials, verification of 告知承诺, staff
notifications. Bearer-token authenticated.

Routes are wrapped by handlers.staff_auth.StaffRoutes. Status codes: 401 without a valid token; 404 for a case
that does not exist OR lies outside the staff member's department and level (existence is not disclosed); 403
for a move the role may not make on a case it can see; 409 for a move the case's current state does not allow
(the domain errors of bot/errors.py, mapped in handlers/problems.py); 422 for a malformed body, a query flag
other than true/false, or a material the case does not have.
"""
from __future__ import annotations

from aiohttp import web
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationError, model_validator

from bot.cases import Case
from bot.errors import Forbidden
from bot.lifecycle import CaseStatus, DeliveryMethod, Role
from bot.outbox.dispatcher import Outbox
from bot.ports import BlobStore, StaffNotices
from bot.review import PLEDGE, CaseReview, Deadlines, false_pledges
from bot.staff import Staff
from handlers.cases import case_view
from handlers.problems import dumps, problem, query_flag, stored_int, validation_problem
from handlers.routes import Param, Route
from handlers.staff_auth import StaffRoutes


class DeliveryRequest(BaseModel):
    """How a completed case's result reached the citizen."""

    method: DeliveryMethod = Field(description="window 窗口领取, mail 邮寄, elicence 电子证照", examples=["mail"])
    tracking_number: str | None = Field(
        default=None, max_length=64, validation_alias=AliasChoices("tracking_number", "tracking"),
        description="邮寄的快递单号 (required for mail; `tracking` is accepted too)", examples=["SF1234567890123"])

    @model_validator(mode="after")
    def _mail_has_tracking(self) -> "DeliveryRequest":
        if self.method is DeliveryMethod.mail and not self.tracking_number:
            raise ValueError("mail delivery needs a tracking number")
        return self


class PledgeVerificationRequest(BaseModel):
    """The outcome of verifying (核查) a 告知承诺."""

    outcome: Literal["confirmed", "false"] = Field(description="confirmed: the pledge holds; false: it was untrue",
                                                   examples=["confirmed"])
    note: str = Field(default="", max_length=500, description="what was checked, and how",
                      examples=["已通过婚姻登记系统核实"])


class RevealRequest(BaseModel):
    """Why the staff member needs the personal data in full (written to the audit log)."""

    reason: str = Field(min_length=2, max_length=200, examples=["核对申请人身份证号与原件是否一致"])


class MoveRequest(BaseModel):
    """A lifecycle move of a case (see the roles × transitions table)."""

    to: CaseStatus = Field(description="the status to move the case to", examples=["returned"])
    reason: str | None = Field(default=None, max_length=500,
                               description="why; required for returned and refused, shown to the citizen",
                               examples=["身份证照片不清晰"])
    materials: dict[str, str] = Field(default_factory=dict,
                                      description="returned only: material key -> what to fix (keys of the case's "
                                      "materials; another key is a 422)",
                                      examples=[{"old_id_card": "照片模糊，请重新拍摄"}])


def _deadline_view(d: Deadlines) -> dict[str, object]:
    return {"pre_review_due": d.pre_review_due.isoformat(), "promised": d.promised.isoformat(),
            "provisional": d.provisional, "overdue": d.overdue, "due_soon": d.due_soon}


def _staff_case_view(case: Case, moves: list[CaseStatus]) -> dict[str, object]:
    view = case_view(case, {})
    view["fields"] = case.fields  # masked by CaseReview unless the view needs them in full
    view["user"] = case.user
    view["pledges"] = [{"key": m.key, "name": m.name, "pledge": m.entry.pledge,
                        "verification": m.verification.model_dump(mode="json") if m.verification else None}
                       for m in case.materials if m.entry and m.entry.kind == PLEDGE]
    view["pledge_false"] = bool(false_pledges(case))
    view["moves"] = moves
    view["uploads"] = [m.key for m in case.materials if m.entry and m.entry.blob_id]
    return view


class StaffHandlers:
    def __init__(self, outbox: Outbox, review: CaseReview, notices: StaffNotices, blobs: BlobStore) -> None:
        self._outbox, self._review, self._notices, self._blobs = outbox, review, notices, blobs

    async def dead_letters(self, request: web.Request, staff: Staff) -> web.Response:
        """Deliveries given up after every retry, one per event and handler (supervisors). Refunds are never
        among them: they are retried until they succeed."""
        if staff.role is not Role.supervisor:
            raise Forbidden("dead letters are for supervisors")
        return web.json_response({"dead_letters": await self._outbox.dead_letters()}, dumps=dumps)

    async def queue(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            statuses = [CaseStatus(s) for s in request.query.get("status", "").split(",") if s]
        except ValueError:
            return problem(422, "Invalid request", "status 取值不对。")
        overdue_only = query_flag(request, "overdue")
        rows = await self._review.queue(staff, statuses or None)
        body = [{"number": c.number, "name": c.target_name, "status": c.status,
                 "submitted_at": c.submitted_at.isoformat(), "deadlines": _deadline_view(d),
                 "pledge_false": bool(false_pledges(c))}
                for c, d in rows if d.overdue or not overdue_only]
        return web.json_response({"cases": body}, dumps=dumps)

    async def case(self, request: web.Request, staff: Staff) -> web.Response:
        number = request.match_info["number"]
        case = await self._review.view(staff, number, masked=query_flag(request, "masked"))
        view = _staff_case_view(case, self._review.moves(staff, case))
        view["field_labels"] = self._review.field_labels(case)
        view["deadlines"] = _deadline_view(self._review.deadlines(case))
        view["events"] = [e.model_dump(mode="json") for e in await self._review.events(number)]
        return web.json_response(view, dumps=dumps)

    async def reveal(self, request: web.Request, staff: Staff) -> web.Response:
        """The case's personal data in full, given a reason (audited)."""
        try:
            body = RevealRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        fields = await self._review.reveal(staff, request.match_info["number"], body.reason)
        return web.json_response({"fields": fields}, dumps=dumps)

    async def material_file(self, request: web.Request, staff: Staff) -> web.Response:
        """An uploaded material's file, as uploaded (audited); never cached, never run as a page."""
        material = await self._review.material(staff, request.match_info["number"], request.match_info["key"])
        assert material.entry is not None and material.entry.blob_id is not None  # material() returns uploads only
        data = await self._blobs.get(material.entry.blob_id)
        if data is None:
            return problem(404, "Not found", "文件已不在存储中。")
        return web.Response(body=data, content_type=material.entry.mime or "application/octet-stream",
                            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                     "Content-Security-Policy": "default-src 'none'; sandbox",
                                     "Content-Disposition": "inline"})

    async def move(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            body = MoveRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        case = await self._review.move(staff, request.match_info["number"], body.to, body.reason, body.materials)
        return web.json_response(_staff_case_view(case, self._review.moves(staff, case)), dumps=dumps)

    async def deliver(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            body = DeliveryRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        await self._review.deliver(staff, request.match_info["number"], body.method.value, body.tracking_number)
        return web.json_response({"delivered": body.method.value})

    async def receive(self, request: web.Request, staff: Staff) -> web.Response:
        await self._review.receive(staff, request.match_info["number"], request.match_info["key"])
        return web.json_response({"received": True})

    async def verify_pledge(self, request: web.Request, staff: Staff) -> web.Response:
        """Record the verification (核查) of a 告知承诺: confirmed, or found false."""
        try:
            body = PledgeVerificationRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        verified = await self._review.verify_pledge(staff, request.match_info["number"], request.match_info["key"],
                                                    body.outcome, body.note)
        return web.json_response({"key": request.match_info["key"], "verification": verified.model_dump(mode="json")},
                                 dumps=dumps)

    async def notifications(self, request: web.Request, staff: Staff) -> web.Response:
        """Notices addressed to the staff member's department and role (e.g. escalations), newest first;
        `after=<id>` returns only newer ones."""
        after = stored_int(request.query.get("after", "0"))
        if after is None:
            return problem(422, "Invalid request", "after 应为有效的通知编号。")
        notices = await self._notices.for_staff(staff, after)
        return web.json_response({"notifications": [n.model_dump(mode="json", exclude={"department", "role"})
                                                    for n in notices]}, dumps=dumps)


def routes(staff: StaffHandlers, guard: StaffRoutes) -> list[Route]:
    cases = "/api/v1/staff/cases"
    return [
        guard.route("GET", cases, staff.queue,
                    "Staff queue: open cases of the staff member's department and level, with deadlines",
                    params=(Param("status", description="comma-separated statuses (default: all open ones)"),
                            Param("overdue", "boolean")), ok=(200, "{cases: [...]}"), problems=(422,)),
        guard.route("GET", cases + "/{number}", staff.case,
                    "One case (audited; personal data masked unless the role is clerk), with its history",
                    params=(Param("masked", "boolean", description="mask personal data also for clerks (the "
                                  "console shows it only after a reason is given)"),),
                    ok=(200, "case"), problems=(404, 422)),
        guard.route("POST", cases + "/{number}/reveal", staff.reveal,
                    "Personal data of a case in full, given a reason written to the audit log (clerks and "
                    "approvers of the lead department)", request=RevealRequest, ok=(200, "{fields: {...}}"),
                    problems=(404, 422)),
        guard.route("GET", cases + "/{number}/materials/{key}/file", staff.material_file,
                    "The uploaded file of a material (audited; other departments of a bundle: their own items' "
                    "materials only)", ok=(200, "the file"), problems=(404,)),
        guard.route("POST", cases + "/{number}/transitions", staff.move,
                    "Move a case: returned (with materials), pre_reviewed, accepted, refused, in_progress, completed",
                    request=MoveRequest, ok=(200, "the case after the move"), problems=(404, 409, 422)),
        guard.route("POST", cases + "/{number}/materials/{key}/received", staff.receive,
                    "A clerk records that a 容缺 material was handed in", ok=(200, "received"), problems=(404, 409)),
        guard.route("POST", cases + "/{number}/delivery", staff.deliver,
                    "A clerk records how a completed case's result reached the citizen (the citizen is told)",
                    request=DeliveryRequest, ok=(200, "recorded"), problems=(404, 409, 422)),
        guard.route("POST", cases + "/{number}/pledges/{key}/verification", staff.verify_pledge,
                    "A clerk or approver records the verification (核查) of a 告知承诺; the citizen is told. "
                    "A false one flags the case and lets the approver refuse it while it is open",
                    request=PledgeVerificationRequest, ok=(200, "the verification"), problems=(404, 409, 422)),
        guard.route("GET", "/api/v1/staff/outbox/dead", staff.dead_letters,
                    "Deliveries given up after every retry, one per event and handler (supervisors only)",
                    ok=(200, "{dead_letters: [...]}")),
        guard.route("GET", "/api/v1/staff/notifications", staff.notifications,
                    "Notices for the staff member's role in their department, newest first (e.g. supervisors: "
                    "rectification deadlines missed)",
                    params=(Param("after", "integer", description="only notices with a larger id (polling)"),),
                    ok=(200, "{notifications: [...]}"), problems=(422,)),
    ]
