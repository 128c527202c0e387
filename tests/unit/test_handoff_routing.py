"""Which desk a chat goes to: the item in context, else a department the citizen picked, else the general desk."""
from __future__ import annotations

from bot.content import Content
from bot.handoff.routing import Desk, departments, route

GENERAL = Desk("政务服务中心综合窗口", "city")


def test_the_item_in_context_decides(content: Content) -> None:
    assert route(content.catalog, "GA0020000", "德令哈市民政局", GENERAL) == Desk("德令哈市公安局", "township")


def test_a_bundle_goes_to_its_lead_department(content: Content) -> None:
    assert route(content.catalog, "bundle:newborn", None, GENERAL) == Desk("德令哈市卫生健康委员会", "city")


def test_a_picked_department_or_else_the_general_desk(content: Content) -> None:
    picked = route(content.catalog, None, "德令哈市公安局", GENERAL)
    assert picked.department == "德令哈市公安局"
    assert route(content.catalog, None, None, GENERAL) == GENERAL
    assert route(content.catalog, None, "不存在的部门", GENERAL) == GENERAL
    assert route(content.catalog, "gone-item", None, GENERAL) == GENERAL


def test_departments_with_most_items_are_offered_first(content: Content) -> None:
    counts = {d.department: sum(i.department == d.department for i in content.catalog.items.values())
              for d in departments(content.catalog)}
    ranked = list(counts.values())
    assert ranked == sorted(ranked, reverse=True) and len(counts) == len(set(counts))
