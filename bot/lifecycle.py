"""办件 lifecycle: the states a case goes through and which moves between them are allowed, by whom.

    submitted ──> returned (补正) ──> submitted (citizen corrects) ...
        │
        └──> pre_reviewed ──> accepted ──> in_progress ──> completed
                   │             │
                   └──> refused <┘          (withdrawn: by the citizen, from any open state)
"""
from __future__ import annotations

from enum import Enum

from bot.errors import Conflict, Forbidden


class CaseStatus(str, Enum):
    submitted = "submitted"        # 已提交，待预审
    returned = "returned"          # 预审退回补正
    pre_reviewed = "pre_reviewed"  # 预审通过，待受理
    accepted = "accepted"          # 已受理
    refused = "refused"            # 不予受理
    in_progress = "in_progress"    # 审批中
    completed = "completed"        # 已办结
    withdrawn = "withdrawn"        # 申请人撤回


class DeliveryMethod(str, Enum):
    """How the result of a completed case reached the citizen."""

    window = "window"      # 窗口领取
    mail = "mail"          # 邮寄 (with a tracking number)
    elicence = "elicence"  # 电子证照


class Role(str, Enum):
    clerk = "clerk"            # 窗口受理
    approver = "approver"      # 审批
    supervisor = "supervisor"  # 督办 (reads, never moves cases)
    editor = "editor"          # intent studio: drafts content versions (never sees cases)
    publisher = "publisher"    # intent studio: also publishes and rolls back (never sees cases)


CASEWORK = frozenset({Role.clerk, Role.approver, Role.supervisor})  # the roles the case APIs serve

OPEN = {CaseStatus.submitted, CaseStatus.returned, CaseStatus.pre_reviewed, CaseStatus.accepted,
        CaseStatus.in_progress}

# (from, to) -> roles allowed to make that move; "citizen" moves come from the chat, not the staff API.
MOVES: dict[tuple[CaseStatus, CaseStatus], frozenset[Role]] = {
    (CaseStatus.submitted, CaseStatus.returned): frozenset({Role.clerk}),
    (CaseStatus.submitted, CaseStatus.pre_reviewed): frozenset({Role.clerk}),
    (CaseStatus.pre_reviewed, CaseStatus.accepted): frozenset({Role.clerk}),
    (CaseStatus.pre_reviewed, CaseStatus.refused): frozenset({Role.clerk, Role.approver}),
    (CaseStatus.accepted, CaseStatus.in_progress): frozenset({Role.approver}),
    (CaseStatus.accepted, CaseStatus.refused): frozenset({Role.approver}),
    (CaseStatus.in_progress, CaseStatus.completed): frozenset({Role.approver}),
}
CITIZEN_MOVES = {(CaseStatus.returned, CaseStatus.submitted)} | {(s, CaseStatus.withdrawn) for s in OPEN}
NEEDS_REASON = {CaseStatus.returned, CaseStatus.refused, CaseStatus.withdrawn}


class IllegalTransition(Conflict):
    """A move the lifecycle does not allow from the case's current state."""

    detail = "办件当前状态不允许这个操作。"


def staff_moves(current: CaseStatus, role: Role, false_pledge: bool = False) -> list[CaseStatus]:
    """The statuses `role` may move a case in `current` to (what the console offers; check_staff_move decides)."""
    moves = [to for (source, to), roles in MOVES.items() if source is current and role in roles]
    if false_pledge and current in OPEN and role is Role.approver and CaseStatus.refused not in moves:
        moves.append(CaseStatus.refused)
    return moves


def check_staff_move(current: CaseStatus, target: CaseStatus, role: Role, reason: str | None,
                     false_pledge: bool = False) -> None:
    """Raise IllegalTransition (or Forbidden for the role) unless `role` may move a case from `current` to
    `target`. A 告知承诺 found false (`false_pledge`) lets the approver refuse an open case from any state; nothing refuses it automatically."""
    allowed = MOVES.get((current, target))
    if false_pledge and target is CaseStatus.refused and current in OPEN:
        allowed = (allowed or frozenset()) | {Role.approver}
    if allowed is None:
        raise IllegalTransition(f"cannot go from {current.value} to {target.value}")
    if role not in allowed:
        raise Forbidden(f"role {role.value} may not move a case to {target.value}")
    if target in NEEDS_REASON and not (reason and reason.strip()):
        raise IllegalTransition(f"moving to {target.value} needs a reason")
