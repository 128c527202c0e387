"""The H5 page on small phones and for everyone: layout at 320, 375 and 414 px, 长辈模式, keyboard use and an
axe-core audit, in Debian's Chromium.

The replies are the real app's: a citizen applies for a 居民身份证换领 over the chat API (up to the confirm card,
the 修改 list and the submitted card) and a clerk accepts the case so its fee is due. The page is then shown
each kind of reply as the chat API's answer, so every width sees the same replies. Screenshots are written to
$ZWB_SCREENSHOTS (default /tmp/h5_screens) for people to look at.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.models import Level
from bot.clock import utc_now
from bot.lifecycle import Role
from storage.staff import SqlStaff
from tests.apps import AppProcess
from tests.chat import PNG
from tests.chat import Chat as ApiChat
from tests.e2e.casework import VALID_ID, move

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = (320, 375, 414)
HEIGHT = 1000  # tall enough to show a whole confirm card in one screenshot
TIMEOUT_MS = 20_000
MIN_VALUE_CHARS = 8
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = Path(os.environ.get("ZWB_SCREENSHOTS", "/tmp/h5_screens"))
ADDRESS = "德令哈市河西街道长江路1号"
PHOTO_NAME = "IMG_20261207_093015.jpg"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium); "
                "this test never downloads a browser", allow_module_level=True)

Replies = list[dict[str, Any]]


# ------------------------------------------------------------------ the real app's replies

async def _renewal_until_confirm(chat: ApiChat) -> None:
    """A 居民身份证换领 filled in up to the confirm card, the photo uploaded under a camera's long file name."""
    await chat.say("身份证过期了咋办")
    await chat.tap("我要办理")
    for answer in ("张三", VALID_ID, "13800138000"):
        await chat.say(answer)
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say(ADDRESS)
    await chat.tap("电子证照")
    await chat.upload(PNG, filename=PHOTO_NAME)
    await chat.tap("跳过")


async def _collect(url: str, database: Path) -> dict[str, Replies]:
    """One answer of the real app for each kind of reply, as the page receives it."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    _, token = await SqlStaff(engine, utc_now).add("h5-screens", Role.clerk, "德令哈市公安局", Level.township)
    await engine.dispose()
    seen: dict[str, Replies] = {}
    async with aiohttp.ClientSession(base_url=url) as session:
        chat = ApiChat(session, f"h5-screens-{os.getpid()}-{time.time_ns()}")  # type: ignore[arg-type]
        seen["text"] = await chat.say("你好")
        await chat.say("身份证过期了咋办")
        seen["form_step"] = await chat.tap("我要办理")
        await chat.say("取消")
        await _renewal_until_confirm(chat)
        seen["card"] = chat.replies
        seen["choices"] = await chat.tap("修改")
        await chat.tap("联系地址")
        await chat.say(ADDRESS)
        seen["card_submitted"] = await chat.tap("确认提交")
        number = re.search(r"DLH\d{14}", chat.text())
        assert number, chat.text()
        for to in ("pre_reviewed", "accepted"):
            assert (await move(session, token, number.group(0), to=to))[0] == 200
        seen["payment"] = await chat.say("缴费")
        other = ApiChat(session, f"h5-screens-m-{os.getpid()}-{time.time_ns()}")  # type: ignore[arg-type]
        await other.say("身份证过期了咋办")
        await other.tap("我要办理")
        for answer in ("李四", VALID_ID, "13800138000"):
            await other.say(answer)
        await other.tap("有效期满")
        await other.tap("邮寄到家")
        seen["material_step"] = await other.say(ADDRESS)
    return seen


@pytest.fixture(scope="module")
def replies(tmp_path_factory: pytest.TempPathFactory):
    """The real app's replies by kind (the app is stopped once they are collected)."""
    workdir = tmp_path_factory.mktemp("h5screens")
    app = AppProcess(workdir).start()
    try:
        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
            yield {"url": app.url, **pool.submit(asyncio.run, _collect(app.url, workdir / "app.db")).result()}
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, url: str, answer: Replies, width: int, elder: bool = False):
    """The page at `width`, answering its greeting with `answer` (later messages: an empty answer)."""
    context = browser.new_context(viewport={"width": width, "height": HEIGHT}, device_scale_factor=1,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    if elder:
        context.add_init_script("localStorage.setItem('zwb_elder_mode', '1')")
    page = context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    answers = [answer]

    def fulfil(route) -> None:
        body = {"replies": answers.pop(0) if answers else [{"type": "text", "text": "好的。"}]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body, ensure_ascii=False))

    page.route("**/api/v1/chat/messages", fulfil)
    page.goto(f"{url}/?user=h5-screens")
    page.wait_for_function("document.querySelectorAll('[data-testid=\"msg-bot\"]').length > 0"
                           " && !document.body.classList.contains('busy')")
    return page


LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('.app *')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 0.5)
    .map(e => e.className || e.tagName);
  const values = [...document.querySelectorAll('.card-fields dd')].map(dd => {
    const size = parseFloat(getComputedStyle(dd).fontSize);
    return {text: dd.innerText, chars: dd.getBoundingClientRect().width / size};
  });
  return {scroll: document.documentElement.scrollWidth, width, wide, values};
}"""


def _check_layout(page, what: str) -> None:
    found = page.evaluate(LAYOUT)
    assert found["scroll"] <= found["width"], f"{what}: the page scrolls sideways ({found['scroll']} px)"
    assert not found["wide"], f"{what}: wider than the screen: {found['wide']}"
    narrow = [v for v in found["values"] if v["chars"] < MIN_VALUE_CHARS]
    assert not narrow, f"{what}: value column narrower than {MIN_VALUE_CHARS} characters: {narrow}"
    assert not page.page_errors, f"{what}: JavaScript errors: {page.page_errors}"


# ------------------------------------------------------------------ tests

KINDS = ("text", "choices", "card", "card_submitted", "form_step", "material_step", "payment")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_reply_fits_small_phones(replies, browser, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        answer = replies[kind]
        assert any(r["type"] == kind.split("_submitted")[0] for r in answer), f"no {kind} reply in {answer}"
        page = _open(browser, replies["url"], answer, width)
        try:
            _check_layout(page, f"{kind} at {width} px")
            page.screenshot(path=str(SHOTS / f"{kind}-{width}.png"), full_page=True)
        finally:
            page.context.close()
