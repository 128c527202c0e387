"""The mini-program's WeChat pieces (login, 实名, subscribe messages, content check): the real app configured
against the WeChat simulator served over real HTTP, on a temporary SQLite database. `settings` here replaces the
plain one of tests/conftest.py for the tests of this folder, so `client`, `chat_factory` and `tokens` run against
the WeChat-enabled app."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from sim.wechat import WeChatSimulator
from tests.chat import ROOT
from tests.e2e.miniprogram.session import DENIED_ID, TEMPLATES


@pytest.fixture
def sim() -> WeChatSimulator:
    return WeChatSimulator()


@pytest.fixture
async def sim_url(sim: WeChatSimulator) -> AsyncIterator[str]:
    async with sim.serve() as base:
        yield base


@pytest.fixture
def require_login() -> bool:
    """Parametrize a test with require_login=[True] to run it as in production."""
    return False


@pytest.fixture
def settings(tmp_path: Path, sim: WeChatSimulator, sim_url: str, require_login: bool) -> Settings:
    return Settings.load(None, database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db", blob_dir=tmp_path / "blobs",
                         intents_dir=ROOT / "intents", field_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                         uploads={"max_bytes": 200_000}, wechat_appid=sim.appid, wechat_secret=sim.secret,
                         wechat_token=sim.token, wechat_api_base=sim_url, wechat_templates=TEMPLATES,
                         real_name_deny=[DENIED_ID], require_login=require_login)
