"""A logout on one instance is refused by every other at once: two instances on PostgreSQL + Redis hold the revoked
tokens in memory and hear of a logout over pub/sub (bot/revocations.py); one started later loads it before serving."""
from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.accounts import SessionTokens, WeChatIdentity
from bot.clock import utc_now
from tests.apps import AppProcess

KEY = base64.b64encode(b"logout-instances-test-session-k!").decode()
# Logging in needs WeChat configured; nothing here calls it (a closed port would show).
LOGGED_IN = {"require_login": "true", "session_token_key": KEY, "wechat_appid": "wxtest", "wechat_secret": "secret",
             "wechat_token": "token", "wechat_api_base": "http://127.0.0.1:9", "rate_limit__messages": "100000"}
REFUSED_WITHIN_S = 1.0  # the announcement; the poll (revocation_poll_seconds, 5 s) only covers a lost one


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def status(http: aiohttp.ClientSession, app: AppProcess, token: str) -> int:
    async with http.get(f"{app.url}/api/v1/cases", headers=bearer(token)) as response:
        return response.status


async def test_a_logout_is_refused_by_the_other_instances(shared_backends: dict[str, str], tmp_path: Path) -> None:
    tokens = SessionTokens(base64.b64decode(KEY), timedelta(hours=1), utc_now)
    token, _ = tokens.issue(WeChatIdentity("oLogout"))
    other_session, _ = tokens.issue(WeChatIdentity("oLogout"))
    apps = [AppProcess(tmp_path, **shared_backends, **LOGGED_IN).start() for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as http:
            assert [await status(http, app, token) for app in apps] == [200, 200]
            async with http.post(f"{apps[0].url}/api/v1/auth/logout", headers=bearer(token)) as response:
                assert response.status == 204
            assert await status(http, apps[0], token) == 401
            started = time.monotonic()
            while await status(http, apps[1], token) != 401:
                assert time.monotonic() - started < REFUSED_WITHIN_S, apps[1].log_tail()
                await asyncio.sleep(0.02)
            assert await status(http, apps[1], other_session) == 200  # the user's other session goes on
            apps.append(AppProcess(tmp_path, **shared_backends, **LOGGED_IN).start())
            assert await status(http, apps[2], token) == 401
    finally:
        for app in apps:
            app.stop()
