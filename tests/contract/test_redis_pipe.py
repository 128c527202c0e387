"""The pipelined hot-path Redis client against real redis-server processes started for these tests."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.redis_pipe import PipelinedRedis
from storage.redis_scripts import Script
from tests.backends import own_redis
from tests.servers import PrivateRedis

ECHO = Script("return ARGV[1]")
SET = Script("return redis.call('set', KEYS[1], ARGV[1])")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    yield from own_redis("the pipelined client's tests")


@pytest.fixture
async def client(private_redis: PrivateRedis) -> AsyncIterator[PipelinedRedis]:
    made = PipelinedRedis(private_redis.url, timeout_s=1, connect_timeout_s=0.5)
    yield made
    await made.close()


async def test_concurrent_calls_each_get_their_own_reply(client: PipelinedRedis) -> None:
    replies = await asyncio.gather(*(client.eval(ECHO, [], [f"m{i}"]) for i in range(500)))
    assert replies == [f"m{i}".encode() for i in range(500)]


async def test_a_restarted_redis_is_reconnected_and_reloads_the_script(client: PipelinedRedis,
                                                                         private_redis: PrivateRedis) -> None:
    assert await client.eval(ECHO, [], ["before"]) == b"before"
    private_redis.stop()
    with pytest.raises(RedisConnectionError):
        await client.eval(ECHO, [], ["while down"])
    private_redis.start()  # same port, empty script cache: EVALSHA answers NOSCRIPT
    assert await client.eval(ECHO, [], ["after"]) == b"after"


async def test_a_script_error_is_raised_and_the_connection_stays_usable(client: PipelinedRedis) -> None:
    with pytest.raises(RedisError, match="boom"):
        await client.eval(Script("return redis.error_reply('boom')"), [], [])
    assert await client.eval(ECHO, [], ["still here"]) == b"still here"


async def test_a_silent_server_times_out_instead_of_hanging() -> None:
    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
    with pytest.raises(RedisTimeoutError):
        await client.eval(ECHO, [], ["x"])
    await client.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
def password_redis() -> Iterator[PrivateRedis]:
    yield from own_redis("the pipelined client's tests", options=("--requirepass", "s3cret"))


async def test_password_and_database_from_the_url(password_redis: PrivateRedis) -> None:
    port = password_redis.port
    client = PipelinedRedis(f"redis://:s3cret@127.0.0.1:{port}/3")
    await client.eval(SET, ["k"], ["v"])
    inspector = Redis.from_url(f"redis://:s3cret@127.0.0.1:{port}/3")
    assert await inspector.get("k") == b"v"
    await inspector.aclose()
    await client.close()
    wrong = PipelinedRedis(f"redis://:wrong@127.0.0.1:{port}/0")
    with pytest.raises(RedisError):
        await wrong.eval(ECHO, [], ["x"])
    await wrong.close()
