"""Shutdown cancels background loops; a database driver may turn that cancellation into another error (seen
with aiosqlite mid-query: "Can't reconnect until invalid transaction is rolled back"). A loop that catches
errors to keep going must still stop then, or shutdown waits for it forever."""
from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise CancelledError when the current task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
