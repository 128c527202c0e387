"""Answers and the item card for what an imported item leaves unstated or adds: an unknown fee, 自然日 and 无
time limits, an online-only item without a window, 咨询电话, 情形."""
from __future__ import annotations

from datetime import date
from typing import Any

from bot.catalog import ServiceItem, Target
from bot.catalog.models import DEFAULT_HOURS
from bot.content import Content
from bot.dialogue.answers import answer, item_card
from bot.dialogue.topics import Topic


def _item(**changes: Any) -> ServiceItem:
    data: dict[str, Any] = {
        "code": "11440000006939756B2440101007000", "implementation_code": "11440000006939756B2440101007000",
        "basic_code": "440101007000", "name": "临时价格干预范围事项提价申报", "type": "行政许可",
        "department": "广东省发展和改革委员会", "level": "province", "fee": {"unknown": True},
        "promised_days": 7, "legal_days": 30, "legal_unit": "calendar", "online": "full_online",
        "consult_phone": "020-34121084", "platform": "广东省政务服务网", "situation": "首次申报"}
    return ServiceItem.model_validate({**data, **changes})


def _target(item: ServiceItem) -> Target:
    return Target(item.code, item.name, (item,))


def _card(target: Target, content: Content) -> dict[str, str]:
    return {f.label: f.value for f in item_card(target, content.prompts).fields}


def test_unknown_fee_is_to_be_confirmed_never_free(content: Content) -> None:
    target = _target(_item())
    text = answer(Topic.fee, target, content.prompts).text
    assert "以办理窗口答复为准" in text and "不收费" not in text and "020-34121084" in text
    card = _card(target, content)
    assert card["收费"] == content.prompts.to_confirm and "免费" not in card["收费"]
    assert card["办理层级"] == "省级" and card["情形"] == "首次申报" and card["咨询电话"] == "020-34121084"
    assert "说明" not in card  # no 办事指南 in the export: nothing made up


def test_time_limits_keep_their_unit_and_none_is_not_instant(content: Content) -> None:
    text = answer(Topic.time, _target(_item()), content.prompts).text
    assert "7个工作日" in text and "30个自然日" in text
    unstated = _target(_item(promised_days=None, legal_days=None))
    text = answer(Topic.time, unstated, content.prompts).text
    assert text.count(content.prompts.to_confirm) == 2 and "当场办结" not in text
    assert _card(unstated, content)["承诺时限"] == content.prompts.to_confirm


def test_deadline_counts_calendar_days_as_calendar_days(content: Content) -> None:
    friday = date(2026, 12, 4)
    calendar_limit = _target(_item(promised_days=10, promised_unit="calendar", legal_days=None))
    assert calendar_limit.deadline(content.calendar, friday).date == date(2026, 12, 14)
    working_limit = _target(_item(promised_days=10, legal_days=None))
    assert working_limit.deadline(content.calendar, friday).date == date(2026, 12, 18)


def test_online_only_item_has_no_opening_hours(content: Content) -> None:
    online = _item(locations=[{"name": "广东省发展和改革委员会", "address": "广州市越秀区东风中路305号"}])
    assert online.locations[0].hours is None
    text = answer(Topic.location, _target(online), content.prompts).text
    assert "东风中路305号" in text and "周一" not in text and "咨询电话：020-34121084" in text
    window = _item(online="one_visit", locations=[{"name": "窗口", "address": "东风中路305号"}])
    assert window.locations[0].hours == DEFAULT_HOURS
    no_window = answer(Topic.location, _target(_item()), content.prompts).text
    assert "广东省政务服务网" in no_window


def test_unstated_conditions_and_basis_are_to_be_confirmed(content: Content) -> None:
    target = _target(_item())
    for topic in (Topic.conditions, Topic.legal):
        assert "以办理窗口答复为准" in answer(topic, target, content.prompts).text
