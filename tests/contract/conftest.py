"""Fixtures of the SQL contract tests: an upgraded engine on SQLite, then on PostgreSQL, and a field cipher."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.cipher import FieldCipher
from storage.direct_pg import DirectPostgres
from storage.engine import open_direct
from storage.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite+aiosqlite:///{tmp_path}/contract.db"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def direct(database_url: str) -> AsyncIterator[DirectPostgres | None]:
    """The asyncpg pool the app runs its busiest statements on, on PostgreSQL (None on SQLite), as bootstrap opens
    it (without outbox wake-ups): the stores given it are tested on the path they take in production."""
    pool = open_direct(database_url, lambda: None)
    yield pool
    if pool is not None:
        await pool.close()


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))
