"""The unmatched inbox end to end: misses said in the chat appear in the studio API masked and grouped, an
abandoned clarify and a 都不是 are recorded, proposals become draft changes, editors only, audited."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app import SERVICES
from bot.catalog.models import Level
from bot.lifecycle import Role
from storage import tables
from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY
from tests.e2e.casework import auth
from tests.e2e.test_cli import run_cli

UNMATCHED = "/api/v1/studio/unmatched"


async def staff_token(client: Any, role: Role) -> str:
    _, token = await client.app[SERVICES].stores.staff.add(role.value, role, "德令哈市政务服务中心", Level.city)
    return str(token)


async def groups(client: Any, token: str) -> list[dict[str, Any]]:
    response = await client.get(UNMATCHED, headers=auth(token))
    assert response.status == 200, await response.text()
    return list((await response.json())["groups"])


async def test_misses_are_masked_and_grouped(client, chat_factory, settings) -> None:
    editor = await staff_token(client, Role.editor)
    await chat_factory("c1").say("我想办宠物狗证，电话13812345678")
    first = await groups(client, editor)
    assert [(g["count"], g["kinds"]) for g in first] == [(1, {"miss": 1})]
    assert first[0]["examples"] == ["我想办宠物狗证，电话138****5678"]

    await chat_factory("c2").say("我想办宠物狗证，证件号63280219900101123X")
    second = await groups(client, editor)
    assert len(second) == 1 and second[0]["count"] == 2
    assert "632802********123X" in second[0]["examples"][0]
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        stored = " ".join((await conn.execute(sa.select(tables.unmatched_examples.c.text))).scalars())
        actions = (await conn.execute(sa.select(tables.audit_log.c.action))).scalars().all()
    await engine.dispose()
    assert "13812345678" not in stored and "63280219900101123X" not in stored
    assert actions == ["unmatched_list", "unmatched_list"]


async def test_abandoned_clarify_and_none_of_these_are_recorded(client, chat_factory) -> None:
    citizen = chat_factory("c3")
    await citizen.say("公积金")      # asked back: which of the 公积金 items
    assert citizen.replies[0]["type"] == "choices"
    await citizen.say("医保")        # something else instead: the first question was abandoned
    assert citizen.replies[0]["type"] == "choices"
    await citizen.say("/human")      # 都不是 under the second question
    await citizen.say("身份证")      # asked back, then picked: nothing to record
    await citizen.say(citizen.replies[0]["options"][0]["value"])
    found = {g["text"]: g["kinds"] for g in await groups(client, await staff_token(client, Role.editor))}
    assert found == {"公积金": {"abandoned_clarify": 1}, "医保": {"none_of_these": 1}}


async def test_a_question_asked_back_and_never_answered_is_recorded_after_the_wait(client, chat_factory,
                                                                                    clock) -> None:
    editor = await staff_token(client, Role.editor)
    gone, answered, typed = chat_factory("c10"), chat_factory("c11"), chat_factory("c12")
    await gone.say("公积金")           # asked back, then the citizen closes the chat
    await answered.say("公积金")       # asked back, then picked
    await answered.say(answered.replies[0]["options"][0]["value"])
    await typed.say("公积金")          # asked back, then answered by naming the item in words
    await typed.say(typed.replies[0]["options"][0]["label"])
    assert typed.replies[0]["type"] != "choices"
    assert await groups(client, editor) == []  # thirty minutes to answer
    clock.now += timedelta(minutes=31)
    assert [(g["text"], g["kinds"]) for g in await groups(client, editor)] == [("公积金", {"unanswered_clarify": 1})]


async def test_handoff_after_a_miss_counts_and_everyday_talk_does_not(client, chat_factory) -> None:
    citizen = chat_factory("c4")
    await citizen.say("你好")
    await citizen.say("办狗证")
    await citizen.say("人工")
    found = await groups(client, await staff_token(client, Role.editor))
    assert [(g["text"], g["kinds"]) for g in found] == [("办狗证", {"handoff": 1, "miss": 1})]


async def test_proposals_and_roles(client, chat_factory, content, settings) -> None:
    editor, clerk = await staff_token(client, Role.editor), await staff_token(client, Role.clerk)
    assert (await client.get(UNMATCHED, headers=auth(clerk))).status == 403
    assert (await client.get(UNMATCHED)).status == 401
    await chat_factory("c5").say("办狗证")
    await chat_factory("c6").say("宠物狗证，电话13812345678")
    by_text = {g["text"]: g["id"] for g in await groups(client, editor)}
    item = next(i for i in content.catalog.items.values() if i.name == "内地居民结婚登记")

    response = await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                                 json={"group_id": by_text["办狗证"], "action": "alias", "item_key": item.code})
    assert response.status == 201, await response.text()
    proposal = await response.json()
    catalog_change, golden = proposal["changes"]
    assert catalog_change["file"] == "catalog/minzheng.yaml" and catalog_change["yaml"] == ["      - 办狗证"]
    assert golden == {"file": "tests/utterances.yaml", "after_line": golden["after_line"],
                      "yaml": ["  办狗证: 内地居民结婚登记"]}
    assert proposal["checks"] == {"passed": True, "errors": [], "warnings": []}  # checked and golden-tested
    tried = await client.post(f"/api/v1/studio/versions/{proposal['draft']}/try", headers=auth(editor),
                              json={"text": "办狗证"})
    tried_json = await tried.json()
    assert (tried_json["draft"]["decision"], tried_json["live"]["decision"]) == ("match", "none")
    listed = {g["text"]: g for g in await groups(client, editor)}
    assert listed["办狗证"]["status"] == "proposed" and listed["办狗证"]["proposal"] == proposal
    # a second proposal adds to the same draft: one draft holds both changes
    event = next(i for i in content.catalog.items.values() if i.situations)
    both = await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                             json={"group_id": by_text["办狗证"], "action": "situation", "item_key": event.code,
                                   "draft": proposal["draft"]})
    both_json = await both.json()
    assert both.status == 201 and both_json["base"] == proposal["draft"], both_json
    assert both_json["changes"][0]["yaml"] == ["      - 办狗证"]
    # the same words now lead to two items: the golden test of the draft says so, and it cannot be published
    assert [e for e in both_json["checks"]["errors"] if "golden test 「办狗证」 failed" in e], both_json["checks"]

    masked = await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                               json={"group_id": by_text["宠物狗证，电话138****5678"], "action": "alias",
                                     "item_key": item.code})
    assert masked.status == 422  # personal data never becomes an alias
    out = await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                            json={"group_id": by_text["宠物狗证，电话138****5678"], "action": "out_of_scope"})
    assert (await out.json())["changes"][0]["yaml"] == ["  宠物狗证，电话138****5678: none"]
    assert (await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                              json={"group_id": 999, "action": "out_of_scope"})).status == 404
    assert (await client.post(UNMATCHED + "/proposals", headers=auth(editor),
                              json={"group_id": by_text["办狗证"], "action": "alias", "item_key": "nope"})).status == 422
    assert (await client.post(UNMATCHED + "/proposals", headers=auth(clerk),
                              json={"group_id": by_text["办狗证"], "action": "out_of_scope"})).status == 403
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        refused = (await conn.execute(sa.select(tables.audit_log.c.detail)
                                      .where(tables.audit_log.c.action == "refused"))).scalars().all()
    await engine.dispose()
    assert [(r["attempt"], r["status"]) for r in refused] == [("unmatched_list", 403), ("unmatched_propose", 404),
                                                              ("unmatched_propose", 403)]


async def test_the_cli_prints_the_top_groups(client, chat_factory, settings, tmp_path) -> None:
    await chat_factory("c7").say("我想办宠物狗证，电话13812345678")
    await chat_factory("c8").say("宠物狗证去哪里办")
    await chat_factory("c9").say("钓鱼证")
    await client.app[SERVICES].unmatched.flush()
    # the app's clock is fixed, the CLI's is the wall clock: a retention long enough to reach back to it
    result = run_cli(tmp_path, "unmatched", "--days", "36500", ZWB_DATABASE_URL=settings.database_url,
                     ZWB_FIELD_KEY=TEST_FIELD_KEY, ZWB_SEARCH_KEY=TEST_SEARCH_KEY,
                     ZWB_UNMATCHED_RETENTION_DAYS="36500")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split()[0] == "2" and "miss 2" in lines[1]  # the most frequent group first
    assert "我想办宠物狗证，电话138****5678" in result.stdout and "13812345678" not in result.stdout
    assert lines[-1] == "2 groups in the last 36500 days"
