"""The live channel and staff presence: in process memory (one instance), or over Redis (any number).

Over Redis every instance holds one pattern subscription and hands each event to its local subscribers, so a
page connected to any instance hears what another instance published; events of one topic keep their order."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis, RedisCluster

from bot.handoff.live import Event
from storage.redis_scripts import REDIS_ERRORS

QUEUE_LIMIT = 1000  # events waiting for one slow page; more are skipped for it (its message list has them)


class MemoryLive:
    """Topic -> the queues of the subscribers of this process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}

    async def publish(self, topic: str, event: Event) -> None:
        self.deliver(topic, event)

    def deliver(self, topic: str, event: Event) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            if queue.qsize() < QUEUE_LIMIT:
                queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        for topic in topics:
            self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            for topic in topics:
                subscribers = self._subscribers.get(topic)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[topic]

    async def close(self) -> None:
        return None


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        yield await queue.get()


class RedisLive(MemoryLive):
    """PUBLISH on `<prefix>:live:<topic>`; one PSUBSCRIBE per instance relays to the local subscribers."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, log: logging.Logger) -> None:
        super().__init__()
        self._redis, self._prefix, self._log = client, f"{prefix}:live:", log
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def publish(self, topic: str, event: Event) -> None:
        try:
            await self._redis.publish(self._prefix + topic, json.dumps(event, ensure_ascii=False))
        except REDIS_ERRORS as exc:  # the page reads its message list when it reconnects
            self._log.warning("live event not published: %s", exc)
            self.deliver(topic, event)

    @asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[AsyncIterator[Event]]:
        if self._listener is None or self._listener.done():
            self._ready.clear()
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        async with super().subscribe(topics) as events:
            await asyncio.wait_for(self._ready.wait(), 5)
            yield events

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self._prefix + "*")
                    async for message in pubsub.listen():
                        if message.get("type") == "psubscribe":
                            self._ready.set()
                        elif message.get("type") == "pmessage":
                            channel = message["channel"]
                            topic = (channel.decode() if isinstance(channel, bytes) else channel)[len(self._prefix):]
                            self.deliver(topic, json.loads(message["data"]))
            except REDIS_ERRORS as exc:
                self._log.warning("live channel listener: %s; retrying", exc)
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)


class MemoryPresence:
    def __init__(self) -> None:
        self._until: dict[str, dict[int, float]] = {}

    async def beat(self, staff_id: int, department: str, ttl_seconds: float) -> None:
        self._until.setdefault(department, {})[staff_id] = time.monotonic() + ttl_seconds

    async def leave(self, staff_id: int, department: str) -> None:
        self._until.get(department, {}).pop(staff_id, None)

    async def online(self, department: str) -> list[int]:
        now = time.monotonic()
        return sorted(s for s, until in self._until.get(department, {}).items() if until > now)


class RedisPresence:
    """A sorted set per department: staff id scored by the wall-clock second its presence ends."""

    def __init__(self, client: Redis | RedisCluster, prefix: str) -> None:
        self._redis, self._prefix = client, f"{prefix}:online:"

    async def beat(self, staff_id: int, department: str, ttl_seconds: float) -> None:
        await self._redis.zadd(self._prefix + department, {str(staff_id): time.time() + ttl_seconds})

    async def leave(self, staff_id: int, department: str) -> None:
        await self._redis.zrem(self._prefix + department, str(staff_id))

    async def online(self, department: str) -> list[int]:
        key, now = self._prefix + department, time.time()
        await self._redis.zremrangebyscore(key, 0, now)
        members = await self._redis.zrangebyscore(key, now, "+inf")
        return sorted(int(s.decode() if isinstance(s, bytes) else str(s)) for s in members)


Live = MemoryLive | RedisLive
Online = MemoryPresence | RedisPresence
