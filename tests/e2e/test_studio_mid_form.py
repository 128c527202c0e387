"""A citizen in the middle of a form while a content version is published: carried over when the item keeps its
steps, kept on the version it started with while the instance still has it loaded, and otherwise resumed with a
polite apology at the first open step; never an error."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from app import SERVICES, build_app
from bot.config import Settings
from bot.studio.gate import checks_gate
from tests.chat import Chat
from tests.clock import Clock
from tests.e2e.studio import BASE, CATALOG, bearer, draft_edit, publish, studio_staff, with_alias

VALID_ID = "11010519491231002X"
RENEWAL = "scripts/id_card_renewal.yaml"


def without_phone(text: str) -> str:
    assert "  - field: phone\n" in text
    return text.replace("  - field: phone\n", "", 1)


async def _app(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, clock: Clock,
               kept: int) -> tuple[TestClient, dict[str, str]]:
    """The app as deployed: it loads intents/ itself, as the version it was deployed with. Its publish gate runs
    the checks but not the golden tests, which walk the very steps these tests change (that a golden failure
    blocks a publish is tested below)."""
    client = await aiohttp_client(build_app(settings.model_copy(update={
        "semantic_tiebreaker": False, "studio_versions_kept": kept}), None, clock, gate=checks_gate))
    return client, await studio_staff(client.app[SERVICES].stores.staff)


async def _at_id_number(client: TestClient, user: str) -> Chat:
    citizen = Chat(client, user)
    for text in ("身份证过期了咋办", "/apply", "张三"):
        await citizen.say(text)
    assert citizen.last()["key"] == "id_number", citizen.replies
    return citizen


async def test_a_compatible_publish_carries_the_form_over(aiohttp_client, settings, clock) -> None:
    client, tokens = await _app(aiohttp_client, settings, clock, kept=2)
    citizen = await _at_id_number(client, "carried")
    await publish(client, tokens["publisher"], await draft_edit(client, tokens["editor"], CATALOG, with_alias))
    await citizen.say(VALID_ID)
    assert citizen.last()["key"] == "phone", citizen.replies


async def test_a_form_whose_steps_changed_finishes_on_its_version(aiohttp_client, settings, clock) -> None:
    client, tokens = await _app(aiohttp_client, settings, clock, kept=2)
    citizen = await _at_id_number(client, "stays")
    await publish(client, tokens["publisher"], await draft_edit(client, tokens["editor"], RENEWAL, without_phone))
    await citizen.say(VALID_ID)
    assert citizen.last()["key"] == "phone", citizen.replies  # the step the new version dropped, still asked
    newcomer = await _at_id_number(client, "newcomer")
    await newcomer.say(VALID_ID)
    assert newcomer.last()["key"] == "reason", newcomer.replies  # new forms follow the new version


async def test_a_form_whose_version_is_gone_here_resumes_politely(aiohttp_client, settings, clock) -> None:
    client, tokens = await _app(aiohttp_client, settings, clock, kept=1)
    citizen = await _at_id_number(client, "resumed")
    await publish(client, tokens["publisher"], await draft_edit(client, tokens["editor"], RENEWAL, without_phone))
    await citizen.say(VALID_ID)
    assert "已填写的内容都保存着" in citizen.replies[0]["text"] and "居民身份证换领" in citizen.replies[0]["text"]
    assert citizen.last()["key"] == "id_number"  # the first open step; the name is kept
    await citizen.say(VALID_ID)
    assert citizen.last()["key"] == "reason", citizen.replies


async def test_a_step_change_that_breaks_a_golden_test_is_not_published(aiohttp_client, settings, clock) -> None:
    client = await aiohttp_client(build_app(settings.model_copy(update={"semantic_tiebreaker": False}), None, clock))
    tokens = await studio_staff(client.app[SERVICES].stores.staff)
    live = (await (await client.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))).json())["live"]
    files = (await (await client.get(f"{BASE}/versions/{live}", headers=bearer(tokens["editor"]))).json())["files"]
    drafted = await client.post(f"{BASE}/versions", headers=bearer(tokens["editor"]), json={
        "base": live, "files": {RENEWAL: without_phone(files[RENEWAL])}, "message": "换领不再问手机号"})
    draft = await drafted.json()
    assert not draft["checks"]["passed"]
    assert any("golden test" in e and "手机号码" in e for e in draft["checks"]["errors"]), draft["checks"]
    refused = await client.post(f"{BASE}/publish", headers=bearer(tokens["publisher"]),
                                json={"version": draft["version"]["id"]})
    assert refused.status == 422
    listed = await (await client.get(f"{BASE}/versions", headers=bearer(tokens["editor"]))).json()
    assert listed["live"] == live
