"""A clock the tests set by hand, given to the app instead of the real one."""
from __future__ import annotations

from datetime import datetime


class Clock:
    """A settable clock for deadlines."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
