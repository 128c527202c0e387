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
from tests.e2e.browser import require_chromium
from tests.e2e.casework import VALID_ID, move
from tests.e2e.h5 import SHOTS, audit, check_layout, new_page

require_chromium()

WIDTHS = (320, 375, 414)
HEIGHT = 1000  # tall enough to show a whole confirm card in one screenshot
ADDRESS = "德令哈市河西街道长江路1号"
PHOTO_NAME = "IMG_20261207_093015.jpg"

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


def _open(browser, url: str, answer: Replies, width: int, elder: bool = False):
    """The page at `width`, answering its greeting with `answer` (later messages: an empty answer)."""
    page = new_page(browser, width, HEIGHT, elder)
    answers = [answer]

    def fulfil(route) -> None:
        body = {"replies": answers.pop(0) if answers else [{"type": "text", "text": "好的。"}]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body, ensure_ascii=False))

    page.route("**/api/v1/chat/messages", fulfil)
    page.goto(f"{url}/?user=h5-screens")
    page.wait_for_function("document.querySelectorAll('[data-testid=\"msg-bot\"]').length > 0"
                           " && !document.body.classList.contains('busy')")
    return page


# ------------------------------------------------------------------ tests

KINDS = ("text", "choices", "card", "card_submitted", "form_step", "material_step", "payment")


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_reply_fits_small_phones(replies, browser, width: int, elder: bool) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        answer = replies[kind]
        assert any(r["type"] == kind.removesuffix("_submitted") for r in answer), f"no {kind} reply in {answer}"
        page = _open(browser, replies["url"], answer, width, elder=elder)
        try:
            check_layout(page, f"{kind} at {width} px{' (长辈模式)' if elder else ''}")
            page.screenshot(path=str(SHOTS / f"{'elder-' if elder else ''}{kind}-{width}.png"))
        finally:
            page.context.close()


def _field(card: Replies, label: str) -> dict[str, Any]:
    return next(f for r in card if r["type"] == "card" for f in r["fields"] if f["label"] == label)


def test_the_citizen_sees_their_own_values_on_the_confirm_card(replies, browser) -> None:
    confirm, submitted = replies["card"], replies["card_submitted"]
    assert _field(confirm, "联系地址")["reveal"] == ADDRESS and ADDRESS not in _field(confirm, "联系地址")["value"]
    assert "reveal" not in _field(confirm, "身份证号"), "the 身份证号 stays partly masked"
    assert not [f for r in submitted for f in r.get("fields", []) if "reveal" in f], "only the confirm card reveals"

    page = _open(browser, replies["url"], confirm, 375)
    try:
        address = page.locator(".card-field", has_text="联系地址")
        assert ADDRESS not in address.inner_text()
        address.get_by_role("button", name="显示完整的联系地址").click()
        assert ADDRESS in address.inner_text()
        assert address.get_by_test_id("reveal").get_attribute("aria-pressed") == "true"
        check_layout(page, "revealed address at 375 px")
        address.get_by_role("button", name="隐藏联系地址").click()
        assert ADDRESS not in address.inner_text()
        assert page.locator(".card-field", has_text="身份证号").get_by_role("button").count() == 0
        assert VALID_ID not in page.locator("body").inner_text()
    finally:
        page.context.close()


def test_a_long_list_can_be_searched(replies, browser) -> None:
    page = _open(browser, replies["url"], replies["choices"], 375)
    try:
        options = page.locator('[data-testid="option"]:visible')
        assert options.count() >= 9
        page.get_by_role("searchbox", name="查找选项").fill("地址")
        assert options.all_inner_texts() == ["联系地址"]
        page.get_by_role("searchbox", name="查找选项").fill("护照")
        assert options.count() == 0 and page.get_by_text("没有找到").is_visible()
    finally:
        page.context.close()


def test_elder_mode_is_larger_and_remembered(replies, browser) -> None:
    page = _open(browser, replies["url"], replies["card"], 375)
    try:
        toggle = page.get_by_role("button", name="长辈模式")
        assert toggle.get_attribute("aria-pressed") == "false"
        normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        toggle.click()
        sizes = page.evaluate("""() => ({
          body: parseFloat(getComputedStyle(document.body).fontSize),
          value: parseFloat(getComputedStyle(document.querySelector('.card-fields dd')).fontSize),
          button: Math.min(...[...document.querySelectorAll('.option')].map(b => b.getBoundingClientRect().height)),
          animated: getComputedStyle(document.body).animationName})""")
        assert sizes["body"] >= 18 > normal and sizes["value"] >= 18 and sizes["button"] >= 48, sizes
        check_layout(page, "长辈模式 at 375 px")
        page.screenshot(path=str(SHOTS / "elder-toggled-card-375.png"))
        page.reload()
        page.wait_for_function("document.querySelectorAll('[data-testid=\"msg-bot\"]').length > 0")
        assert page.evaluate("document.body.classList.contains('elder')"), "长辈模式 is remembered on this phone"
        assert page.get_by_role("button", name="长辈模式").get_attribute("aria-pressed") == "true"
    finally:
        page.context.close()


FOCUS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {text: (e.getAttribute('aria-label') || e.innerText || '').trim(), tag: e.tagName,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2};
}"""


def test_keyboard_alone_is_enough(replies, browser) -> None:
    page = _open(browser, replies["url"], replies["choices"], 375)
    try:
        order = []
        for _ in range(8):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUS)
            assert focused["outline"], f"focus is not visible on {focused}"
            order.append(focused["text"])
            if focused["text"] == "身份证号":
                break
        assert order[0].startswith("长辈模式") and "查找选项" in order and order[-1] == "身份证号", order
        page.keyboard.press("Enter")
        page.wait_for_function("[...document.querySelectorAll('[data-testid=\"msg-user\"]')]"
                               ".some(e => e.innerText === '身份证号')")
        page.keyboard.press("Shift+Tab")
        page.locator("#elder-toggle").focus()
        page.keyboard.press("Space")
        assert page.evaluate("document.body.classList.contains('elder')")
    finally:
        page.context.close()


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
def test_no_serious_accessibility_violations(replies, browser, elder: bool) -> None:
    everything = [r for kind in ("text", "form_step", "material_step", "payment", "card_submitted", "choices", "card")
                  for r in replies[kind]]
    page = _open(browser, replies["url"], everything, 375, elder=elder)
    try:
        assert page.evaluate("document.body.classList.contains('elder')") is elder
        audit(page, f"every reply at 375 px{' (长辈模式)' if elder else ''}")
    finally:
        page.context.close()
