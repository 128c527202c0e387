"""The human service desk: a citizen's chat queued for their department (or left as a callback outside working
hours), claimed by one staff member (首问负责), answered, transferred, closed; every staff access audited.

The citizen's side is called by the dialogue under the citizen's lock; the staff side by the staff API. What the
citizen must see goes into their in-chat list (GET /api/v1/messages) and out on the live channel."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bot.content import Content
from bot.errors import Forbidden, Invalid
from bot.handoff.board import Board
from bot.handoff.hours import WorkingHours
from bot.handoff.live import LiveChannel, Presence, citizen_topic, department_topic, staff_topic
from bot.handoff.live_inbox import inbox_event
from bot.handoff.models import (OPEN, Author, Handoff, HandoffConflict, HandoffContext, HandoffMessage,
                                HandoffNotFound, HandoffStatus, HandoffStore)
from bot.handoff.routing import Desk, departments
from bot.handoff.settings import DeskSettings
from bot.handoff.sla import Sla
from bot.handoff.upkeep import Upkeep
from bot.handoff.wechat import WeChatReach
from bot.notify import Inbox
from bot.ports import AuditLog
from bot.ratings import Rating, RatingLevel, RatingStore, Rectification
from bot.refusals import audit_refusals
from bot.staff import Staff
from bot.workdays import china_date


@dataclass(frozen=True)
class Opening:
    """A chat handed over: queued with `ahead` chats before it, or left as a callback (status callback)."""

    handoff: Handoff
    ahead: int
    wait_seconds: int


class HandoffDesk:
    def __init__(self, store: HandoffStore, content: Callable[[], Content], clock: Callable[[], datetime],
                 settings: DeskSettings, presence: Presence, live: LiveChannel, inbox: Inbox, ratings: RatingStore,
                 audit: AuditLog, wechat: WeChatReach | None = None) -> None:
        self._store, self._content, self._clock, self.settings = store, content, clock, settings
        self._presence, self._live, self._inbox, self._ratings, self._audit = presence, live, inbox, ratings, audit
        self.hours = WorkingHours(lambda day: settings.every_day or content().calendar.is_workday(day),
                                  settings.opens, settings.closes)
        self.sla = Sla(self.hours, settings.targets)
        self.board = Board(store, self.sla, presence, clock)
        self.upkeep = Upkeep(store, content, clock, settings.retention_days)
        self._log, self._wechat = logging.getLogger("zhengwu.handoff"), wechat

    def now(self) -> datetime:
        return self._clock()

    async def online(self, department: str) -> list[int]:
        """Ids of the department's staff with their console open."""
        return await self._presence.online(department)

    # --- the citizen's side -------------------------------------------------------------------------------

    async def current(self, user: str) -> Handoff | None:
        return await self._store.open_for(user)

    async def open(self, user: str, context: HandoffContext, desk: Desk, channel: str) -> Opening:
        """Queue the chat for the desk when it is open and someone of it is online, else make it a callback."""
        now = self._clock()
        online = await self._presence.online(desk.department)
        status = HandoffStatus.waiting if self.hours.is_open(now) and online else HandoffStatus.callback
        handoff = Handoff(user=user, channel=channel, department=desk.department, level=desk.level, status=status,
                          context=context, created_at=now,
                          callback_due=self.hours.next_workday(now) if status is HandoffStatus.callback else None)
        if status is HandoffStatus.waiting and self.settings.auto_assign:
            owner = await self._next_owner(desk.department, online)
            if owner is not None:
                handoff = handoff.model_copy(update={"status": HandoffStatus.active, "owner_id": owner,
                                                     "first_owner_id": owner, "claimed_at": now,
                                                     "auto_assigned": True})
        first = [HandoffMessage(handoff_id=0, author=Author.bot, text=turn, created_at=now)
                 for turn in context.last_turns]
        handoff = await self._store.add(handoff, first)
        await self._queue_changed(handoff)
        ahead = 0
        if handoff.status is HandoffStatus.waiting:
            waiting = await self._store.listing(desk.department, [HandoffStatus.waiting], None, 500)
            ahead = sum(h.created_at < handoff.created_at or h.id < handoff.id for h in waiting)
        return Opening(handoff, ahead, (ahead + 1) * self.settings.seconds_per_chat)

    async def citizen_says(self, handoff_id: int, text: str) -> Handoff | None:
        """Pass a citizen's message to whoever has the chat (None: it was closed meanwhile); one transaction,
        published once committed."""
        stored = await self._store.citizen_message(HandoffMessage(handoff_id=handoff_id, author=Author.citizen,
                                                                  text=text, created_at=self._clock()))
        if stored is None:
            return None
        handoff, message = stored
        await self._to_staff(handoff, _message_event(handoff, message))
        return handoff

    async def leave(self, handoff_id: int) -> None:
        """The citizen went back to the bot: a waiting or active chat closes (a callback stays to be called)."""
        handoff = await self._store.get(handoff_id)
        if handoff is None or handoff.status not in OPEN:
            return
        now = self._clock()
        closed = handoff.model_copy(update={"status": HandoffStatus.closed, "closed_at": now,
                                            "summary": handoff.summary or "群众结束了人工服务"})
        if await self._store.update(closed, expect=handoff.status):
            await self._store.add_message(HandoffMessage(handoff_id=handoff_id, author=Author.event,
                                                         text="群众结束了人工服务", created_at=now))
            await self._queue_changed(closed)

    async def rate(self, user: str, handoff_id: int, level: RatingLevel) -> Rating | None:
        """好差评 of a closed human session (once); a bad one opens a rectification ticket for its department."""
        handoff = await self._store.get(handoff_id)
        if handoff is None or handoff.user != user or handoff.status is not HandoffStatus.closed or handoff.rating:
            return None
        now = self._clock()
        rating = Rating(case_number=handoff.reference, user=user, level=level, tags=["人工服务"], created_at=now,
                        updated_at=now)
        ticket = None
        if level.bad:
            calendar, today = self._content().calendar, china_date(now)
            ticket = Rectification(id=0, case_number=handoff.reference, department=handoff.department, level=level,
                                   status="open", callback_due=calendar.add_workdays(today, 1).date,
                                   rectify_due=calendar.add_workdays(today, 15).date)
        if not await self._store.update(handoff.model_copy(update={"rating": int(level)}),
                                        expect=HandoffStatus.closed):
            return None
        await self._ratings.save(rating, ticket)
        return rating

    # --- the staff side -----------------------------------------------------------------------------------

    async def listing(self, staff: Staff, statuses: list[HandoffStatus]) -> list[Handoff]:
        return await self._store.listing(staff.department, statuses, staff.id, 200)

    async def view(self, staff: Staff, handoff_id: int) -> tuple[Handoff, list[HandoffMessage]]:
        """The chat and its messages (private notes and the log included); audited, refusals too."""
        handoff = await self._visible(staff, handoff_id, "handoff_view")
        await self._audit.record(staff, "handoff_view", handoff.reference, {"handoff": handoff_id})
        return handoff, await self._store.messages(handoff_id, include_private=True)

    async def reveal(self, staff: Staff, handoff_id: int, reason: str) -> dict[str, str]:
        """The fields of the context card in full, for a stated reason; audited with it."""
        handoff = await self._visible(staff, handoff_id, "handoff_reveal")
        await self._audit.record(staff, "handoff_reveal", handoff.reference, {"handoff": handoff_id, "reason": reason})
        return handoff.context.fields

    async def claim(self, staff: Staff, handoff_id: int) -> Handoff:
        """首问负责: the first to claim a waiting chat of their department owns it until it is closed."""
        handoff = await self._visible(staff, handoff_id, "handoff_claim")
        if handoff.status is not HandoffStatus.waiting or handoff.department != staff.department:
            raise HandoffConflict("only a waiting chat of the department can be claimed")
        if await self._store.active_count(staff.id) >= self.settings.per_person_limit:
            raise HandoffConflict(f"at most {self.settings.per_person_limit} chats at a time")
        now = self._clock()
        claimed = handoff.model_copy(update={"status": HandoffStatus.active, "owner_id": staff.id,
                                             "claimed_at": now, "first_owner_id": handoff.first_owner_id or staff.id})
        if not await self._store.update(claimed, expect=HandoffStatus.waiting):
            raise HandoffConflict("someone else claimed it first")
        await self._event(claimed, f"{staff.name}接入", staff)
        await self._audit.record(staff, "handoff_claim", handoff.reference, {"handoff": handoff_id})
        await self._tell(claimed, self._content().prompts.handoff_claimed.format(name=staff.name), f"claim:{now}")
        await self._queue_changed(claimed)
        return claimed

    async def say(self, staff: Staff, handoff_id: int, text: str) -> HandoffMessage:
        """The owner's answer: the message, its timers and the citizen's chat-list entry in one transaction, then
        live to both sides."""
        now = self._clock()
        async with audit_refusals(self._audit, staff, "handoff_message", None, handoff=handoff_id):
            async with self._store.locked(handoff_id) as chat:
                handoff = _in_scope(staff, chat.handoff)
                _owner_only(staff, handoff)
                touch = {"last_staff_at": now, "breaches": self.sla.on_staff_answer(handoff, now),
                         "first_response_at": handoff.first_response_at or now}
                message = await chat.add_message(HandoffMessage(handoff_id=handoff_id, author=Author.staff,
                                                                staff_id=staff.id, text=text, created_at=now), touch)
                listed = await chat.tell(handoff.user, text, _inbox_key(handoff, f"msg:{message.id}"), now)
        updated = handoff.model_copy(update=touch)
        if listed is not None:
            await self._live.publish(citizen_topic(updated.user), inbox_event(listed, text, None))
        await self._to_staff(updated, _message_event(updated, message))
        await self._reach(updated, text, message)
        return message

    async def note(self, staff: Staff, handoff_id: int, text: str) -> HandoffMessage:
        """A private note on a chat of the department (never shown to the citizen)."""
        handoff = await self._visible(staff, handoff_id, "handoff_note")
        return await self._store.add_message(HandoffMessage(handoff_id=handoff.id, author=Author.note,
                                                            staff_id=staff.id, text=text, created_at=self._clock()))

    async def transfer(self, staff: Staff, handoff_id: int, department: str | None, to_staff: Staff | None,
                       note: str) -> Handoff:
        """To another department's queue or to a person, with a note; at most `max_transfers` times. The first
        owner keeps seeing the chat."""
        handoff = await self._owned(staff, handoff_id, "handoff_transfer")
        if handoff.transfers >= self.settings.max_transfers:
            raise HandoffConflict(f"a chat is transferred at most {self.settings.max_transfers} times")
        now = self._clock()
        update: dict[str, object] = {"transfers": handoff.transfers + 1}
        if to_staff is not None:
            if await self._store.active_count(to_staff.id) >= self.settings.per_person_limit:
                raise HandoffConflict("that person has as many chats as allowed")
            update |= {"owner_id": to_staff.id, "department": to_staff.department, "level": to_staff.level.value,
                       "claimed_at": now}
            where = to_staff.name
        else:
            desk = next((d for d in [*departments(self._content().catalog), self.settings.general]
                         if d.department == department), None)
            if desk is None:
                raise Invalid("unknown department")
            update |= {"status": HandoffStatus.waiting, "owner_id": None, "department": desk.department,
                       "level": desk.level, "claimed_at": None}
            where = desk.department
        moved = handoff.model_copy(update=update)
        if not await self._store.update(moved, expect=HandoffStatus.active, expect_owner=staff.id):
            raise HandoffConflict("the chat changed meanwhile")
        await self._event(moved, f"{staff.name}转给{where}：{note}", staff)
        await self._audit.record(staff, "handoff_transfer", handoff.reference,
                                 {"handoff": handoff_id, "to": where, "note": note})
        await self._tell(moved, self._content().prompts.handoff_transferred.format(department=where), f"transfer:{now}")
        await self._queue_changed(handoff)
        await self._queue_changed(moved)
        return moved

    async def close(self, staff: Staff, handoff_id: int, summary: str) -> Handoff:
        """The owner (a callback: anyone of the department) closes the chat with a summary."""
        handoff = await self._visible(staff, handoff_id, "handoff_close")
        callback = handoff.status is HandoffStatus.callback and handoff.department == staff.department
        if not callback and (handoff.status is not HandoffStatus.active or handoff.owner_id != staff.id):
            raise HandoffConflict("only the owner closes an active chat")
        now = self._clock()
        closed = handoff.model_copy(update={"status": HandoffStatus.closed, "closed_at": now, "summary": summary,
                                            "breaches": self.sla.on_close(handoff, now)})
        if not await self._store.update(closed, expect=handoff.status):
            raise HandoffConflict("the chat changed meanwhile")
        await self._event(closed, f"{staff.name}结束会话：{summary}", staff)
        await self._audit.record(staff, "handoff_close", handoff.reference, {"handoff": handoff_id})
        await self._queue_changed(closed)
        return closed

    async def to_wechat(self, handoff: Handoff, texts: list[str]) -> None:
        """What the bot says when it takes a WeChat user's chat back (the rating question, the step it goes on
        at), through the send API; nothing for other channels (their page hears it live)."""
        if handoff.channel == "wechat" and self._wechat is not None:
            for text in texts:
                await self._wechat.tell(handoff, text)

    # --- helpers -----------------------------------------------------------------------------------------

    async def _visible(self, staff: Staff, handoff_id: int, attempt: str) -> Handoff:
        async with audit_refusals(self._audit, staff, attempt, None, handoff=handoff_id):
            return _in_scope(staff, await self._store.get(handoff_id))

    async def _owned(self, staff: Staff, handoff_id: int, attempt: str) -> Handoff:
        handoff = await self._visible(staff, handoff_id, attempt)
        async with audit_refusals(self._audit, staff, attempt, handoff.reference, handoff=handoff_id):
            _owner_only(staff, handoff)
        return handoff

    async def _next_owner(self, department: str, online: list[int]) -> int | None:
        """Round robin among the online staff under their limit, after the last one given a chat."""
        last = await self._store.last_auto_owner(department)
        ordered = [s for s in online if last is None or s > last] + [s for s in online if last is not None and s <= last]
        for staff_id in ordered:
            if await self._store.active_count(staff_id) < self.settings.per_person_limit:
                return staff_id
        return None

    async def _event(self, handoff: Handoff, text: str, staff: Staff) -> None:
        await self._store.add_message(HandoffMessage(handoff_id=handoff.id, author=Author.event, staff_id=staff.id,
                                                     text=text, created_at=self._clock()))

    async def _tell(self, handoff: Handoff, text: str, key: str) -> None:
        """Into the citizen's chat list, and (the inbox is a LiveInbox) live to their open page; to a WeChat user
        through the send API too."""
        await self._inbox.put(handoff.user, None, text, _inbox_key(handoff, key), self._clock())
        await self._reach(handoff, text)

    async def _reach(self, handoff: Handoff, text: str, answer: HandoffMessage | None = None) -> None:
        """A WeChat user gets it through the send API (a staff answer it cannot carry: a subscribe message,
        bot/handoff/wechat.py); other channels' pages hear it live."""
        if handoff.channel == "wechat" and self._wechat is not None:
            await (self._wechat.answer(handoff, answer) if answer else self._wechat.tell(handoff, text))

    async def _to_staff(self, handoff: Handoff, event: dict[str, object]) -> None:
        """A message of a chat: to its owner's consoles, or to the department's while nobody has it."""
        topic = staff_topic(handoff.owner_id) if handoff.owner_id else department_topic(handoff.department)
        await self._live.publish(topic, event)

    async def _queue_changed(self, handoff: Handoff) -> None:
        await self._live.publish(department_topic(handoff.department),
                                 {"kind": "queue", "handoff": handoff.id, "status": handoff.status.value})


def _in_scope(staff: Staff, handoff: Handoff | None) -> Handoff:
    """The chat if the staff member may see it (their department's, or one they owned); else a 404."""
    if handoff is None or (handoff.department != staff.department and staff.id not in
                           (handoff.first_owner_id, handoff.owner_id)):
        raise HandoffNotFound()
    return handoff


def _owner_only(staff: Staff, handoff: Handoff) -> None:
    """首问负责: only the owner of an active chat answers or transfers it."""
    if handoff.status is not HandoffStatus.active:
        raise HandoffConflict("the chat is not in progress")
    if handoff.owner_id != staff.id:
        raise Forbidden("首问负责: only the owner of the chat answers it")


def _inbox_key(handoff: Handoff, key: str) -> str:
    return f"handoff:{handoff.id}:{key}"[:64]


def _message_event(handoff: Handoff, message: HandoffMessage) -> dict[str, object]:
    return {"kind": "message", "handoff": handoff.id, "id": message.id, "author": message.author.value,
            "text": message.text, "at": message.created_at.isoformat()}
