"""Staff work on cases: queues, reading a case (audited, masked by role) and moving it through its lifecycle."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Awaitable, Callable, Literal

from bot.errors import Conflict, Forbidden, Invalid, NotFound
from bot.content import Content
from bot.payments.orders import case_fee_fen
from bot.lifecycle import OPEN, CaseStatus, IllegalTransition, Role, check_staff_move, staff_moves
from bot.cases import Case, CaseEvent, CaseMaterial, PledgeVerification, StaleCase
from bot.ports import AuditLog, CaseRepository
from bot.refusals import audit_refusals
from bot.scope import Part, part_of, scope_targets
from bot.staff import Staff
from bot.privacy import mask_fields
from bot.workdays import china_date

DEFERRED = "deferred"
PLEDGE = "pledge"


class MaterialsMissing(IllegalTransition):
    """A case cannot be completed while a 容缺 material has not been handed in."""


class FeeUnpaid(IllegalTransition):
    """A case with a fee cannot be completed before the fee is paid."""


class NotAPledge(Conflict):
    """The material was not provided as a 告知承诺, so there is nothing to verify."""

    detail = "这份材料不是以告知承诺方式提交的。"


class CaseNotFound(NotFound):
    """No such case, or it lies outside the staff member's department and level."""

    detail = "没有找到这个办件。"


class NotCompleted(Conflict):
    """The result of a case is delivered only once the case is completed."""

    detail = "办件办结后才能登记送达。"


class NotDeferred(Conflict):
    """The material was not accepted as 容缺, so there is nothing to hand in later."""

    detail = "这份材料不是容缺待补交的材料。"


class UnknownMaterials(Invalid):
    """A return for correction names a material the case does not have."""

    detail = "办件没有这份材料。"


class NotYourPart(Forbidden):
    """On a 一件事 bundle a department acts on its own items' part only; the lead department moves the case."""

    detail = "这部分不属于您部门办理。"


class NoUpload(NotFound):
    """The case has no uploaded file for this material (not uploaded, or provided another way)."""

    detail = "这份材料没有上传的文件。"


class CaseChanged(Conflict):
    """The case's status moved while the staff member was acting on it."""

    detail = "办件状态刚刚变化，请刷新后重试。"


def false_pledges(case: Case) -> list[CaseMaterial]:
    """Materials of the case whose 告知承诺 staff found false."""
    return [m for m in case.materials if m.verification and m.verification.outcome == "false"]


@dataclass(frozen=True)
class Deadlines:
    pre_review_due: date
    promised: date
    provisional: bool
    overdue: bool
    due_soon: bool


class CaseReview:
    """What staff may see and do; every read and every change is written to the audit log."""

    def __init__(self, cases: CaseRepository, audit: AuditLog, content: Callable[[], Content],
                 clock: Callable[[], datetime], pre_review_days: int,
                 settled: Callable[[Case], Awaitable[bool]]) -> None:
        self._cases, self._audit, self._content, self._settled = cases, audit, content, settled
        self._clock, self._pre_review_days = clock, pre_review_days

    async def queue(self, staff: Staff, statuses: list[CaseStatus] | None = None) -> list[tuple[Case, Deadlines]]:
        wanted = [s.value for s in (statuses or sorted(OPEN, key=lambda s: s.value))]
        cases = await self._cases.list_for_targets(scope_targets(self._content().catalog, staff), wanted)
        await self._audit.record(staff, "list", None, {"statuses": wanted, "count": len(cases)})
        return [(case, self.deadlines(case)) for case in cases]

    async def view(self, staff: Staff, number: str, masked: bool = False) -> Case:
        """The case with personal data (身份证号, phone, names, addresses) masked unless the role needs it and
        `masked` is not asked for (the console masks until a reason is given, see `reveal`); CaseNotFound outside
        the staff's scope. On a bundle, a department other than the lead one sees its own items' materials,
        personal data masked."""
        async with audit_refusals(self._audit, staff, "view", number):
            case, part = await self._in_scope(staff, number)
        full = self._full_view(staff, part) and not masked
        await self._audit.record(staff, "view", number, {"full_personal_data": full})
        return self._shown(staff, part, case, full)

    def moves(self, staff: Staff, case: Case) -> list[CaseStatus]:
        """The moves the staff member may make on the case now (what the console offers): the role's moves from
        its status; outside the lead department of a bundle, only a return for its own materials."""
        part = part_of(self._content().catalog, staff, case.target)
        moves = staff_moves(CaseStatus(case.status), staff.role, bool(false_pledges(case)))
        if part is None:
            return []
        return moves if part.whole else [m for m in moves if m is CaseStatus.returned]

    def field_labels(self, case: Case) -> dict[str, str]:
        """The form's label of each field of the case (the key where the field library has none)."""
        library = self._content().scripts.library
        return {key: library[key].label if key in library else key for key in case.fields}

    async def reveal(self, staff: Staff, number: str, reason: str) -> dict[str, str]:
        """The case's personal data in full for a clerk or approver of the lead department who gives a reason
        (audited with the reason). Raises CaseNotFound outside scope, Forbidden for supervisors and for other
        departments of a bundle."""
        async with audit_refusals(self._audit, staff, "reveal", number):
            case, part = await self._in_scope(staff, number)
            if staff.role is Role.supervisor or not part.whole:
                raise Forbidden("personal data is revealed to the clerks and approvers of the lead department")
        await self._audit.record(staff, "reveal", number, {"reason": reason, "fields": sorted(case.fields)})
        return case.fields

    async def material(self, staff: Staff, number: str, key: str) -> CaseMaterial:
        """An uploaded material of a case in the staff member's part, to look at (audited). Raises CaseNotFound,
        NotYourPart, NoUpload."""
        async with audit_refusals(self._audit, staff, "material_view", number, material=key):
            case, part = await self._in_scope(staff, number)
            self._check_own_material(part, key)
        found = next((m for m in case.materials if m.key == key and m.entry and m.entry.blob_id), None)
        if found is None:
            raise NoUpload()
        await self._audit.record(staff, "material_view", number, {"material": key})
        return found

    @staticmethod
    def _full_view(staff: Staff, part: Part) -> bool:
        """Personal data in full only for the clerks who accept the whole case (they check the identity)."""
        return staff.role is Role.clerk and part.whole

    def _shown(self, staff: Staff, part: Part, case: Case, full: bool) -> Case:
        """What the staff member sees of the case: personal data masked unless the view is full; outside the lead
        department of a bundle, only the materials of their own items."""
        library = self._content().scripts.library
        shown = case if full else case.model_copy(
            update={"fields": mask_fields(case.fields, library)})
        if part.whole:
            return shown
        return shown.model_copy(update={"materials": [m for m in case.materials if m.key in part.material_keys]})

    async def move(self, staff: Staff, number: str, target: CaseStatus, reason: str | None,
                   material_reasons: dict[str, str]) -> Case:
        """Apply a lifecycle move. Raises CaseNotFound outside scope, Forbidden for the role, IllegalTransition
        (a Conflict) when the case's state does not allow it or changed meanwhile, UnknownMaterials (422) for a
        material the case does not have. On a bundle a department other than the lead one may only return its
        own materials for correction (NotYourPart otherwise)."""
        async with audit_refusals(self._audit, staff, "transition", number, to=target.value):
            case, part = await self._in_scope(staff, number)
            current, false = CaseStatus(case.status), false_pledges(case)
            if false and target is CaseStatus.refused and not (reason and reason.strip()):
                reason = self._content().prompts.pledge_refusal_reason.format(
                    materials="、".join(m.name for m in false))
            check_staff_move(current, target, staff.role, reason, false_pledge=bool(false))
            self._check_materials(case, target, material_reasons)
            self._check_part(part, target, material_reasons)
        if target is CaseStatus.completed:
            await self._check_completion(case)
        detail = self._move_detail(case, target, material_reasons)
        event = CaseEvent(at=self._clock(), actor=f"staff:{staff.id}", from_status=current.value,
                          to_status=target.value, reason=reason, detail=detail)
        try:
            moved = await self._cases.transition(number, current.value, event)
        except StaleCase as exc:
            raise IllegalTransition(str(exc) or "state changed") from exc
        await self._audit.record(staff, "transition", number, {"from": current.value, "to": target.value})
        return self._shown(staff, part, moved, self._full_view(staff, part))

    @staticmethod
    def _check_materials(case: Case, target: CaseStatus, material_reasons: dict[str, str]) -> None:
        """A return for correction names the materials to fix, and only materials of the case."""
        if target is CaseStatus.returned and not material_reasons:
            raise IllegalTransition("returning for correction names the materials to fix")
        unknown = set(material_reasons) - {m.key for m in case.materials}
        if unknown:
            raise UnknownMaterials(f"unknown materials {sorted(unknown)}")

    @staticmethod
    def _check_part(part: Part, target: CaseStatus, material_reasons: dict[str, str]) -> None:
        """Outside the lead department, a bundle is only returned, and only for the department's own materials."""
        if part.whole:
            return
        if target is not CaseStatus.returned:
            raise NotYourPart(f"the lead department moves a bundle to {target.value}")
        if others := sorted(set(material_reasons) - part.material_keys):
            raise NotYourPart(f"materials of other departments {others}")

    async def _check_completion(self, case: Case) -> None:
        """A case is completed only with every 容缺 material handed in and its fee paid."""
        missing = [m.name for m in case.materials if m.entry and m.entry.kind == DEFERRED]
        if missing:
            raise MaterialsMissing(f"容缺材料尚未补交：{'、'.join(missing)}")
        if not await self._settled(case):
            raise FeeUnpaid("费用尚未缴纳，缴费后才能办结")

    def _move_detail(self, case: Case, target: CaseStatus, material_reasons: dict[str, str]) -> dict[str, object]:
        """What the move's event records: the materials to fix, the false pledges of a refusal, the fee due."""
        detail: dict[str, object] = {"materials": material_reasons}
        false = false_pledges(case)
        if false and target is CaseStatus.refused:
            detail["false_pledges"] = [m.key for m in false]
        if target is CaseStatus.accepted and (fee := case_fee_fen(case, self._content().catalog)):
            detail["fee_fen"] = fee  # the citizen is told to pay with the acceptance
        return detail

    async def deliver(self, staff: Staff, number: str, method: str, tracking: str | None) -> None:
        """A clerk records how the result reached the citizen (窗口领取 / 邮寄 / 电子证照); the citizen is told
        through the outbox. Raises CaseNotFound outside scope, Forbidden, NotCompleted."""
        async with audit_refusals(self._audit, staff, "delivery", number):
            await self._in_scope(staff, number)
            if staff.role is not Role.clerk:
                raise Forbidden("only a window clerk records the delivery of results")
        detail: dict[str, object] = {"delivery": method, "tracking": tracking}
        event = CaseEvent(at=self._clock(), actor=f"staff:{staff.id}", from_status=CaseStatus.completed.value,
                          to_status=CaseStatus.completed.value, reason=None, detail=detail)
        delivered = await self._cases.annotate(number, CaseStatus.completed.value, event, "case.delivered", detail)
        await self._audit.record(staff, "delivery", number, {**detail, "recorded": delivered})
        if not delivered:
            raise NotCompleted()

    async def events(self, number: str) -> list[CaseEvent]:
        """Status history of a case already shown to (and audited for) the staff member."""
        return await self._cases.events(number)

    async def receive(self, staff: Staff, number: str, key: str) -> None:
        """A clerk records that a 容缺 material was handed in. Raises CaseNotFound outside scope, Forbidden,
        NotDeferred; NotYourPart for another department's material of a bundle."""
        async with audit_refusals(self._audit, staff, "receive_material", number, material=key):
            _, part = await self._in_scope(staff, number)
            if staff.role is not Role.clerk:
                raise Forbidden("only a window clerk receives materials")
            self._check_own_material(part, key)
        received = await self._cases.receive_material(number, key)
        await self._audit.record(staff, "receive_material", number, {"material": key, "received": received})
        if not received:
            raise NotDeferred()

    async def verify_pledge(self, staff: Staff, number: str, key: str, outcome: Literal["confirmed", "false"],
                            note: str) -> PledgeVerification:
        """A clerk or approver records the verification (核查) of a 告知承诺, in any status of the case: a case
        event with an outbox message for the citizen, audited. Raises CaseNotFound outside scope, Forbidden,
        NotAPledge, CaseChanged (the status moved meanwhile); NotYourPart for another department's pledge."""
        async with audit_refusals(self._audit, staff, "verify_pledge", number, material=key):
            case, part = await self._in_scope(staff, number)
            if staff.role not in (Role.clerk, Role.approver):
                raise Forbidden("pledges are verified by the department's clerks and approvers")
            self._check_own_material(part, key)
        material = next((m for m in case.materials if m.key == key and m.entry and m.entry.kind == PLEDGE), None)
        if material is None:
            raise NotAPledge(f"material {key} was not pledged")
        actor, at, note = f"staff:{staff.id}", self._clock(), note.strip()
        verification = PledgeVerification(outcome=outcome, note=note, by=actor, at=at)
        event = CaseEvent(at=at, actor=actor, from_status=case.status, to_status=case.status, reason=None,
                          detail={"pledge": key, "outcome": outcome, "note": note})
        verified = material.model_copy(update={"verification": verification})
        recorded = await self._cases.annotate(number, case.status, event, "case.pledge_verified",
                                              {"pledge": key, "material": material.name, "outcome": outcome},
                                              materials=[verified])
        await self._audit.record(staff, "verify_pledge", number,
                                 {"material": key, "outcome": outcome, "recorded": recorded})
        if not recorded:
            raise CaseChanged("state changed")
        return verification

    def deadlines(self, case: Case) -> Deadlines:
        calendar = self._content().calendar
        due = calendar.add_workdays(china_date(case.submitted_at), self._pre_review_days)
        today = china_date(self._clock())
        open_case = CaseStatus(case.status) in OPEN
        waiting_review = CaseStatus(case.status) is CaseStatus.submitted
        limit = due.date if waiting_review else case.promised_date
        next_workday = calendar.add_workdays(today, 1).date
        return Deadlines(pre_review_due=due.date, promised=case.promised_date,
                         provisional=case.provisional_date or due.provisional,
                         overdue=open_case and today > limit, due_soon=open_case and today <= limit <= next_workday)

    @staticmethod
    def _check_own_material(part: Part, key: str) -> None:
        if not part.whole and key not in part.material_keys:
            raise NotYourPart(f"material {key} belongs to another department's part")

    async def _in_scope(self, staff: Staff, number: str) -> tuple[Case, Part]:
        """The case and the staff member's part of it, if it lies in their department and level; CaseNotFound
        otherwise."""
        case = await self._cases.get(number)
        part = part_of(self._content().catalog, staff, case.target) if case else None
        if case is None or part is None:
            raise CaseNotFound()
        return case, part
