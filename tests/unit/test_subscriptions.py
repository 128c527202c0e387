"""SubscribeChannel: which template carries which event, the template data, and what each WeChat outcome does."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timezone

import pytest

from bot.content import Content
from bot.outbox.events import OutboxEvent
from bot.cases import Case
from bot.subscriptions import (ConsentMissing, SendRejected, SendUnavailable, SubscribeChannel, TemplateData,
                               status_phrase, template_kind)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
DATA = TemplateData(templates={"progress": "tp", "completed": "tc", "rating": "tr", "correction": ""},
                    page="pages/case/index", item_key="thing1", number_key="character_string2",
                    status_key="phrase3", time_key="time4")
CASE = Case(number="DLH20261127000001", status="accepted", user="oUser1", target="GA0020000",
            target_name="居民身份证换领（有效期满换领、损坏换领及登记项目变更）", item_codes=["GA0020000"], fields={},
            materials=[], submitted_at=NOW, promised_date=date(2026, 12, 18), provisional_date=False,
            idempotency_key="k")


def event(type_: str, event_id: int = 1, **payload: object) -> OutboxEvent:
    return OutboxEvent(id=event_id, case_number=CASE.number, type=type_, payload={"user": "oUser1", **payload})


@pytest.mark.parametrize("outbox_event, kind", [
    (event("case.status_changed", to="returned"), "correction"),
    (event("case.status_changed", to="completed"), "completed"),
    (event("case.status_changed", to="accepted"), "progress"),
    (event("case.status_changed", to="refused"), "progress"),
    (event("case.delivered", delivery="mail"), "progress"),
    (event("rectification.closed"), "rating"),
    (event("case.submitted"), None),
    (event("payment.paid"), None),
    (event("rating.bad"), None),
])
def test_template_kinds(outbox_event: OutboxEvent, kind: str | None) -> None:
    assert template_kind(outbox_event) == kind


def test_status_phrases_fit_the_template(content: Content) -> None:
    assert status_phrase(event("case.status_changed", to="accepted"), content.prompts) == "已受理"
    assert status_phrase(event("case.delivered"), content.prompts) == "结果已送达"
    assert status_phrase(event("case.status_changed", to="new_status"), content.prompts) == "有新进度"
    assert all(len(phrase) <= 5 for phrase in content.prompts.subscribe_phrases.values())


class FakeSender:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, str, str, dict[str, str]]] = []

    async def send(self, openid: str, template_id: str, page: str, data: Mapping[str, str]) -> None:
        if self.error:
            raise self.error
        self.sent.append((openid, template_id, page, dict(data)))


class FakeQuota:
    def __init__(self, left: int) -> None:
        self.left = left
        self.taken: set[int] = set()
        self.calls: list[str] = []

    async def take(self, user: str, template_id: str, event_id: int, now: datetime) -> bool:
        if self.left <= 0 or event_id in self.taken:
            return False
        self.left -= 1
        self.taken.add(event_id)
        return True

    async def give_back(self, user: str, template_id: str, event_id: int, now: datetime) -> None:
        self.taken.discard(event_id)
        self.left += 1
        self.calls.append("give_back")

    async def clear(self, user: str, template_id: str, now: datetime) -> None:
        self.left = 0
        self.calls.append("clear")


class FakeCases:
    async def get(self, number: str) -> Case | None:
        return CASE if number == CASE.number else None


def channel(sender: FakeSender, quota: FakeQuota, content: Content) -> SubscribeChannel:
    return SubscribeChannel(sender, quota, FakeCases(), DATA, lambda: content.prompts,  # type: ignore[arg-type]
                            lambda: NOW, logging.getLogger("t"))


async def test_sends_once_with_the_template_data(content: Content) -> None:
    sender, quota = FakeSender(), FakeQuota(2)
    accepted = event("case.status_changed", to="accepted")
    for _ in range(2):
        await channel(sender, quota, content).handle(accepted)
    assert sender.sent == [("oUser1", "tp", f"pages/case/index?case={CASE.number}", {
        "thing1": CASE.target_name[:20], "character_string2": CASE.number, "phrase3": "已受理",
        "time4": "2026年11月27日 10:00"})]
    assert quota.left == 1


async def test_nothing_is_sent_without_template_user_or_consent(content: Content) -> None:
    sender, quota = FakeSender(), FakeQuota(0)
    await channel(sender, FakeQuota(5), content).handle(event("case.status_changed", to="returned"))
    await channel(sender, FakeQuota(5), content).handle(event("case.submitted"))
    await channel(sender, FakeQuota(5), content).handle(event("case.status_changed", to="accepted", user=""))
    await channel(sender, quota, content).handle(event("case.status_changed", to="accepted"))
    assert sender.sent == []


async def test_each_wechat_outcome(content: Content) -> None:
    accepted = event("case.status_changed", to="accepted")
    quota = FakeQuota(3)
    await channel(FakeSender(ConsentMissing("43101")), quota, content).handle(accepted)
    assert (quota.left, quota.calls) == (0, ["clear"])  # not retried: in-chat has it

    quota = FakeQuota(1)
    await channel(FakeSender(SendRejected("47003")), quota, content).handle(accepted)
    assert (quota.left, quota.calls) == (1, ["give_back"])  # not retried either

    quota = FakeQuota(1)
    with pytest.raises(SendUnavailable):  # the dispatcher retries with back-off
        await channel(FakeSender(SendUnavailable("timeout")), quota, content).handle(accepted)
    assert (quota.left, quota.calls, quota.taken) == (1, ["give_back"], set())
