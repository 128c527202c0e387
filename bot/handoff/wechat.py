"""Staff words to a WeChat user during a handoff, through the customer-service send API while its 48-hour window
(since the citizen's last message) is open; a send known to be doomed is not tried. A staff answer that cannot go
that way (window closed, or WeChat refuses: 45015, 45047) is already in the in-chat list; a subscribe message
(人工客服回复) tells the citizen it waits there, at most once per handoff until the citizen writes again, and only
with a consent left (none: nothing is sent, and the chat's log says so once)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from bot.handoff.models import Author, Handoff, HandoffMessage, HandoffStore
from bot.subscriptions import StaffReplyNotice

WINDOW = timedelta(hours=48)
NOTIFIED = "已发订阅消息，提醒群众查看回复"
NO_CONSENT = "群众没有订阅消息授权，回复只在小程序消息列表中"


@dataclass(frozen=True)
class WeChatReach:
    send: Callable[[str, str], Awaitable[bool]]  # bot/customer_service.py OutOfTurn
    notice: StaffReplyNotice
    store: HandoffStore
    clock: Callable[[], datetime]
    log: logging.Logger

    async def tell(self, handoff: Handoff, text: str) -> bool:
        """Through the send API unless the window is known to be closed; False when not sent."""
        if self.clock() - (handoff.last_citizen_at or handoff.created_at) >= WINDOW:
            self.log.info("handoff %d: 48 h since the citizen wrote; left in the chat list", handoff.id)
            return False
        return await self.send(handoff.user, text)

    async def answer(self, handoff: Handoff, message: HandoffMessage) -> None:
        """A staff answer: sent, or (once until the citizen writes again) announced by a subscribe message."""
        if await self.tell(handoff, message.text):
            return
        chat = await self.store.messages(handoff.id, include_private=True)
        heard = max((i for i, m in enumerate(chat) if m.author is Author.citizen), default=0)
        if any(m.author is Author.event and m.text in (NOTIFIED, NO_CONSENT) for m in chat[heard:]):
            return
        # The key of the consent: the citizen's last message (or the chat's first), so one per round, any instance.
        outcome = await self.notice.send(handoff.user, handoff.department, message.text, -chat[heard].id)
        if outcome == "not_sent":
            return
        if outcome == "no_consent":
            self.log.info("handoff %d: no subscribe consent left; the answer waits in the chat list", handoff.id)
        await self.store.add_message(HandoffMessage(handoff_id=handoff.id, author=Author.event, created_at=self.clock(),
                                                    text=NOTIFIED if outcome == "sent" else NO_CONSENT))
