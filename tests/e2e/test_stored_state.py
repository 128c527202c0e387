"""A conversation stored by an older release, or one that no longer decodes, never fails the citizen's messages:
they get a short apology and a fresh start (or their application back), and the event is counted."""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app import build_app
from bot.dialogue.engine import Engine, Inbound
from bot.dialogue.state import Stage
from storage.cipher import FieldCipher
from storage.redis_sessions import SessionKeys
from storage.sessions import MemorySessionStore
from tests.engines import memory_engine

RENAMED_STAGE = b'{"stage":"collecting_fields","target":"GA0020000"}'  # a stage a later release renamed
IN_PROGRESS = (b'{"stage":"collecting_fields","target":"GA0020000","submit_key":"k1","last_case":"DLH20261127000001",'
               b'"answers":{"applicant_name":"\xe5\xbc\xa0\xe4\xb8\x89"}}')


@pytest.fixture
async def engine_on_memory(content, tmp_path: Path) -> AsyncIterator[tuple[Engine, MemorySessionStore]]:
    async with memory_engine(lambda: content, tmp_path) as made:
        yield made


def store_raw(sessions: MemorySessionStore, user: str, raw: bytes) -> None:
    """What an older release left in the store (the memory store keeps the encoded state like Redis does)."""
    sessions._data[user] = (time.monotonic(), raw)


async def test_unreadable_state_in_memory_starts_again_with_an_apology(engine_on_memory, content, caplog) -> None:
    engine, sessions = engine_on_memory
    store_raw(sessions, "u", b'{"stage":"renamed","last_case":"DLH20261127000001"}')
    with caplog.at_level(logging.WARNING, "zhengwu.dialogue"):
        replies = await engine.handle("u", Inbound(text="身份证过期了咋办"))
    assert replies[0].text == content.prompts.state_lost
    assert replies[1].type == "card" and "居民身份证换领" in replies[1].title  # the message itself is answered
    assert engine.restarted_conversations == 1 and "stage" in caplog.text and "renamed" not in caplog.text
    async with sessions.session("u") as session:
        state = await session.load()
    assert state.stage is Stage.offered and state.last_case == "DLH20261127000001"
    replies = await engine.handle("u", Inbound(text="/apply"))
    assert replies[-1].type == "form_step" and engine.restarted_conversations == 1  # no second apology


async def test_unreadable_state_keeps_the_application_when_it_still_reads(engine_on_memory, content) -> None:
    engine, sessions = engine_on_memory
    store_raw(sessions, "u", IN_PROGRESS)
    replies = await engine.handle("u", Inbound(text="13800138000"))  # answered another step: not taken as one
    assert replies[0].text == content.prompts.state_resumed.format(name="居民身份证换领")
    assert replies[-1].type == "form_step" and replies[-1].key == "id_number"
    replies = await engine.handle("u", Inbound(text="11010519491231002X"))
    assert replies[-1].key == "phone"
    async with sessions.session("u") as session:
        state = await session.load()
    assert state.answers["applicant_name"] == "张三" and state.last_case == "DLH20261127000001"


async def test_state_of_the_release_before_versioning_goes_on_silently(engine_on_memory) -> None:
    engine, sessions = engine_on_memory
    store_raw(sessions, "u", b'{"stage":"collect","target":"GA0020000","submit_key":"k1","step":1,'
                             b'"answers":{"applicant_name":"\xe5\xbc\xa0\xe4\xb8\x89"}}')
    replies = await engine.handle("u", Inbound(text="11010519491231002X"))
    assert [r.type for r in replies] == ["form_step"] and replies[0].key == "phone"
    assert engine.restarted_conversations == 0


async def test_unreadable_state_in_redis_is_answered_over_http(aiohttp_client, settings, content, clock,
                                                               redis_server: str, redis_prefix: str) -> None:
    on_redis = settings.model_copy(update={"redis_url": redis_server, "redis_prefix": redis_prefix})
    client = await aiohttp_client(build_app(on_redis, content, clock))
    cipher = FieldCipher.from_config(settings.field_key, [], Path("unused"))
    redis = Redis.from_url(redis_server)
    try:
        await redis.set(SessionKeys(redis_prefix).state("stale"), cipher.encrypt_bytes(RENAMED_STAGE), ex=600)
        await redis.set(SessionKeys(redis_prefix).state("kept"), cipher.encrypt_bytes(IN_PROGRESS), ex=600)
    finally:
        await redis.aclose()
    said = []
    for _ in range(2):  # before the fix, every later message of the user failed the same way (422 for 7 days)
        response = await client.post("/api/v1/chat/messages", json={"user": "stale", "text": "身份证过期了咋办"})
        assert response.status == 200, await response.text()
        said.append((await response.json())["replies"])
    assert said[0][0]["text"] == content.prompts.state_lost and said[0][1]["type"] == "card"
    assert said[1][0]["type"] == "card" and "居民身份证换领" in said[1][0]["title"]  # the apology came once
    response = await client.post("/api/v1/chat/messages", json={"user": "kept", "text": "/hello"})
    replies = (await response.json())["replies"]
    assert response.status == 200 and replies[0]["text"].startswith("抱歉，系统升级了")
    assert replies[-1]["key"] == "id_number"
