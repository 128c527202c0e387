"""The studio API on one app: an editor drafts an alias, tries it beside the live version, a second person
publishes it and the chat answers with it at once; rollback brings the old answer back. Roles and the two-person
rule are enforced and every refusal is audited."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from app import SERVICES, build_app
from bot.config import Settings
from bot.content import Content
from storage import tables
from tests.chat import Chat
from tests.clock import Clock
from tests.e2e.studio import BASE, CATALOG, NEW_ALIAS, bearer, draft_edit, studio_staff, with_alias


@pytest.fixture
async def studio(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, content: Content,
                 clock: Clock) -> TestClient:
    return await aiohttp_client(build_app(settings.model_copy(update={"semantic_tiebreaker": False}), content, clock))


async def _json(response) -> dict:
    body = await response.json(content_type=None)
    return body


async def _draft(client: TestClient, token: str) -> str:
    return await draft_edit(client, token, CATALOG, with_alias)


async def _audit(settings: Settings) -> list[dict]:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.audit_log).order_by(tables.audit_log.c.id))).mappings().all()
    await engine.dispose()
    return [dict(r) for r in rows]


async def test_draft_try_publish_and_roll_back(studio: TestClient) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    seed = (await _json(await studio.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))))["live"]
    draft = await _draft(studio, tokens["editor"])

    tried = await _json(await studio.post(f"{BASE}/versions/{draft}/try", headers=bearer(tokens["editor"]),
                                          json={"text": NEW_ALIAS}))
    assert tried["draft"]["decision"] == "match" and tried["draft"]["candidates"][0]["code"] == "GA0050000"
    assert tried["live"]["decision"] == "none" and tried["live"]["version"] == seed
    diff = await _json(await studio.get(f"{BASE}/versions/{draft}/diff", params={"against": seed},
                                        headers=bearer(tokens["editor"])))
    assert list(diff["files"]) == [CATALOG] and f"+      - {NEW_ALIAS}" in diff["files"][CATALOG]

    citizen = Chat(studio, "studio-citizen")
    await citizen.say(NEW_ALIAS)
    assert "居住证" not in citizen.text()
    published = await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher"]), json={"version": draft})
    assert published.status == 200, await published.text()
    await citizen.say(NEW_ALIAS)
    assert "居住证" in citizen.text()

    rolled = await _json(await studio.post(f"{BASE}/rollback", headers=bearer(tokens["publisher2"])))
    assert rolled["live"] == seed
    await citizen.say(NEW_ALIAS)
    assert "居住证" not in citizen.text()
    versions = await _json(await studio.get(f"{BASE}/versions", headers=bearer(tokens["publisher"])))
    assert [h["action"] for h in versions["history"]] == ["rollback", "publish", "publish"]
    assert versions["history"][1]["actor"].endswith(" publisher")


async def test_roles_and_the_two_person_rule(studio: TestClient, settings: Settings) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    assert (await studio.get(f"{BASE}/versions")).status == 401
    clerk = await studio.get(f"{BASE}/versions", headers=bearer(tokens["clerk"]))
    assert clerk.status == 403 and "岗位" in (await _json(clerk))["detail"]
    editor_cases = await studio.get("/api/v1/staff/cases", headers=bearer(tokens["editor"]))
    assert editor_cases.status == 403  # studio roles see no cases
    unknown = await studio.get(f"{BASE}/versions/{'0' * 64}", headers=bearer(tokens["editor"]))
    assert unknown.status == 404

    own = await _draft(studio, tokens["publisher"])
    refused = await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher"]), json={"version": own})
    assert refused.status == 403 and "two-person" in (await _json(refused))["reason"]
    by_editor = await studio.post(f"{BASE}/publish", headers=bearer(tokens["editor"]), json={"version": own})
    assert by_editor.status == 403
    assert (await studio.post(f"{BASE}/rollback", headers=bearer(tokens["editor"]))).status == 403
    assert (await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher2"]),
                              json={"version": own})).status == 200
    again = await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher2"]), json={"version": own})
    assert again.status == 409

    refusals = [(r["detail"]["attempt"], r["detail"]["status"]) for r in await _audit(settings)
                if r["action"] == "refused"]
    assert refusals == [("studio_list", 403), ("/api/v1/staff/cases", 403), ("studio_files", 404),
                        ("studio_publish", 403), ("studio_publish", 403), ("studio_rollback", 403)]
    actions = {r["action"] for r in await _audit(settings)}
    assert {"studio_list", "studio_files", "studio_draft", "studio_publish"} <= actions


async def test_a_draft_that_fails_the_checks_is_kept_but_cannot_be_published(studio: TestClient) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    live = (await _json(await studio.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))))["live"]
    response = await studio.post(f"{BASE}/versions", headers=bearer(tokens["editor"]), json={
        "base": live, "files": {"scripts/prompts.yaml": "greeting: 您好？\n"}, "message": "删掉了几乎所有提示语"})
    body = await _json(response)
    assert response.status == 201 and not body["checks"]["passed"]
    assert any(e.startswith("scripts/prompts.yaml:") for e in body["checks"]["errors"]), body
    refused = await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher"]),
                                json={"version": body["version"]["id"]})
    problem = await _json(refused)
    assert refused.status == 422 and problem["errors"] == body["checks"]["errors"]
    escaping = await studio.post(f"{BASE}/versions", headers=bearer(tokens["editor"]), json={
        "base": live, "files": {"../app.py": "x"}, "message": "越界"})
    assert escaping.status == 422
