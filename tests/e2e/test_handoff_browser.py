"""转人工 in two browsers against two app instances on PostgreSQL + Redis: a citizen on the H5 page of instance A, a
clerk on the staff console (/staff/chats) of instance B. The citizen asks for a person in the middle of an
application, the clerk claims, three messages go each way and appear live on the other side, the chat is
transferred to a colleague and back, the clerk closes, the bot goes on at the citizen's step and the citizen rates
the human service. Screenshots of the console go to $ZWB_SCREENSHOTS (copy them to docs/screenshots/ when the
README's pictures should change)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from storage import tables
from storage.staff import SqlStaff
from tests.apps import AppProcess
from tests.backends import run_sync
from tests.e2e.browser import require_chromium
from tests.e2e.h5 import SHOTS

require_chromium()

TIMEOUT_MS = 20_000
VALID_ID = "11010519491231002X"


@pytest.fixture
def two_apps(postgres_url: str, redis_server: str, redis_prefix: str, tmp_path: Path) -> Iterator[list[AppProcess]]:
    shared = {"database_url": postgres_url, "redis_url": redis_server, "redis_prefix": redis_prefix,
              "blob_dir": str(tmp_path / "blobs"), "handoff__every_day": "true", "handoff__opens": "00:00",
              "handoff__closes": "23:59:59"}  # whenever the test runs, the desk is open
    apps = [AppProcess(tmp_path, **shared).start(), AppProcess(tmp_path, **shared).start()]
    yield apps
    for app in apps:
        app.stop()


async def _clerks(database_url: str) -> list[tuple[int, str]]:
    engine = create_async_engine(database_url)
    directory = SqlStaff(engine, utc_now)
    people = [await directory.add(name, Role.clerk, "德令哈市公安局", Level.township) for name in ("李警官", "王警官")]
    await engine.dispose()
    return [(person.id, token) for person, token in people]


async def _transfer(app: AppProcess, token: str, to_staff: int) -> dict:
    """The colleague hands the chat back (through the API, on the other instance)."""
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{app.url}/api/v1/staff/handoffs?status=active", headers=headers) as r:
            chat = (await r.json())["items"][0]
        async with http.post(f"{app.url}/api/v1/staff/handoffs/{chat['id']}/messages", headers=headers,
                             json={"text": "我是王警官，这个问题李警官更清楚。"}) as r:
            assert r.status == 201
        async with http.post(f"{app.url}/api/v1/staff/handoffs/{chat['id']}/transfer", headers=headers,
                             json={"staff": to_staff, "note": "请李警官继续"}) as r:
            return await r.json()


async def _human_rating(database_url: str) -> list[tuple[str, int, list[str]]]:
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.ratings.c.case_number, tables.ratings.c.level,
                                             tables.ratings.c.tags))).all()
    await engine.dispose()
    return [(r.case_number, r.level, r.tags) for r in rows]


def bot_said(page, text: str) -> None:
    page.get_by_test_id("msg-bot").filter(has_text=text).last.wait_for()


def asked_for(page, kind: str) -> None:
    """The page's text box expects this kind of answer (the form step the bot is at)."""
    page.wait_for_function("k => document.querySelector(`[data-input=\"${k}\"]`) !== null", arg=kind)


def citizen_says(page, text: str) -> None:
    page.get_by_test_id("input").fill(text)
    page.get_by_test_id("send").click()


def test_citizen_and_clerk_in_two_browsers_on_two_instances(two_apps: list[AppProcess], browser,
                                                              postgres_url: str) -> None:
    a, b = two_apps
    (li_id, token), (wang_id, wang_token) = run_sync(_clerks(postgres_url))
    clerk_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    citizen_ctx = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True,
                                      locale="zh-CN")
    try:
        clerk_ctx.set_default_timeout(TIMEOUT_MS)
        citizen_ctx.set_default_timeout(TIMEOUT_MS)
        console = clerk_ctx.new_page()
        console.goto(f"{b.url}/staff/chats")
        console.get_by_test_id("token").fill(token)
        console.get_by_role("button", name="登录").click()
        console.get_by_test_id("who").filter(has_text="李警官").wait_for()
        assert token not in console.url

        citizen = citizen_ctx.new_page()
        citizen.goto(f"{a.url}/?user=browser-citizen")
        bot_said(citizen, "")
        citizen_says(citizen, "身份证过期了咋办")
        citizen.get_by_test_id("option").filter(has_text="我要办理").last.click()
        asked_for(citizen, "name")
        citizen_says(citizen, "张三")
        asked_for(citizen, "id_number")
        citizen_says(citizen, "转人工")
        bot_said(citizen, "德令哈市公安局")

        waiting = console.get_by_test_id("waiting").locator("li")
        waiting.first.wait_for()  # arrived live, without reloading
        waiting.first.click()
        console.get_by_test_id("context").filter(has_text="居民身份证换领").wait_for()
        console.get_by_test_id("claim").click()
        bot_said(citizen, "李警官已接入")

        for n in range(3):
            citizen_says(citizen, f"请问照片有什么要求{n}？")
            console.get_by_test_id("messages").locator("li.citizen", has_text=f"照片有什么要求{n}").wait_for()
            console.get_by_test_id("reply-text").fill(f"白底证件照即可{n}。")
            console.get_by_test_id("reply-send").click()
            bot_said(citizen, f"白底证件照即可{n}。")
        SHOTS.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(SHOTS / "staff-chats-1280.png"))

        console.locator("summary", has_text="转办").click()
        console.locator("#transfer-staff").fill(str(wang_id))
        console.locator("#transfer-note").fill("请王警官看一下")
        console.get_by_test_id("transfer-send").click()
        bot_said(citizen, "已为您转接到王警官")
        back = run_sync(_transfer(a, wang_token, li_id))  # instance A, while the clerk's console is on B
        assert (back["owner_id"], back["transfers"]) == (li_id, 2)
        bot_said(citizen, "我是王警官")
        console.get_by_test_id("close-send").wait_for()  # the console shows the chat is the clerk's again

        console.get_by_test_id("close-summary").fill("已说明照片要求")
        console.get_by_test_id("close-send").click()
        bot_said(citizen, "本次人工服务已结束")
        bot_said(citizen, "请您为刚才的人工服务评价")
        citizen.get_by_test_id("option").filter(has_text="非常满意").last.click()
        bot_said(citizen, "感谢您的评价")
        asked_for(citizen, "id_number")  # the bot goes on at the step the citizen was in
        citizen_says(citizen, VALID_ID)
        asked_for(citizen, "phone")
        console.set_viewport_size({"width": 390, "height": 844})
        console.screenshot(path=str(SHOTS / "staff-chats-390.png"))
    finally:
        clerk_ctx.close()
        citizen_ctx.close()
    ratings = run_sync(_human_rating(postgres_url))
    assert [(n[:2], level, tags) for n, level, tags in ratings] == [("RG", 5, ["人工服务"])]
