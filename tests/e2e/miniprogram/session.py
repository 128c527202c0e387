"""Helpers of the mini-program tests: a logged-in citizen's chat, login, and the simulator's names."""
from __future__ import annotations

import uuid
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from sim.wechat import WeChatSimulator
from tests.chat import Chat

TEMPLATES = {"progress": "tpl-progress", "completed": "tpl-completed", "rating": "tpl-rating",
             "correction": "tpl-correction", "handoff": "tpl-handoff"}
DENIED_ID = "632802199001010013"   # GB 11643-valid, on the sandbox verifier's deny list
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: TestClient, sim: WeChatSimulator, openid: str, unionid: str | None = None) -> str:
    """Log in as the mini-program does after wx.login; returns the session token."""
    response = await client.post("/api/v1/auth/wechat/login", json={"code": sim.issue_code(openid, unionid)})
    assert response.status == 200, await response.text()
    return str((await response.json())["token"])


class SessionChat(Chat):
    """The chat of a logged-in citizen as the mini-program sends it: the session token in every request, no `user`
    in the body, and a new client message id per message in `Idempotency-Key` (a retry would send it again)."""

    def __init__(self, client: TestClient, openid: str, token: str) -> None:
        super().__init__(client, openid)
        self.headers = bearer(token)

    def _message(self) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": str(uuid.uuid4())}

    async def say(self, text: str) -> list[dict[str, Any]]:
        response = await self.client.post("/api/v1/chat/messages", json={"text": text}, headers=self._message())
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies

    async def upload(self, data: bytes, filename: str = "photo.png") -> list[dict[str, Any]]:
        form = FormData()
        form.add_field("file", data, filename=filename)
        response = await self.client.post("/api/v1/chat/messages", data=form, headers=self._message())
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies
