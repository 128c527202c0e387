"""The live channel (events pushed to open pages, across instances) and staff presence: the ports."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Event = dict[str, Any]


def citizen_topic(user: str) -> str:
    return f"user:{user}"


def department_topic(department: str) -> str:
    return f"dept:{department}"


def staff_topic(staff_id: int) -> str:
    return f"staff:{staff_id}"


class LiveChannel(Protocol):
    async def publish(self, topic: str, event: Event) -> None:
        """Deliver the event to every subscriber of the topic, on any instance (at most once, in order)."""

    def subscribe(self, topics: list[str]) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """The events published on the topics from now on, while the context is open."""


class Presence(Protocol):
    async def beat(self, staff_id: int, department: str, ttl_seconds: float) -> None:
        """The staff member is online for `ttl_seconds` more (their console's live channel is open)."""

    async def leave(self, staff_id: int, department: str) -> None: ...

    async def online(self, department: str) -> list[int]:
        """Ids of the department's staff online now, ascending."""
