"""Fixtures for the real backends: PostgreSQL and Redis.

The shared servers of this machine (ZWB_TEST_POSTGRES_URL, ZWB_TEST_REDIS_URL; defaults 127.0.0.1:5432
db `test` and 127.0.0.1:6379) are used when reachable; otherwise a private server is started from the
system binaries; where those are missing too, the tests that need it are skipped and say why.
Every test gets its own database (created and dropped) and its own Redis key prefix (deleted after):
nothing that another user of the shared servers created is ever touched.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from tests.servers import PrivatePostgres, PrivateRedis

SHARED_POSTGRES = os.environ.get("ZWB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SHARED_REDIS = os.environ.get("ZWB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url), timeout=2)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        return False
    await conn.close()
    return True


async def _redis_reachable(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:  # any failure means "not usable"
        return False
    finally:
        await client.aclose()


T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even while an event loop runs in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _shared_or_private(name: str, shared: str, reachable: bool,
                       private: Callable[[], PrivatePostgres | PrivateRedis]) -> Iterator[str]:
    """The shared server's URL if reachable, else a private server's for the session, else a skip saying why."""
    if reachable:
        yield shared
        return
    try:
        server = private()
        server.start()
    except (FileNotFoundError, OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"{name} not reachable at {shared} and no private server could start: {exc}")
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server the tests may create databases on."""
    yield from _shared_or_private("PostgreSQL", SHARED_POSTGRES, run_sync(_postgres_reachable(SHARED_POSTGRES)),
                                  PrivatePostgres)


def own_redis(why: str, persistent: bool = False, options: tuple[str, ...] = ()) -> Iterator[PrivateRedis]:
    """A redis-server of one test's own (it may stop or restart it), destroyed after; skips saying why where
    redis-server is not installed."""
    try:
        server = PrivateRedis(persistent, options)
    except FileNotFoundError as exc:
        pytest.skip(f"{why} needs its own redis-server: {exc}")
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """URL of a Redis server the tests may use under their own key prefixes."""
    yield from _shared_or_private("Redis", SHARED_REDIS, run_sync(_redis_reachable(SHARED_REDIS)), PrivateRedis)


async def create_database(server_url: str) -> str:
    """A new empty database on the server; returns its SQLAlchemy URL."""
    name = f"zwb_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A private database for one test, dropped afterwards."""
    url = run_sync(create_database(postgres_server))
    try:
        yield url
    finally:
        run_sync(drop_database(postgres_server, url))


async def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def redis_prefix(redis_server: str) -> Iterator[str]:
    """A key prefix owned by one test; its keys are deleted afterwards."""
    prefix = f"zwbtest:{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        run_sync(delete_prefix(redis_server, prefix))
