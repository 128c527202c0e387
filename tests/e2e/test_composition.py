"""The composition root: bootstrap() serves without the web app, the content holder swaps content for the whole
running app, and adapters follow the settings."""
from __future__ import annotations

import dataclasses

from app import SERVICES, build_app
from bootstrap import bootstrap
from bot.catalog.models import Level
from bot.dialogue.engine import Inbound
from bot.lifecycle import Role
from storage.migrate import upgrade
from storage.sql_sessions import SqlSessionStore

NEW_GREETING = "您好，这是刚刚换上的新问候语。"


async def test_bootstrap_serves_a_chat_turn_and_a_staff_account_without_aiohttp(settings, content, clock):
    services = bootstrap(settings, content=content, clock=clock)
    try:
        await upgrade(services.stores.db)
        replies = await services.engine.handle("boot-user", Inbound(text="/hello"))
        assert content.prompts.greeting in [getattr(r, "text", "") for r in replies]
        staff, token = await services.stores.staff.add("李四", Role.clerk, "德令哈市公安局", Level.township)
        assert (await services.stores.staff.by_token(token)) == staff
    finally:
        await services.close()


async def texts(response) -> list[str]:
    return [r.get("text", "") for r in (await response.json())["replies"]]


async def test_swapped_content_answers_the_next_turn_without_a_rebuild(aiohttp_client, settings, content, clock):
    client = await aiohttp_client(build_app(settings, content, clock))
    holder = client.app[SERVICES].content
    first = await client.post("/api/v1/chat/messages", json={"user": "swap", "text": "/hello"})
    assert content.prompts.greeting in await texts(first)

    other = dataclasses.replace(content, prompts=content.prompts.model_copy(update={"greeting": NEW_GREETING}),
                                cards={}, card_json={})
    assert holder.swap(other) is content
    second = await client.post("/api/v1/chat/messages", json={"user": "swap", "text": "/hello"})
    assert await texts(second) == [NEW_GREETING]
    assert holder.current is other and holder.prompts().greeting == NEW_GREETING  # what the dispatcher reads


async def test_adapters_follow_the_settings(aiohttp_client, settings, content, clock):
    client = await aiohttp_client(build_app(settings, content, clock))
    services = client.app[SERVICES]
    assert services.sandbox is not None and services.wechat is None  # embedded defaults
    assert isinstance(services.stores.shared.local_sessions, SqlSessionStore)  # purged by housekeeping
    confirm = await client.post("/api/v1/payments/sandbox/nothing/confirm", params={"user": "u"})
    assert (await confirm.json())["detail"] == "没有找到这笔订单。"  # the sandbox's route is there
