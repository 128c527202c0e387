"""长辈模式 over the chat API: the same turn with "elder": true says fewer words and keeps the essentials."""
from __future__ import annotations

from typing import Any

import pytest

CLEAR_MARGIN = 0.7  # an elder reply has at most 70 % of the characters of the normal one


async def _say(client, user: str, text: str, elder: bool) -> list[dict[str, Any]]:
    response = await client.post("/api/v1/chat/messages", json={"user": user, "text": text, "elder": elder})
    assert response.status == 200, await response.text()
    return (await response.json())["replies"]


def _shown(replies: list[dict[str, Any]]) -> str:
    """What the citizen reads before tapping anything (fields marked `more` wait behind 「查看更多」)."""
    parts = []
    for reply in replies:
        parts += [reply.get("text", ""), reply.get("title", "")]
        parts += [f"{f['label']}{f['value']}" for f in reply.get("fields", []) if not f.get("more")]
    return "".join(parts)


@pytest.mark.parametrize(("turn", "essentials"), [
    ("/hello", ["您好", "办什么事"]),
    ("帮助", ["「上一步」", "「修改」", "「取消」"]),
    ("身份证过期了咋办", ["居民身份证换领", "要带的材料", "办理地点", "承诺时限", "收费"]),
], ids=["greeting", "help", "item card"])
async def test_the_elder_reply_is_shorter_and_keeps_the_essentials(client, turn: str, essentials: list[str]) -> None:
    normal = _shown(await _say(client, "normal", turn, elder=False))
    elder = _shown(await _say(client, "elder", turn, elder=True))
    assert len(elder) <= CLEAR_MARGIN * len(normal), f"{len(elder)} vs {len(normal)} characters:\n{elder}\n{normal}"
    assert all(word in elder for word in essentials), elder


async def test_the_elder_item_card_opens_with_what_to_bring_where_how_long_and_the_cost(client) -> None:
    [normal] = [r for r in await _say(client, "n", "身份证过期了咋办", elder=False) if r["type"] == "card"]
    [elder] = [r for r in await _say(client, "e", "身份证过期了咋办", elder=True) if r["type"] == "card"]
    first = [f for f in elder["fields"] if not f.get("more")]
    assert [f["label"] for f in first] == ["要带的材料", "办理地点", "承诺时限", "收费"]
    assert "居民身份证" in first[0]["value"] and "德令哈" in first[1]["value"]
    by_label = {f["label"]: f["value"] for f in normal["fields"]}
    assert all(by_label[f["label"]] == f["value"] for f in first[2:])
    more = {f["label"]: f["value"] for f in elder["fields"] if f.get("more")}
    assert more == {label: value for label, value in by_label.items() if label not in ("承诺时限", "收费")}
    assert not any(f.get("more") for f in normal["fields"]) and elder["actions"] == normal["actions"]


async def test_a_normal_request_after_an_elder_one_is_worded_in_full(client) -> None:
    short = _shown(await _say(client, "both", "帮助", elder=True))
    full = _shown(await _say(client, "both", "帮助", elder=False))
    assert len(short) < len(full) and "多久能办好" in full
