"""Helpers of the intent-studio tests: studio staff accounts and the one alias edit they publish."""
from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestClient

from bot.catalog.models import Level
from bot.lifecycle import Role
from bot.ports import StaffDirectory

BASE = "/api/v1/studio"
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


async def draft_edit(client: TestClient, token: str, path: str, change: Callable[[str], str]) -> str:
    """A draft from the live version with one file changed, checked (it must pass); its id."""
    live = (await (await client.get(f"{BASE}/versions", headers=bearer(token))).json())["live"]
    files = (await (await client.get(f"{BASE}/versions/{live}", headers=bearer(token))).json())["files"]
    response = await client.post(f"{BASE}/versions", headers=bearer(token), json={
        "base": live, "files": {path: change(files[path])}, "message": f"改了 {path}"})
    body = await response.json()
    assert response.status == 201 and body["checks"]["passed"], body
    return str(body["version"]["id"])


async def publish(client: TestClient, token: str, version: str) -> None:
    response = await client.post(f"{BASE}/publish", headers=bearer(token), json={"version": version})
    assert response.status == 200, await response.text()
