"""A pipelined Redis connection for the chat turn's hot path: Lua scripts only, on one node.

redis-py's asyncio client spends 50-65 µs of CPU per command here (connection pool, retry and timeout
wrappers); bench/bench_chat.py runs the chat turn on both in the same run, and with redis-py one process
serves about 0.6 times the turns per second. This client writes every command of the process on one
connection and matches replies in order (Redis answers a connection's commands in the order sent), which
costs 5-12 µs. It speaks TCP (redis:// and rediss://) to one node and only runs Lua scripts (EVALSHA,
falling back to EVAL after a Redis restart emptied the script cache); everything else, and the scripts
themselves on a Redis Cluster (`redis_client: cluster`), go through redis-py. Failures raise redis-py's own
exceptions (ConnectionError, TimeoutError, ResponseError), so callers handle one family of errors.
"""
from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.redis_scripts import Arg, Script


class _Connection(asyncio.Protocol):
    """One socket; `send` returns a future for the reply to that command. Commands sent during one turn of
    the event loop go out in one write. One timer watches the oldest unanswered command: when it has waited
    `timeout_s`, the connection is dropped and every waiting caller gets a TimeoutError (a timer per
    command cost more than the rest of the round trip)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout = timeout_s
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._outgoing: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        # Built by loop.create_connection, inside the loop. Kept: on Python 3.11 each lookup costs a getpid().
        self._loop = asyncio.get_running_loop()
        self._watchdog: asyncio.TimerHandle | None = None
        self._timed_out = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        while self._waiting:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RedisTimeoutError(f"Redis did not answer within {self._timeout} s")
                                     if self._timed_out else
                                     RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            waiter, _ = self._waiting.popleft()
            if not waiter.done():  # a cancelled caller has gone; its reply is dropped
                waiter.set_result(reply)

    def send(self, command: tuple[Arg, ...]) -> asyncio.Future[Any]:
        if self.closed or self._transport is None:
            raise RedisConnectionError("connection to Redis is closed")
        loop = self._loop
        waiter = loop.create_future()
        self._waiting.append((waiter, loop.time()))
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(hiredis.pack_command(command))  # type: ignore[arg-type]  # its stub says a 1-tuple
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout, self._watch)
        return waiter

    def _watch(self) -> None:
        self._watchdog = None
        if not self._waiting or self.closed:
            return
        waited = self._loop.time() - self._waiting[0][1]
        if waited >= self._timeout:
            self._timed_out = True
            self.abort()
        else:
            self._watchdog = self._loop.call_later(self._timeout - waited, self._watch)

    def _flush(self) -> None:
        payload, self._outgoing = b"".join(self._outgoing), []
        if not self.closed and self._transport is not None:
            self._transport.write(payload)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class PipelinedRedis:
    """Runs Lua scripts over one shared connection, reconnecting on the next call after a failure."""

    def __init__(self, url: str, timeout_s: float = 2.0, connect_timeout_s: float = 2.0) -> None:
        options = parse_url(url)
        if "path" in options:
            raise ValueError("the chat's Redis connection needs a redis:// or rediss:// URL, not a unix socket")
        self._host = options.get("host", "127.0.0.1")
        self._port = int(options.get("port", 6379))
        self._db = int(options.get("db", 0))
        self._username, self._password = options.get("username"), options.get("password")
        self._ssl = ssl.create_default_context() if url.startswith("rediss://") else None
        self._timeout, self._connect_timeout = timeout_s, connect_timeout_s
        self._connection: _Connection | None = None
        self._connecting = asyncio.Lock()

    async def eval(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """EVALSHA, or EVAL when Redis does not know the script (yet, or again after a restart)."""
        reply = await self._call(("EVALSHA", script.sha, len(keys), *keys, *args))
        if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
            reply = await self._call(("EVAL", script.source, len(keys), *keys, *args))
        if isinstance(reply, ResponseError):
            if str(reply).startswith("MOVED"):  # this client follows no redirection: say what to configure
                raise ResponseError(f"{reply} ({self._host}:{self._port} is a Redis Cluster node: set redis_client "
                                    "to cluster)")
            raise reply
        return reply

    async def _call(self, command: tuple[Arg, ...]) -> Any:
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        return await connection.send(command)

    async def _connect(self) -> _Connection:
        async with self._connecting:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            loop = asyncio.get_running_loop()
            try:
                _, connection = await asyncio.wait_for(
                    loop.create_connection(lambda: _Connection(self._timeout), self._host, self._port, ssl=self._ssl),
                    self._connect_timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                raise RedisConnectionError(f"cannot connect to Redis at {self._host}:{self._port}: {exc}") from exc
            await self._handshake(connection)
            self._connection = connection
            return connection

    async def _handshake(self, connection: _Connection) -> None:
        """AUTH and SELECT, when the URL asks for them."""
        commands: list[tuple[Arg, ...]] = []
        if self._password is not None:
            commands.append(("AUTH", self._username, self._password) if self._username else ("AUTH", self._password))
        if self._db:
            commands.append(("SELECT", self._db))
        try:
            replies = await asyncio.wait_for(asyncio.gather(*(connection.send(c) for c in commands)),
                                             self._connect_timeout)
        except asyncio.TimeoutError:
            connection.abort()
            raise RedisTimeoutError("Redis did not answer AUTH/SELECT") from None
        for reply in replies:
            if isinstance(reply, ResponseError):
                connection.abort()
                raise reply

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.abort()
            self._connection = None
