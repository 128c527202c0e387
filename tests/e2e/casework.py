"""Helpers for tests where citizens submit cases and staff work on them."""
from __future__ import annotations

import re

from tests.conftest import PNG

VALID_ID = "11010519491231002X"


async def submitted_renewal(chat, defer_photo: bool = False) -> str:
    """A citizen's 居民身份证换领 (公安局, township level), submitted; returns the case number."""
    await chat.say("身份证过期了咋办")
    await chat.tap("我要办理")
    for answer in ("张三", VALID_ID, "13800138000"):
        await chat.say(answer)
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say("德令哈市河西街道长江路1号")
    await chat.tap("电子证照")
    await chat.upload(PNG)
    await chat.tap("容缺" if defer_photo else "跳过")
    await chat.tap("确认提交")
    return re.search(r"DLH\d{14}", chat.text()).group(0)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def move(client, token: str, number: str, **body) -> tuple[int, dict]:
    response = await client.post(f"/api/v1/staff/cases/{number}/transitions", json=body, headers=auth(token))
    return response.status, await response.json()
