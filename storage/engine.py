"""The SQLAlchemy engine for a database URL, with SQLite tuned for an app that writes from many requests."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_MS = 10_000


def open_engine(url: str) -> AsyncEngine:
    """An engine for `url`. SQLite files use write-ahead logging, so readers never wait for a writer and a writer
    waits up to SQLITE_BUSY_MS for another instead of failing at once ("database is locked")."""
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def single_reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine (same pool) for reads of one statement each, outside a transaction: one round trip on PostgreSQL
    instead of three (BEGIN, the read, ROLLBACK). Made once per store; not for several statements that must agree."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
