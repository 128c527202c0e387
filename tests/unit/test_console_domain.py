"""What the staff console offers: the moves each role may make from each status (the roles × transitions table),
and 网上可办率 per department."""
from __future__ import annotations

import pytest

from bot.lifecycle import CaseStatus as S
from bot.lifecycle import Role, staff_moves


@pytest.mark.parametrize("status, role, moves", [
    (S.submitted, Role.clerk, [S.returned, S.pre_reviewed]), (S.submitted, Role.approver, []),
    (S.pre_reviewed, Role.clerk, [S.accepted, S.refused]), (S.pre_reviewed, Role.approver, [S.refused]),
    (S.accepted, Role.approver, [S.in_progress, S.refused]), (S.in_progress, Role.approver, [S.completed]),
    (S.in_progress, Role.clerk, []), (S.completed, Role.approver, []),
    *[(status, Role.supervisor, []) for status in S],
])
def test_each_role_is_offered_exactly_its_moves(status: S, role: Role, moves: list[S]) -> None:
    assert staff_moves(status, role) == moves


def test_a_false_pledge_lets_the_approver_refuse_any_open_case() -> None:
    assert staff_moves(S.submitted, Role.approver, false_pledge=True) == [S.refused]
    assert staff_moves(S.accepted, Role.approver, false_pledge=True) == [S.in_progress, S.refused]
    assert staff_moves(S.completed, Role.approver, false_pledge=True) == []
    assert staff_moves(S.submitted, Role.clerk, false_pledge=True) == [S.returned, S.pre_reviewed]


def test_online_rate_per_department_adds_up_to_the_catalogs(content) -> None:
    catalog = content.catalog
    rates = catalog.online_rates()
    counts = {d: sum(i.department == d for i in catalog.items.values()) for d in rates}
    assert set(rates) == {i.department for i in catalog.items.values()} and all(0 <= r <= 1 for r in rates.values())
    assert sum(rates[d] * counts[d] for d in rates) / len(catalog.items) == pytest.approx(catalog.online_rate())
    assert 0 < rates["德令哈市公安局"] < 1
