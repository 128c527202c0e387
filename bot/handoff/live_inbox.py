"""The citizen's in-chat message list, which also pushes each new message live to their open pages: progress
messages of the outbox and staff answers reach an open H5 page without reopening it."""
from __future__ import annotations

from datetime import datetime

from bot.handoff.live import Event, LiveChannel, citizen_topic
from bot.notify import Inbox, InboxMessage


def inbox_event(message_id: int, text: str, case_number: str | None) -> Event:
    """The live event of a new message of the chat list (the page acknowledges it by id)."""
    return {"kind": "message", "id": message_id, "text": text, "case_number": case_number}


class LiveInbox:
    def __init__(self, inbox: Inbox, live: LiveChannel) -> None:
        self._inbox, self._live = inbox, live

    async def put(self, user: str, case_number: str | None, text: str, dedupe_key: str, now: datetime) -> int | None:
        """Store the message; a new one (not a redelivery) is published with its id, which the page acknowledges."""
        new_id = await self._inbox.put(user, case_number, text, dedupe_key, now)
        if new_id is not None:
            await self._live.publish(citizen_topic(user), inbox_event(new_id, text, case_number))
        return new_id

    async def take_unread(self, user: str, now: datetime) -> list[str]:
        return await self._inbox.take_unread(user, now)

    async def recent(self, user: str, *, unread_only: bool, limit: int) -> list[InboxMessage]:
        return await self._inbox.recent(user, unread_only=unread_only, limit=limit)

    async def acknowledge(self, user: str, ids: list[int] | None, up_to: int | None, now: datetime) -> int:
        return await self._inbox.acknowledge(user, ids, up_to, now)
