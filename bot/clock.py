"""The clock every service is given: `Clock` returns the current time, timezone-aware UTC."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock. Only composition roots (app.py, the CLI) pass it in; everything else calls the clock it was
    given, so tests can move time."""
    return datetime.now(timezone.utc)
