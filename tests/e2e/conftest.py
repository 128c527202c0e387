"""Staff accounts for the end-to-end tests of case work."""
from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from storage.staff import SqlStaff


@pytest.fixture
async def tokens(client, settings) -> dict[str, str]:
    """Bearer tokens of a clerk, an approver and a supervisor of 公安局 (township) and a 民政局 clerk."""
    engine = create_async_engine(settings.database_url)
    directory = SqlStaff(engine, utc_now)
    people = {"clerk": (Role.clerk, "德令哈市公安局", Level.township),
              "approver": (Role.approver, "德令哈市公安局", Level.township),
              "supervisor": (Role.supervisor, "德令哈市公安局", Level.township),
              "other_clerk": (Role.clerk, "德令哈市民政局", Level.township)}
    result = {}
    for key, (role, department, level) in people.items():
        _, result[key] = await directory.add(key, role, department, level)
    yield result
    await engine.dispose()
