"""The studio page in Debian's Chromium against two app instances on PostgreSQL + Redis: an editor adds an alias
and tries it (the draft matches, the live version does not), a publisher publishes it and the SECOND instance
answers with it without a restart, then rolls it back."""
from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import utc_now
from storage.staff import SqlStaff
from tests.apps import AppProcess
from tests.backends import run_sync
from tests.e2e.browser import require_chromium
from tests.e2e.studio import NEW_ALIAS, studio_staff

require_chromium()

SCREENSHOTS = Path(os.environ.get("ZWB_SCREENSHOTS", "/tmp/studio_screens"))
SWITCH_SECONDS = 5.0


def tokens_on(database_url: str) -> dict[str, str]:
    async def add() -> dict[str, str]:
        engine = create_async_engine(database_url)
        try:
            return await studio_staff(SqlStaff(engine, utc_now))
        finally:
            await engine.dispose()
    return run_sync(add())


def understands(app: AppProcess, user: str) -> bool:
    request = urllib.request.Request(f"{app.url}/api/v1/chat/messages", method="POST",
                                     data=json.dumps({"user": user, "text": NEW_ALIAS}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return "居住证" in response.read().decode()


def wait_until(app: AppProcess, wanted: bool, user: str) -> float:
    started = time.monotonic()
    while understands(app, user) != wanted:
        assert time.monotonic() - started < 2 * SWITCH_SECONDS, app.log_tail()
        time.sleep(0.1)
    return time.monotonic() - started

@contextmanager
def studio_session(browser, backends: dict[str, str], tmp_path: Path, width: int = 1280,
                   height: int = 1000) -> Iterator[tuple[AppProcess, Any, list[str]]]:
    """One app instance on the shared backends and a Chromium page for it, with the page's JavaScript errors
    collected; both closed afterwards."""
    app = AppProcess(tmp_path, **backends).start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield app, page, errors
    finally:
        context.close()
        app.stop()


def sign_in(page, url: str, token: str) -> None:
    page.goto(f"{url}/studio/")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("items").get_by_role("button").first.wait_for()
    assert token not in page.url


def test_edit_try_publish_on_another_instance_and_roll_back(browser, two_apps, postgres_url: str) -> None:
    apps = two_apps
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tokens = tokens_on(postgres_url)
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, apps[0].url, tokens["editor"])
        page.get_by_test_id("yaml-mode").click()  # the advanced mode: the item's YAML as text
        page.get_by_test_id("search").fill("prompts")
        page.get_by_role("button", name="文件 · scripts/prompts.yaml").click()
        assert page.get_by_test_id("editor").input_value().startswith("# What the bot says.")
        page.get_by_test_id("search").fill("居住证")
        page.get_by_role("button", name="居住证申领 · GA0050000").click()
        editor = page.get_by_test_id("editor")
        text = editor.input_value()
        assert "      - 暂住证\n" in text
        editor.fill(text.replace("      - 暂住证\n", f"      - 暂住证\n      - {NEW_ALIAS}\n", 1))
        page.get_by_test_id("message").fill(f"居住证加别名「{NEW_ALIAS}」")
        page.get_by_test_id("save").click()
        page.get_by_text("检查通过，可以发布。").wait_for()

        page.get_by_test_id("utterance").fill(NEW_ALIAS)
        page.get_by_test_id("try").click()
        page.get_by_test_id("try-draft").get_by_text("居住证申领 [GA0050000]").wait_for()
        assert "没找到" in page.get_by_test_id("try-live").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "studio-try.png"), full_page=True)

        page.get_by_test_id("publish").click()  # the editor may not publish
        page.get_by_test_id("status").get_by_text("岗位").wait_for()

        publisher_page = context.new_page()
        sign_in(publisher_page, apps[0].url, tokens["publisher"])
        history = publisher_page.get_by_test_id("history")
        history.get_by_role("row").nth(1).get_by_role("button", name="发布").click()
        publisher_page.get_by_test_id("status").get_by_text("已发布").wait_for()
        assert wait_until(apps[1], True, "second-instance") < SWITCH_SECONDS

        history.get_by_role("row").nth(1).get_by_role("button", name="看改动").click()
        publisher_page.wait_for_function("line => document.getElementById('diff').textContent.includes(line)",
                                         arg=f"+      - {NEW_ALIAS}")
        diff = publisher_page.get_by_test_id("diff").inner_text().splitlines()
        assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
            f"+      - {NEW_ALIAS}"]  # the edit and nothing else of the file
        publisher_page.screenshot(path=str(SCREENSHOTS / "studio-history.png"), full_page=True)

        publisher_page.get_by_test_id("rollback").click()
        publisher_page.get_by_test_id("status").get_by_text("已回滚").wait_for()
        assert wait_until(apps[1], False, "second-instance-back") < SWITCH_SECONDS
        assert errors == []
    finally:
        context.close()
