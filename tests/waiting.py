"""Waiting for a condition instead of sleeping for a guessed time: poll until it holds, fail after a timeout."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], object] = bool, *,
                     timeout: float = 5.0, interval: float = 0.02, what: str = "the condition") -> T:
    """Call `probe` until `until(value)` holds and return that value; AssertionError (naming `what` and the last
    value) once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s (last seen: {value!r})")
        await asyncio.sleep(interval)
