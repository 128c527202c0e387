"""The SQLAlchemy engine for a database URL, with SQLite tuned for an app that writes from many requests."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.direct_pg import DirectPostgres

SQLITE_BUSY_MS = 10_000
POSTGRES_POOL = {"pool_size": 15, "max_overflow": 5}  # at most 20 connections per process
DIRECT_POOL = {"min_size": 5, "max_size": 15}  # storage/direct_pg.py: up to 15 more


def open_engine(url: str) -> AsyncEngine:
    """An engine for `url`. PostgreSQL keeps 15 connections open (+5 that close when returned): with SQLAlchemy's
    default of 5 (+10) 64 concurrent users opened a connection for 1 query in 16 to 30, each ~2.5 ms of CPU and
    16 ms; with 15 (+5), about 1 in 600. SQLite files use write-ahead logging, so readers never wait for a writer
    and a writer waits up to SQLITE_BUSY_MS for another instead of failing at once ("database is locked")."""
    engine = create_async_engine(url, **(POSTGRES_POOL if url.startswith("postgresql") else {}))
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    if engine.dialect.name == "postgresql":
        event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (PostgreSQL restarted while it sat idle) is replaced at checkout, at
    no cost (asyncpg saw the socket close), instead of failing the request that takes it."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def open_direct(url: str, outbox_written: Callable[[], None]) -> DirectPostgres | None:
    """The asyncpg pool of the busiest statements, for a PostgreSQL URL (`outbox_written` after a statement that
    inserted into the outbox); None for SQLite."""
    return DirectPostgres(url, outbox_written=outbox_written, **DIRECT_POOL) if url.startswith("postgresql") else None


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()
