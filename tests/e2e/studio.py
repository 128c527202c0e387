"""Helpers of the intent-studio tests: studio staff accounts and the one alias edit they publish."""
from __future__ import annotations

from bot.catalog.models import Level
from bot.lifecycle import Role
from bot.ports import StaffDirectory

NEW_ALIAS = "星光卡怎么弄"  # matches nothing in the seed; an alias of 居住证申领 (GA0050000) after the edit
CATALOG = "catalog/gongan.yaml"
_ANCHOR = "      - 外地人办居住证\n      - 暂住证\n"


def with_alias(text: str) -> str:
    """gongan.yaml with NEW_ALIAS added to the aliases of 居住证申领."""
    assert _ANCHOR in text
    return text.replace(_ANCHOR, _ANCHOR + f"      - {NEW_ALIAS}\n", 1)


async def studio_staff(directory: StaffDirectory) -> dict[str, str]:
    """Bearer tokens of an editor, two publishers and a clerk."""
    people = {"editor": Role.editor, "publisher": Role.publisher, "publisher2": Role.publisher, "clerk": Role.clerk}
    tokens = {}
    for name, role in people.items():
        _, tokens[name] = await directory.add(name, role, "德令哈市政务服务和数据管理局", Level.city)
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
