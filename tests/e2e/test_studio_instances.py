"""Publishing from the command line (or the API) reaches every running instance within 5 s, without a restart:
two instances on PostgreSQL + Redis (pub/sub), and one embedded instance on SQLite (polling)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bootstrap import ROOT
from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY, AppProcess
from tests.e2e.studio import BASE, CATALOG, NEW_ALIAS, bearer, with_alias

SWITCH_SECONDS = 5.0


def cli(settings: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ZWB_FIELD_KEY": TEST_FIELD_KEY, "ZWB_SEARCH_KEY": TEST_SEARCH_KEY, "ZWB_SEMANTIC_TIEBREAKER": "false",
           "PATH": "/usr/bin:/bin", **{f"ZWB_{k.upper()}": v for k, v in settings.items()}}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def edited_intents(tmp_path: Path) -> Path:
    copy = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", copy)
    (copy / CATALOG).write_text(with_alias((copy / CATALOG).read_text(encoding="utf-8")), encoding="utf-8")
    return copy


async def understands(http: aiohttp.ClientSession, app: AppProcess, user: str) -> bool:
    async with http.post(f"{app.url}/api/v1/chat/messages", json={"user": user, "text": NEW_ALIAS}) as response:
        assert response.status == 200, await response.text()
        return "居住证" in str(await response.json())


async def seconds_until(http: aiohttp.ClientSession, app: AppProcess, user: str, wanted: bool) -> float:
    """How long until the instance answers the new alias as `wanted`; fails after twice the allowed time."""
    started = time.monotonic()
    while await understands(http, app, user) != wanted:
        assert time.monotonic() - started < 2 * SWITCH_SECONDS, app.log_tail()
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_cli_publish_reaches_both_instances_and_an_api_rollback_undoes_it(
        two_apps: list[AppProcess], shared_backends: dict[str, str], tmp_path: Path) -> None:
    backends = shared_backends
    async with aiohttp.ClientSession() as http:
        assert not await understands(http, two_apps[1], "before")
        published = cli(backends, "content", "publish", "--from", str(edited_intents(tmp_path)),
                        "--message", f"居住证加别名「{NEW_ALIAS}」", "--author", "李编辑")
        assert published.returncode == 0, published.stderr
        waits = await asyncio.gather(*(seconds_until(http, app, f"after-{i}", True) for i, app in enumerate(two_apps)))
        assert max(waits) < SWITCH_SECONDS, waits

        listed = cli(backends, "content", "list")
        live = next(line for line in listed.stdout.splitlines() if line.startswith("*"))
        assert "李编辑" in live and "cli" in live and len(listed.stdout.splitlines()) == 2  # the seed and this one

        added = cli(backends, "add-staff", "--name", "王发布", "--role", "publisher", "--department", "德令哈市政务服务和数据管理局",
                    "--level", "city")
        token = added.stdout.split("token (shown once): ")[1].split()[0]
        async with http.post(f"{two_apps[0].url}{BASE}/rollback", headers=bearer(token)) as response:
            assert response.status == 200, await response.text()
        waits = await asyncio.gather(*(seconds_until(http, app, f"back-{i}", False) for i, app in enumerate(two_apps)))
        assert max(waits) < SWITCH_SECONDS, waits


async def test_the_embedded_instance_follows_a_cli_publish_by_polling(tmp_path: Path) -> None:
    database = {"database_url": f"sqlite+aiosqlite:///{tmp_path}/embedded.db"}
    app = AppProcess(tmp_path, **database).start()
    try:
        async with aiohttp.ClientSession() as http:
            refused = cli(database, "content", "rollback")
            assert refused.returncode == 1 and "no earlier published version" in refused.stderr
            broken = tmp_path / "broken"
            shutil.copytree(ROOT / "intents", broken)
            (broken / "scripts" / "prompts.yaml").write_text("greeting: 您好?\n", encoding="utf-8")
            failed = cli(database, "content", "publish", "--from", str(broken), "--message", "坏的")
            assert failed.returncode == 1 and "scripts/prompts.yaml:" in failed.stderr, failed.stderr
            edited = str(edited_intents(tmp_path))
            assert cli(database, "content", "publish", "--from", edited, "--message", "别名").returncode == 0
            again = cli(database, "content", "publish", "--from", edited, "--message", "别名")
            assert again.returncode == 0 and "live already" in again.stdout  # a pipeline may run it twice
            assert await seconds_until(http, app, "embedded", True) < SWITCH_SECONDS
            assert cli(database, "content", "rollback").returncode == 0
            assert await seconds_until(http, app, "embedded-back", False) < SWITCH_SECONDS
    finally:
        app.stop()
