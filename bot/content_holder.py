"""The content every service reads, held in one place so that a reload can swap it for all of them at once."""
from __future__ import annotations

from bot.content import Content
from bot.dialogue.prompts import Prompts


class ContentHolder:
    """Holds the live `Content`. Services take the holder (it is a `Callable[[], Content]`) and read it on every
    call, never keep a copy, so after `swap(new)` the next chat turn or staff request sees the new content.
    A turn already running keeps the snapshot it started with."""

    def __init__(self, content: Content) -> None:
        self._current = content

    @property
    def current(self) -> Content:
        return self._current

    def __call__(self) -> Content:
        return self._current

    def prompts(self) -> Prompts:
        """The live prompts (for the dispatcher and the subscribe channel, which need no more)."""
        return self._current.prompts

    def swap(self, new: Content) -> Content:
        """Make `new` the live content; returns the one it replaces (the caller closes what it holds)."""
        old, self._current = self._current, new
        return old
