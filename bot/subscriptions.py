"""Subscribe messages (订阅消息) as a progress channel, counted against the citizen's consents.

The mini-program asks with wx.requestSubscribeMessage and posts the result; every "accept" allows one message of
that template (one consent = one message), "ban" (the user switched the template off) clears what is left.
`SubscribeChannel` is a message handler of the outbox (bot/outbox/registry.py): it maps an event to a template
kind, takes one consent atomically, and sends. The in-chat channel always has the message too, so when there is
no template, no consent or no WeChat user, it quietly sends nothing.

Which template carries which event:

| event | template kind |
|---|---|
| case.status_changed to `returned` | correction (补正通知) |
| case.status_changed to `completed` | completed (办结通知; its text invites the rating) |
| any other case.status_changed | progress |
| case.delivered, case.pledge_verified, payment.refunded | progress |
| rectification.closed (the citizen is asked whether the problem is solved) | rating (评价提醒) |
| case.submitted, payment.paid, rating.bad | none: the citizen has just done it in the mini-program |

A staff answer in a handoff that the customer-service send API cannot carry goes out as `handoff` (人工客服回复)
through `StaffReplyNotice` (bot/handoff/wechat.py), not the outbox.

Template data (keys in settings `wechat_subscribe`): the item name (≤ 20 characters), the case number, a status
phrase of ≤ 5 characters (prompts `subscribe_phrases`) and the time of sending (Beijing time).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Literal, Protocol

from bot.dialogue.prompts import Prompts
from bot.outbox.events import MESSAGE, OutboxEvent
from bot.ports import CaseRepository
from bot.privacy import mask_text

Kind = Literal["progress", "completed", "rating", "correction"]
ConsentResult = Literal["accept", "reject", "ban", "filter"]
Notified = Literal["sent", "no_consent", "not_sent"]
BEIJING = timezone(timedelta(hours=8))
_BY_STATUS: dict[str, Kind] = {"returned": "correction", "completed": "completed"}
_BY_EVENT: dict[str, Kind] = {"case.delivered": "progress", "case.pledge_verified": "progress",
                              "payment.refunded": "progress", "rectification.closed": "rating"}
_PHRASE_BY_EVENT = {"case.delivered": "delivered", "case.pledge_verified": "pledge_verified",
                    "payment.refunded": "refunded", "rectification.closed": "rectified"}


class ConsentMissing(Exception):
    """WeChat says the user has no consent left for the template (43101)."""


class SendUnavailable(Exception):
    """WeChat could not be reached or is busy: try again later."""


class SendRejected(Exception):
    """WeChat refused the message for another reason (e.g. data not matching the template): retrying won't help."""


class SubscribeSender(Protocol):
    async def send(self, openid: str, template_id: str, page: str, data: Mapping[str, str]) -> None:
        """Raises ConsentMissing, SendUnavailable or SendRejected."""


class SubscribeQuota(Protocol):
    """Remaining consents per (user, template), and which events were sent (so a redelivery sends nothing)."""

    async def grant(self, user: str, template_id: str, count: int, now: datetime) -> int:
        """Add consents; returns how many are left."""
    async def clear(self, user: str, template_id: str, now: datetime) -> None:
        """No consent left (the user switched it off, or WeChat said so)."""
    async def take(self, user: str, template_id: str, event_id: int, now: datetime) -> bool:
        """Use one consent for the event, atomically; False when none is left or the event was already taken."""
    async def give_back(self, user: str, template_id: str, event_id: int, now: datetime) -> None:
        """Undo `take` (the message did not go out)."""
    async def remaining(self, user: str, template_id: str) -> int: ...


@dataclass(frozen=True)
class TemplateData:
    """Template ids per kind (empty: not sent) and the keys of the four values; the page the message opens."""

    templates: Mapping[str, str]  # by Kind
    page: str
    item_key: str
    number_key: str
    status_key: str
    time_key: str
    reply_department_key: str = "thing1"  # the 人工客服回复 template (StaffReplyNotice)
    reply_excerpt_key: str = "thing2"
    reply_time_key: str = "time3"


def sent_time(now: datetime) -> str:
    """The time value of a template, in Beijing time."""
    return now.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M")


def template_kind(event: OutboxEvent) -> Kind | None:
    """The kind of template that carries the event, None when it stays in the chat only."""
    if event.type == "case.status_changed":
        return _BY_STATUS.get(str(event.payload.get("to")), "progress")
    return _BY_EVENT.get(event.type)


def status_phrase(event: OutboxEvent, prompts: Prompts) -> str:
    """The ≤ 5 character status of the event, e.g. 已受理."""
    key = str(event.payload.get("to")) if event.type == "case.status_changed" else _PHRASE_BY_EVENT[event.type]
    return prompts.subscribe_phrases.get(key, prompts.subscribe_phrases["default"])[:5]


class Subscriptions:
    """The consents a citizen gives in the mini-program."""

    def __init__(self, quota: SubscribeQuota, templates: Mapping[str, str], clock: Callable[[], datetime]) -> None:
        self._quota, self._clock = quota, clock
        self._known = {t for t in templates.values() if t}

    async def record(self, user: str, results: Mapping[str, ConsentResult]) -> dict[str, int]:
        """Count the result of one wx.requestSubscribeMessage; returns the consents left per configured template
        in it (other template ids are ignored: we never send them)."""
        now = self._clock()
        left: dict[str, int] = {}
        for template_id, result in results.items():
            if template_id not in self._known:
                continue
            if result == "accept":
                left[template_id] = await self._quota.grant(user, template_id, 1, now)
                continue
            if result == "ban":
                await self._quota.clear(user, template_id, now)
            left[template_id] = await self._quota.remaining(user, template_id)
        return left


class SubscribeChannel:
    """Message handler: one subscribe message per event when the citizen has a consent left for its template."""

    name, retry = "subscribe", MESSAGE

    def __init__(self, sender: SubscribeSender, quota: SubscribeQuota, cases: CaseRepository, data: TemplateData,
                 prompts: Callable[[], Prompts], clock: Callable[[], datetime], log: logging.Logger) -> None:
        self._sender, self._quota, self._cases, self._data = sender, quota, cases, data
        self._prompts, self._clock, self._log = prompts, clock, log

    async def handle(self, event: OutboxEvent) -> None:
        """Send, or skip quietly; raises only when WeChat is unreachable (the consent is given back first), so the
        dispatcher retries with back-off."""
        user = str(event.payload.get("user", ""))
        kind = template_kind(event)
        template = self._data.templates.get(kind, "") if kind else ""
        case = await self._cases.get(event.case_number) if template and user else None
        if case is None or not await self._quota.take(user, template, event.id, self._clock()):
            return
        data = self._data
        values = {data.item_key: case.target_name[:20], data.number_key: case.number,
                  data.status_key: status_phrase(event, self._prompts()),
                  data.time_key: sent_time(self._clock())}
        try:
            await self._sender.send(user, template, f"{data.page}?case={case.number}", values)
        except ConsentMissing:
            await self._quota.clear(user, template, self._clock())
            self._log.info("subscribe message for event %d: no consent left at WeChat; in-chat only", event.id)
        except SendRejected as exc:
            await self._quota.give_back(user, template, event.id, self._clock())
            self._log.warning("subscribe message for event %d refused by WeChat: %s", event.id, exc)
        except SendUnavailable:
            await self._quota.give_back(user, template, event.id, self._clock())
            raise


class StaffReplyNotice:
    """One subscribe message of the `handoff` template (人工客服回复: the department, the answer's first words masked,
    the time) telling a WeChat user that a staff answer waits in the chat."""

    def __init__(self, sender: SubscribeSender, quota: SubscribeQuota, data: TemplateData,
                 clock: Callable[[], datetime], log: logging.Logger) -> None:
        self._sender, self._quota, self._data, self._clock, self._log = sender, quota, data, clock, log

    async def send(self, user: str, department: str, text: str, key: int) -> Notified:
        """Takes one consent under `key` (negative: outbox events take the positive ids; a second take of the same
        key, from another instance, sends nothing). "no_consent" when the citizen has none left; "not_sent" when
        the template is not configured, the key was taken, or WeChat refused or was unreachable (consent given
        back)."""
        template, data, now = self._data.templates.get("handoff", ""), self._data, self._clock()
        if not template:
            return "not_sent"
        if not await self._quota.take(user, template, key, now):
            return "no_consent" if await self._quota.remaining(user, template) == 0 else "not_sent"
        excerpt = mask_text(" ".join(text.split()))
        values = {data.reply_department_key: department[:20], data.reply_time_key: sent_time(now),
                  data.reply_excerpt_key: excerpt if len(excerpt) <= 20 else excerpt[:19] + "…"}
        try:
            await self._sender.send(user, template, data.page, values)
        except ConsentMissing:
            await self._quota.clear(user, template, now)
            return "no_consent"
        except (SendRejected, SendUnavailable) as exc:
            await self._quota.give_back(user, template, key, now)
            self._log.warning("subscribe message for a staff answer not sent: %s", exc)
            return "not_sent"
        return "sent"
