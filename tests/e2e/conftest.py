"""Staff accounts for the end-to-end tests of case work, Chromium for the page tests, and two app processes on
PostgreSQL + Redis for the tests of several instances."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import SERVICES
from bot.catalog.models import Level
from bot.lifecycle import Role
from tests.apps import AppProcess
from tests.e2e.browser import launched_chromium


@pytest.fixture
async def tokens(client) -> dict[str, str]:
    """Bearer tokens of a clerk, an approver and a supervisor of 公安局 (township) and a 民政局 clerk."""
    return await staff_tokens(client)


async def staff_tokens(client) -> dict[str, str]:
    """The accounts of the `tokens` fixture, added to the app of `client`."""
    directory = client.app[SERVICES].stores.staff
    people = {"clerk": (Role.clerk, "德令哈市公安局", Level.township),
              "approver": (Role.approver, "德令哈市公安局", Level.township),
              "supervisor": (Role.supervisor, "德令哈市公安局", Level.township),
              "other_clerk": (Role.clerk, "德令哈市民政局", Level.township)}
    result = {}
    for key, (role, department, level) in people.items():
        _, result[key] = await directory.add(key, role, department, level)
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per page-test module (those modules skip themselves where it is missing)."""
    yield from launched_chromium()


@pytest.fixture
def shared_backends(postgres_url: str, redis_server: str, redis_prefix: str, tmp_path: Path) -> dict[str, str]:
    return {"database_url": postgres_url, "redis_url": redis_server, "redis_prefix": redis_prefix,
            "blob_dir": str(tmp_path / "blobs")}


@pytest.fixture
def two_apps(shared_backends: dict[str, str], tmp_path: Path) -> Iterator[list[AppProcess]]:
    apps = [AppProcess(tmp_path, **shared_backends).start(), AppProcess(tmp_path, **shared_backends).start()]
    yield apps
    for app in apps:
        app.stop()
