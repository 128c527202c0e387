"""Waking the progress dispatchers when an outbox event is committed, instead of waiting for their next poll:
in process memory (one instance), or over Redis pub/sub so every instance hears it. Polling stays as the
safety net: a lost wake-up only delays a message until the next poll."""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

from redis.asyncio import Redis, RedisCluster
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.redis_scripts import REDIS_ERRORS

_WRITTEN, _COMMITTED = "zwb_outbox_written", "zwb_outbox_committed"


class MemoryWakeups:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the waiters' loop: the app's, or the first wait's
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass

    def notify(self) -> None:
        """Safe from any thread: the pool may give a connection back from a driver thread or a finalizer,
        and an Event set there would not wake the loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._notified)

    def _notified(self) -> None:
        """In the loop: what a local notify does (here: wake this instance's waiters)."""
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when woken before the timeout."""
        self._loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True

    async def flush(self) -> None:
        """Let a notify() just made take effect (a process about to exit calls this)."""
        await asyncio.sleep(0)

    async def close(self) -> None:
        return None


class RedisWakeups(MemoryWakeups):
    """PUBLISH on `<prefix>:<channel>` (`outbox`, or `content` for content versions); a listener task turns every
    other instance's message into a local wake-up (this instance's own was one already when it was sent)."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, log: logging.Logger, channel: str = "outbox") -> None:
        super().__init__()
        self._redis, self._channel, self._log = client, f"{prefix}:{channel}", log
        self._sender = uuid.uuid4().hex.encode()  # what this instance publishes: its messages come back to it too
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None

    def _notified(self) -> None:
        """Wake this instance at once and every other one through the channel."""
        self._event.set()
        task = asyncio.get_running_loop().create_task(self._publish())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self) -> None:
        try:
            await self._redis.publish(self._channel, self._sender)
        except REDIS_ERRORS as exc:  # the other instances find the event at their next poll
            self._log.debug("outbox wake-up not published: %s", exc)

    async def wait(self, timeout: float) -> bool:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        return await super().wait(timeout)

    async def _listen(self) -> None:
        """Subscribe and relay; on a Redis error, try again a little later (polling covers the gap)."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and message.get("data") != self._sender:
                            self._event.set()
            except REDIS_ERRORS as exc:
                self._log.debug("outbox wake-up listener: %s; retrying", exc)
                await asyncio.sleep(5)

    async def flush(self) -> None:
        await super().flush()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._listener] if self._listener else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# The outbox table only, not outbox_*; also as the last part of a statement with data-modifying CTEs before it
_OUTBOX_INSERT = re.compile(r"\s*(WITH\b.*\)\s*)?INSERT INTO outbox\b", re.IGNORECASE | re.DOTALL)


def writes_outbox(statement: str) -> bool:
    """Whether the SQL inserts into the outbox (alone, or as the last part after data-modifying CTEs)."""
    return _OUTBOX_INSERT.match(statement) is not None


def on_outbox_commit(engine: AsyncEngine, wakeups: MemoryWakeups) -> None:
    """Call wakeups.notify() once a transaction that inserted into the outbox has committed and its connection
    went back to the pool (so the rows are visible to whoever is woken). Every store's outbox write is covered
    without the stores knowing; in autocommit (storage.sql.OneStatement) the statement itself is the commit."""
    sync = engine.sync_engine

    @event.listens_for(sync, "after_cursor_execute")
    def _written(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if writes_outbox(statement):
            conn.info[_COMMITTED if _autocommit(conn) else _WRITTEN] = True

    @event.listens_for(sync, "commit")
    def _committing(conn: Any) -> None:
        if conn.info.pop(_WRITTEN, False):
            conn.info[_COMMITTED] = True

    @event.listens_for(sync, "rollback")
    def _rolled_back(conn: Any) -> None:
        conn.info.pop(_WRITTEN, None)
        if not _autocommit(conn):  # closing an autocommit connection "rolls back" what is already committed
            conn.info.pop(_COMMITTED, None)

    @event.listens_for(sync.pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_COMMITTED, False):
            wakeups.notify()


def _autocommit(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT")
