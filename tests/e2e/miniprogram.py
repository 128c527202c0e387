"""Fixtures and helpers for the mini-program's WeChat pieces (login, 实名, subscribe messages, content check): the
real app configured against the WeChat simulator served over real HTTP, on a temporary SQLite database.

Import the fixtures into a test module (`from tests.e2e.miniprogram import settings, sim, sim_url  # noqa: F401`):
`settings` then replaces the plain one of tests/conftest.py for that module, so `client`, `chat_factory` and
`tokens` run against the WeChat-enabled app.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.config import Settings
from sim.wechat import WeChatSimulator
from tests.conftest import ROOT, Chat

TEMPLATES = {"progress": "tpl-progress", "completed": "tpl-completed", "rating": "tpl-rating",
             "correction": "tpl-correction"}
DENIED_ID = "632802199001010013"   # GB 11643-valid, on the sandbox verifier's deny list
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"


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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: TestClient, sim: WeChatSimulator, openid: str, unionid: str | None = None) -> str:
    """Log in as the mini-program does after wx.login; returns the session token."""
    response = await client.post("/api/v1/auth/wechat/login", json={"code": sim.issue_code(openid, unionid)})
    assert response.status == 200, await response.text()
    return str((await response.json())["token"])


class SessionChat(Chat):
    """The chat of a logged-in citizen: the session token in every request and no `user` in the body."""

    def __init__(self, client: TestClient, openid: str, token: str) -> None:
        super().__init__(client, openid)
        self.headers = bearer(token)

    async def say(self, text: str) -> list[dict[str, Any]]:
        response = await self.client.post("/api/v1/chat/messages", json={"text": text}, headers=self.headers)
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies

    async def upload(self, data: bytes, filename: str = "photo.png") -> list[dict[str, Any]]:
        form = FormData()
        form.add_field("file", data, filename=filename)
        response = await self.client.post("/api/v1/chat/messages", data=form, headers=self.headers)
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies
