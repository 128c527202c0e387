"""End-to-end test of the H5 chat page (handlers/static) against the real app, in Debian's Chromium.

Starts `python app.py` on a free port with a throw-away database and blob folder, then drives the page
in a phone-sized window the way a citizen would: ask, tap, type, upload.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
from tests.e2e.casework import move, submitted_renewal
from tests.e2e.h5 import PageChat as Chat
from tests.e2e.h5 import joined, new_page

require_chromium()

PHONE = {"width": 375, "height": 667}
SCREENSHOT = Path("/tmp/h5_final.png")

VALID_ID = "11010519491231002X"
# Answers by the form step's `input` kind (exposed by the page as data-input on the text box).
ANSWERS = {
    "name": "张三",
    "id_number": VALID_ID,
    "phone": "13912345678",
    "address": "德令哈市河西街道长江路1号",
    "date": "2020-01-01",
    "number": "10",
    "text": "因证件到期需要办理",
}


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("h5app")


@pytest.fixture(scope="module")
def app_url(app_dir: Path):
    """The real app as a subprocess, on a free port, with its own database and blob folder."""
    app = AppProcess(app_dir).start()
    try:
        yield app.url
    finally:
        app.stop()


@pytest.fixture
def page(browser):
    pg = new_page(browser, PHONE["width"], PHONE["height"], scale=2)
    try:
        yield pg
    finally:
        pg.context.close()


# ------------------------------------------------------------------ tests

def test_apply_and_upload_on_phone(app_url: str, page, tmp_path: Path) -> None:
    chat = Chat(page)
    page.goto(f"{app_url}/?user=e2e-h5-{os.getpid()}-{time.time_ns()}")

    # (1) greeting, then a question in everyday words
    greeting = chat.wait_greeting()
    assert any(t.strip() for t in greeting), "the greeting bubble is empty"
    answer = chat.say("身份证过期了咋办")
    assert "居民身份证换领" in joined(answer), f"expected 居民身份证换领 in the reply, got:\n{joined(answer)}"
    assert page.get_by_test_id("msg-user").last.inner_text() == "身份证过期了咋办"

    # (2) tap the option that starts the application; the first form step asks for the name
    button = chat.apply_button()
    label = button.inner_text()
    answer = chat.tap(button)
    assert page.get_by_test_id("msg-user").last.inner_text() == label
    assert "姓名" in joined(answer), f"expected a form step asking for 姓名, got:\n{joined(answer)}"

    # (3) name, an invalid 身份证号 (rejected), then a valid one
    answer = chat.say(ANSWERS["name"])
    assert "身份证" in joined(answer), f"expected the 身份证号 step, got:\n{joined(answer)}"
    assert chat.input.get_attribute("data-input") == "id_number"
    answer = chat.say("123")
    assert "身份证号" in joined(answer), f"expected an error about 身份证号, got:\n{joined(answer)}"
    assert chat.input.get_attribute("data-input") == "id_number", "an invalid 身份证号 must not advance the form"
    answer = chat.say(VALID_ID)
    assert chat.input.get_attribute("data-input") != "id_number" or page.get_by_test_id("upload").count(), \
        f"a valid 身份证号 should advance the form, got:\n{joined(answer)}"

    # (4) answer the remaining steps until a material step offers an upload
    upload_button = page.locator('[data-testid="upload"]:enabled')
    for _ in range(15):
        if upload_button.count():
            break
        kind = chat.input.get_attribute("data-input") or ""
        if kind in ANSWERS:
            chat.say(ANSWERS[kind])
        elif chat.live_options().count():
            chat.tap(chat.live_options().first)
        else:
            pytest.fail(f"stuck: no form step and no option; last bot bubbles:\n{joined(chat.bot.all_inner_texts()[-3:])}")
    else:
        pytest.fail("no material step appeared after 15 answers")
    assert upload_button.last.inner_text().strip() == "拍照或上传文件"

    png = tmp_path / "photo.png"
    png.write_bytes(PNG)
    answer = chat.upload(png)
    assert page.get_by_test_id("msg-user").last.inner_text().strip().endswith("photo.png")
    assert "已收到" in joined(answer), f"expected 已收到 after the upload, got:\n{joined(answer)}"

    # Phone layout: nothing wider than the screen, input bar at the bottom, thumb-sized buttons.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    send_box = page.get_by_test_id("send").bounding_box()
    assert send_box and send_box["height"] >= 40 and send_box["y"] + send_box["height"] <= PHONE["height"]
    assert page.get_by_test_id("file-input").is_hidden()
    assert not page.page_errors, f"JavaScript errors on the page: {page.page_errors}"
    page.screenshot(path=str(SCREENSHOT))


def test_user_id_is_generated_once_and_kept(app_url: str, page) -> None:
    chat = Chat(page)
    page.goto(f"{app_url}/")
    chat.wait_greeting()
    first = page.evaluate("localStorage.getItem('zwb_user')")
    assert first, "the page must keep a generated user id in localStorage['zwb_user']"
    page.reload()
    chat.wait_greeting()
    assert page.evaluate("localStorage.getItem('zwb_user')") == first
    assert not page.page_errors, f"JavaScript errors on the page: {page.page_errors}"


async def _accepted_case(url: str, database: Path, user: str) -> str:
    """A renewal submitted over HTTP and accepted by a clerk: its fee is due."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    _, token = await SqlStaff(engine, utc_now).add("h5-clerk", Role.clerk, "德令哈市公安局", Level.township)
    await engine.dispose()
    async with aiohttp.ClientSession(base_url=url) as session:
        number = await submitted_renewal(ApiChat(session, user))  # type: ignore[arg-type]
        for to in ("pre_reviewed", "accepted"):
            assert (await move(session, token, number, to=to))[0] == 200
    return number


def test_paying_a_fee_in_the_sandbox(app_url: str, app_dir: Path, page) -> None:
    user = f"e2e-pay-{os.getpid()}-{time.time_ns()}"
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        number = pool.submit(asyncio.run, _accepted_case(app_url, app_dir / "app.db", user)).result()
    chat = Chat(page)
    page.goto(f"{app_url}/?user={user}")
    assert "待缴费 20.00 元" in joined(chat.wait_greeting())
    answer = chat.say("缴费")
    assert "¥20.00" in joined(answer)
    answer = chat.tap(page.get_by_test_id("pay").last)
    assert "支付成功" in joined(answer)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the provider's notification arrives a moment later
        with urllib.request.urlopen(f"{app_url}/api/v1/cases/{number}?user={user}") as response:
            if json.load(response)["fee"]["state"] == "paid":
                break
        time.sleep(0.1)
    else:
        pytest.fail("the payment was never recorded")
    assert not page.page_errors, f"JavaScript errors on the page: {page.page_errors}"


def test_a_lost_answer_is_asked_again_with_the_same_message_id(app_url: str, page) -> None:
    """The server handled the name, but its answer never reached the phone: the page sends the message again with
    the same Idempotency-Key and shows the first answer (the next question), not the name taken as the ID number."""
    chat = Chat(page)
    page.goto(f"{app_url}/")
    chat.wait_greeting()
    chat.say("身份证过期了咋办")
    chat.tap(chat.apply_button())
    keys: list[str | None] = []

    def lose_the_first_answer(route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server runs the turn …
            route.abort("connectionreset")  # … and the connection drops before the answer arrives
        else:
            route.continue_()

    page.route("**/api/v1/chat/messages", lose_the_first_answer)
    answer = joined(chat.say("张三"))
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    assert "第 2/9 步" in answer and "18位号码" in answer and "网络" not in answer, answer
    assert not page.page_errors, f"JavaScript errors on the page: {page.page_errors}"
