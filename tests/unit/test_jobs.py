"""The housekeeping round: a failing job is logged and the others still run, round after round."""
from __future__ import annotations

import asyncio

from jobs import housekeeping


class Failing:
    async def __call__(self) -> None:
        raise OSError("bucket unreachable")


class Counting:
    def __init__(self, rounds: int) -> None:
        self.runs, self.rounds, self.done = 0, rounds, asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs == self.rounds:
            self.done.set()


async def test_a_failing_job_does_not_hold_up_the_others(caplog):
    counting = Counting(rounds=3)
    task = asyncio.create_task(housekeeping([Failing(), counting], interval_s=0))
    try:
        await asyncio.wait_for(counting.done.wait(), timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert counting.runs >= 3
    assert "housekeeping: Failing failed" in caplog.text
