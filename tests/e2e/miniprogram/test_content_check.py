"""Content security of rating comments through WeChat's msg_sec_check (the simulator over HTTP)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.casework import completed_case

SEC_CHECK = "/wxa/msg_sec_check"


async def stored_comments(settings) -> list[str]:
    db = create_async_engine(settings.database_url)
    async with db.connect() as conn:
        texts = (await conn.execute(sa.text("SELECT text FROM ratings"))).scalars().all()
    await db.dispose()
    return list(texts)


async def rate_until_comment(chat) -> None:
    await chat.say("评价")
    await chat.tap("满意")
    await chat.tap("选好了")


async def test_a_risky_comment_is_refused_politely_and_not_stored(client, chat_factory, tokens, settings) -> None:
    citizen = chat_factory("oCitizen1")
    await completed_case(client, citizen, tokens)
    await rate_until_comment(citizen)
    await citizen.say("窗口旁边有人拉我去赌博")
    assert "未能通过内容安全检查" in citizen.text() and "跳过" in citizen.text()
    assert await stored_comments(settings) == []
    await citizen.say("工作人员很耐心")
    assert "感谢您的评价" in citizen.text()
    assert await stored_comments(settings) == ["工作人员很耐心"]


async def test_the_check_fails_open_when_wechat_is_down(client, chat_factory, tokens, settings, sim) -> None:
    citizen = chat_factory("oCitizen2")
    await completed_case(client, citizen, tokens)
    await rate_until_comment(citizen)
    for _ in range(2):  # the WeChat client's attempt and its retry
        sim.drop_next(SEC_CHECK)
    await citizen.say("办得很快")
    assert "感谢您的评价" in citizen.text()
    assert await stored_comments(settings) == ["办得很快"]
