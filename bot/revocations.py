"""Revoked session tokens held in memory: the check on every logged-in request costs no database round trip.

The store (SQL) stays the record a logout must survive in. A logout is written there first, then added here and
announced: every instance reloads at once when woken (Redis pub/sub), and at least every `poll_seconds`, so an
instance that missed the announcement refuses the token at the latest then. Measured before (bench_chat.py, logged
in): the database check was three quarters of a logged-in first turn's CPU.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.cancellation import raise_if_cancelling
from bot.ports import Wakeups


class RevocationRecord(Protocol):
    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None: ...

    async def unexpired(self, now: datetime) -> dict[str, datetime]:
        """Every revoked token id whose token has not expired yet, with its expiry."""

    async def purge(self, now: datetime) -> int:
        """Forget revocations of tokens that have expired anyway; returns how many."""


class RevokedTokens:
    """The RevocationStore of bot/accounts.py's Sessions: `is_revoked` from memory. `load` before serving, then run
    `follow`."""

    def __init__(self, record: RevocationRecord, announce: Callable[[], None], clock: Callable[[], datetime],
                 log: logging.Logger) -> None:
        self._record, self._announce, self._clock, self._log = record, announce, clock, log
        self._revoked: dict[str, datetime] = {}  # token id -> the token's expiry

    async def load(self) -> None:
        """Read the record again. What this instance revoked meanwhile stays (the read may have started before it
        was written); a token past its expiry goes (its signature check refuses it anyway)."""
        recorded = await self._record.unexpired(self._clock())
        now = self._clock()
        self._revoked = {**{t: at for t, at in self._revoked.items() if at > now}, **recorded}

    async def follow(self, wakeups: Wakeups, poll_seconds: float) -> None:
        """Run until cancelled: reload whenever woken (a logout anywhere), and at least every `poll_seconds`."""
        while True:
            raise_if_cancelling()
            await wakeups.wait(poll_seconds)
            try:
                await self.load()
            except Exception as exc:  # the database may be away: keep refusing what is known, try again
                raise_if_cancelling()
                self._log.warning("revoked sessions not reloaded: %r", exc)

    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None:
        await self._record.revoke(token_id, user, expires_at)
        self._revoked[token_id] = expires_at
        self._announce()

    async def is_revoked(self, token_id: str) -> bool:
        return token_id in self._revoked

    async def purge(self, now: datetime) -> int:
        """Forget revocations of expired tokens in the record (memory forgets them at each load)."""
        return await self._record.purge(now)
