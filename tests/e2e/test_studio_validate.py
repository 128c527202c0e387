"""Checking an edit as the editor types (POST /api/v1/studio/validate): the same checks as publish, on the live
version with the edit applied, nothing stored; findings point at the form field they concern; roles enforced and
refusals audited; bad bodies get a problem detail."""
from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from app import SERVICES, build_app
from bot.config import Settings
from bot.content import Content
from tests.clock import Clock
from tests.e2e.test_studio_api import _audit
from tests.e2e.studio import BASE, CATALOG, NEW_ALIAS, bearer, studio_staff

ITEM = "GA0050000"  # 居住证申领: aliases in catalog/gongan.yaml, FAQ and steps in scripts/residence_permit.yaml
OTHER_ITEMS_ALIAS = "换身份证"  # an alias of 居民身份证换领


@pytest.fixture
async def studio(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, content: Content,
                 clock: Clock) -> TestClient:
    return await aiohttp_client(build_app(settings.model_copy(update={"semantic_tiebreaker": False}), content, clock))


async def _setup(studio: TestClient) -> tuple[dict[str, str], str, dict]:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    live = (await (await studio.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))).json())["live"]
    form = await _validate(studio, tokens["editor"], {"base": live, "item": ITEM})
    return tokens, live, form["item"]


async def _validate(studio: TestClient, token: str, body: dict, status: int = 200) -> dict:
    response = await studio.post(f"{BASE}/validate", headers=bearer(token), json=body)
    assert response.status == status, await response.text()
    body: dict = await response.json(content_type=None)
    return body


async def _files(studio: TestClient, token: str, version: str) -> dict[str, str]:
    files: dict[str, str] = (await (await studio.get(f"{BASE}/versions/{version}", headers=bearer(token))).json())["files"]
    return files


def _changed(before: str, after: str) -> list[str]:
    """The removed and added lines of a unified diff."""
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
            if line[:1] in "+-" and line[:3] not in ("+++", "---")]


async def test_a_new_alias_passes_and_nothing_is_stored(studio: TestClient) -> None:
    tokens, live, item = await _setup(studio)
    assert item["name"] == "居住证申领" and "暂住证" in item["aliases"] and item["steps"][0] == {"field": "applicant_name"}
    checked = await _validate(studio, tokens["editor"], {
        "base": live, "item": ITEM, "fields": {"aliases": [*item["aliases"], NEW_ALIAS]}})
    assert checked["passed"] and checked["errors"] == [] and checked["warnings"] == []
    files = await _files(studio, tokens["editor"], live)
    assert list(checked["files"]) == [CATALOG]
    assert _changed(files[CATALOG], checked["files"][CATALOG]) == [f"+      - {NEW_ALIAS}"]  # the rest as it was
    assert checked["item"]["aliases"][-1] == NEW_ALIAS
    versions = await (await studio.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))).json()
    assert [v["id"] for v in versions["versions"]] == [live]


async def test_an_alias_of_another_item_is_an_error_on_that_alias(studio: TestClient) -> None:
    tokens, live, item = await _setup(studio)
    aliases = [*item["aliases"], OTHER_ITEMS_ALIAS]
    checked = await _validate(studio, tokens["editor"], {"base": live, "item": ITEM, "fields": {"aliases": aliases}})
    assert not checked["passed"]
    mine = [e for e in checked["errors"] if e["field"] == f"aliases[{len(aliases) - 1}]"]
    assert mine and any(e["code"] == "duplicate-phrase" and OTHER_ITEMS_ALIAS in e["message"] for e in mine)
    assert all(e["where"].startswith("catalog/") for e in mine)


async def test_a_step_naming_an_unknown_field_is_an_error_on_that_step(studio: TestClient) -> None:
    tokens, live, item = await _setup(studio)
    steps = [*item["steps"], {"field": "favourite_colour"}]
    checked = await _validate(studio, tokens["editor"], {"base": live, "item": ITEM, "fields": {"steps": steps}})
    assert not checked["passed"]
    assert [(e["code"], e["field"]) for e in checked["errors"]] == [("script", f"steps[{len(steps) - 1}]")]
    assert "favourite_colour" in checked["errors"][0]["message"]
    assert checked["errors"][0]["where"].startswith("scripts/residence_permit.yaml:")


async def test_a_prompt_with_ascii_punctuation_is_an_error_on_that_prompt(studio: TestClient) -> None:
    tokens, live, _ = await _setup(studio)
    prompts = (await _validate(studio, tokens["editor"], {"base": live, "prompts": {}}))["prompts"]
    assert prompts["clarify"] == "您想办的是下面哪一项？" and len(prompts) > 40
    checked = await _validate(studio, tokens["editor"], {"base": live, "prompts": {**prompts,
                                                                                  "clarify": "您想办哪一项?"}})
    assert [(e["code"], e["field"]) for e in checked["errors"]] == [("punctuation", "prompts.clarify")]
    live_files = await _files(studio, tokens["editor"], live)
    assert _changed(live_files["scripts/prompts.yaml"], checked["files"]["scripts/prompts.yaml"]) == [
        "-clarify: 您想办的是下面哪一项？", "+clarify: 您想办哪一项?"]  # every other prompt keeps its line


async def test_a_role_without_studio_access_is_refused_and_audited(studio: TestClient, settings: Settings) -> None:
    tokens, live, _ = await _setup(studio)
    refused = await _validate(studio, tokens["clerk"], {"base": live, "item": ITEM}, status=403)
    assert refused["status"] == 403 and "岗位" in refused["detail"]
    audit = await _audit(settings)
    assert [(r["detail"]["attempt"], r["detail"]["status"]) for r in audit if r["action"] == "refused"] == [
        ("studio_validate", 403)]
    assert [r["action"] for r in audit].count("studio_validate") == 1  # the editor's read in _setup


@pytest.mark.parametrize("body", [
    {"item": ITEM, "path": CATALOG},  # two kinds of edit at once
    {"path": CATALOG},  # a file without its text
    {"item": ITEM, "fields": {"faq": [{"ask": ["多少钱"]}]}},  # an answer missing
    {"item": "XX9999999"},  # no such item
    {"path": "../secrets.yaml", "text": "a: 1"},  # outside intents/
    {"prompts": {"status_labels": "已受理"}},  # a table of prompts, not a text
])
async def test_bad_input_is_a_problem_detail(studio: TestClient, body: dict) -> None:
    tokens, live, _ = await _setup(studio)
    problem = await _validate(studio, tokens["editor"], {"base": live, **body}, status=422)
    assert problem["status"] == 422 and problem["detail"]
