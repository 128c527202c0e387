"""Fixtures of the unit tests: a content version store on a temporary SQLite database."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from storage.content_versions import SqlContentVersions
from storage.migrate import upgrade
from tests.clock import Clock
from tests.contract.cases import NOW


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlContentVersions]:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/versions.db")
    await upgrade(db)
    yield SqlContentVersions(db, Clock(NOW))
    await db.dispose()
