"""The busiest PostgreSQL statements of a conversation, run straight on asyncpg beside SQLAlchemy's engine.

A statement through SQLAlchemy's async engine pays for its pool checkout, a greenlet hop, the compiled-cache lookup
and the result's wrapping, which under the mixed load cost more CPU than the statement itself. The statements are
still written as SQLAlchemy Core (one definition of every table and column); `DirectStatement` compiles one once
for asyncpg, and `DirectPostgres` runs it on a small asyncpg pool of its own, each statement in autocommit (one
statement is atomic by itself). Only plain values go in (text, numbers, aware datetimes, lists of text for
`= ANY(...)`), and JSON columns come back as text. Failures are SQLAlchemy's exceptions, as from the engine
(`IntegrityError` for a constraint, `DBAPIError` otherwise), and a statement that inserts into the outbox wakes the
dispatchers like one through the engine (storage/wakeups.py). SQLite has no such path; its stores use the engine.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from storage.wakeups import writes_outbox

_DIALECT = asyncpg_dialect.dialect()


class DirectStatement:
    """A Core statement compiled once for asyncpg: its SQL and the order of its bound values."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        if compiled.positiontup is None or "POSTCOMPILE" in compiled.string:
            raise ValueError("a direct statement takes fixed positional values (use = ANY(...) for a list)")
        self.sql, self.writes_outbox = compiled.string, writes_outbox(compiled.string)
        binds = [compiled.binds[name] for name in compiled.positiontup]
        # Each value as the engine would send it: its type's processing (a UtcDateTime in UTC, where asyncpg would
        # read a naive one in the process's zone), and the literals the statement was written with.
        self._values = [(bind.key, bind.value, bind.required, bind.type.bind_processor(_DIALECT)) for bind in binds]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """The statement's values in order, from bound values by name."""
        values = []
        for key, literal, required, process in self._values:
            value = params[key] if required else literal
            values.append(process(value) if process is not None else value)
        return values


class DirectPostgres:
    """An asyncpg pool for the database URL of the engine (opened on first use, inside the running loop)."""

    def __init__(self, url: str, min_size: int, max_size: int, outbox_written: Callable[[], None]) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._min_size, self._max_size, self._outbox_written = min_size, max_size, outbox_written
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _ready(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self._dsn, min_size=self._min_size,
                                                           max_size=self._max_size)
        return self._pool

    async def value(self, statement: DirectStatement, params: dict[str, Any]) -> Any:
        """The first column of the first row, or None when there is no row."""
        return await self._run(statement, params, asyncpg.Pool.fetchval)

    async def rows(self, statement: DirectStatement, params: dict[str, Any]) -> list[asyncpg.Record]:
        return list(await self._run(statement, params, asyncpg.Pool.fetch))

    async def execute(self, statement: DirectStatement, params: dict[str, Any]) -> None:
        await self._run(statement, params, asyncpg.Pool.execute)

    async def _run(self, statement: DirectStatement, params: dict[str, Any], method: Callable[..., Any]) -> Any:
        args = statement.args(params)
        try:
            result = await method(await self._ready(), statement.sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(statement.sql, args, exc) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DBAPIError(statement.sql, args, exc) from exc
        if statement.writes_outbox:
            self._outbox_written()
        return result

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
