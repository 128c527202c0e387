"""Domain refusals of the staff services become problem details in one place, with the Chinese detail staff see."""
from __future__ import annotations

import json

import pytest

from bot.errors import DomainError, Forbidden
from bot.feedback import TicketNotFound
from bot.lifecycle import IllegalTransition
from bot.review import CaseChanged, CaseNotFound, MaterialsMissing, NotAPledge, NotCompleted, NotDeferred
from handlers.problems import domain_problem


REFUSALS = [
    (CaseNotFound(), 404, "没有找到这个办件。", None),
    (TicketNotFound(), 404, "没有找到这个整改单。", None),
    (Forbidden("only a window clerk receives materials"), 403, "您的岗位不能执行这个操作。",
     "only a window clerk receives materials"),
    (IllegalTransition("cannot go from submitted to completed"), 409, "办件当前状态不允许这个操作。",
     "cannot go from submitted to completed"),
    (MaterialsMissing("容缺材料尚未补交：户口簿"), 409, "办件当前状态不允许这个操作。", "容缺材料尚未补交：户口簿"),
    (NotCompleted(), 409, "办件办结后才能登记送达。", None),
    (NotDeferred(), 409, "这份材料不是容缺待补交的材料。", None),
    (NotAPledge("material x was not pledged"), 409, "这份材料不是以告知承诺方式提交的。", "material x was not pledged"),
    (CaseChanged("state changed"), 409, "办件状态刚刚变化，请刷新后重试。", "state changed"),
]


@pytest.mark.parametrize(("error", "status", "detail", "reason"), REFUSALS, ids=[type(r[0]).__name__ for r in REFUSALS])
def test_each_refusal_has_its_status_and_detail(error: DomainError, status: int, detail: str,
                                                reason: str | None) -> None:
    response = domain_problem(error)
    assert response.text is not None
    body = json.loads(response.text)
    assert (response.status, response.content_type) == (status, "application/problem+json")
    assert (body["status"], body["detail"], body.get("reason")) == (status, detail, reason)
