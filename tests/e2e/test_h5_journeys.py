"""A citizen's journeys through the H5 page against the real app, in Debian's Chromium: an item applied for end to
end, a 一件事 bundle, a fee paid in the sandbox, a correction asked for by a clerk, and a rating.

Every screen of a journey (each answer of the bot, each tap that opens something) is checked as the screen tests
do: nothing wider than the phone, card values at least 8 characters wide, no JavaScript error, and no serious or
critical axe-core violation; it is saved as a screenshot to $ZWB_SCREENSHOTS. Each journey runs at 375 px, normal
and in 长辈模式; the item and the correction also at 320 and 414 px in both modes (marked slow). In 长辈模式 nothing
on the page moves by itself or waits on a timer.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

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
from tests.e2e.casework import NEWBORN, VALID_ID, completed_case, move, submitted_renewal
from tests.e2e.h5 import PageChat, audit, check_layout, joined, new_page, screenshot, waiting_for
from tests.waiting import eventually

require_chromium()

HEIGHT = 740
ADDRESS = "德令哈市河西街道长江路1号"
NETWORK_GUARD_MS = 30_000  # the page's only timer: a request given up after this long (then an error bubble)
# Every setTimeout / setInterval the page's own script (chat.js) sets, recorded before it runs (长辈模式: none but
# the network guard; the audit's axe-core sets timers of its own, left out).
TIMERS = """(() => {
  window.__timers = [];
  for (const name of ['setTimeout', 'setInterval']) {
    const original = window[name];
    window[name] = function (f, ms) {
      if ((new Error().stack || '').includes('chat.js')) window.__timers.push([name, ms || 0]);
      return original.apply(this, arguments);
    };
  }
})()"""
T = TypeVar("T")


# ------------------------------------------------------------------ the app, staff, and set-ups over HTTP

@dataclass(frozen=True)
class App:
    url: str
    tokens: dict[str, str]


async def _staff(database: Path) -> dict[str, str]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    directory = SqlStaff(engine, utc_now)
    tokens = {}
    for role in (Role.clerk, Role.approver):
        _, tokens[role.value] = await directory.add(f"journey-{role.value}", role, "德令哈市公安局", Level.township)
    await engine.dispose()
    return tokens


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a thread of its own (Playwright's sync API owns this thread's event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    workdir = tmp_path_factory.mktemp("h5journeys")
    process = AppProcess(workdir).start()
    try:
        yield App(process.url, _run(lambda: _staff(workdir / "app.db")))
    finally:
        process.stop()


def _over_http(app: App, user: str, work: Callable[[aiohttp.ClientSession, ApiChat], Awaitable[T]]) -> T:
    """Set a journey up as the citizen `user` (over the chat API) and staff (over the staff API)."""
    async def session() -> T:
        async with aiohttp.ClientSession(base_url=app.url) as client:
            return await work(client, ApiChat(client, user))  # type: ignore[arg-type]
    return _run(session)


async def _unread(client: aiohttp.ClientSession, user: str, words: str) -> None:
    """Wait until the app's dispatcher has put a progress message containing `words` in the citizen's inbox."""
    async def texts() -> list[str]:
        response = await client.get("/api/v1/messages", params={"user": user, "unread": "true"})
        assert response.status == 200, await response.text()
        return [m["text"] for m in (await response.json())["messages"]]
    # Polled under the citizen's read limit (30 reads in 10 s): the dispatcher delivers within seconds.
    await eventually(texts, lambda found: any(words in text for text in found), timeout=15, interval=0.5,
                     what=f"a message with {words}")


# ------------------------------------------------------------------ a journey through the page

class Journey:
    """The page as one citizen uses it: every answer is a screen, checked and photographed."""

    def __init__(self, page, name: str, elder: bool) -> None:
        self.page, self.name, self.elder = page, name, elder
        self.chat = PageChat(page)
        self.screens = 0

    def screen(self, what: str) -> None:
        self.screens += 1
        where = f"{self.name}, screen {self.screens} ({what})"
        check_layout(self.page, where)
        audit(self.page, where)
        if self.elder:
            moving = self.page.evaluate("document.getAnimations().map(a => a.animationName || a.constructor.name)")
            assert not moving, f"{where}: something moves by itself in 长辈模式: {moving}"
        screenshot(self.page, f"{self.name}-{self.screens:02d}")

    def open(self, app: App, user: str) -> str:
        self.page.goto(f"{app.url}/?user={user}")
        greeting = joined(self.chat.wait_greeting())
        self.screen("opened")
        return greeting

    def say(self, text: str) -> str:
        answer = joined(self.chat.say(text))
        self.screen(text)
        return answer

    def tap(self, label: str) -> str:
        answer = joined(self.chat.tap(self.chat.option(label)))
        self.screen(label)
        return answer

    def upload(self, path: Path) -> str:
        answer = joined(self.chat.upload(path))
        self.screen(f"upload {path.name}")
        return answer

    def last_card(self):
        return self.page.locator(".msg.card").last

    def finish(self) -> None:
        """长辈模式: the page set no timer but the network guard of each request (nothing disappears or moves on
        by itself)."""
        if self.elder:
            timers = self.page.evaluate("window.__timers")
            assert timers and all(kind == "setTimeout" and ms >= NETWORK_GUARD_MS for kind, ms in timers), timers


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "IMG_20261207_093015.png"
    path.write_bytes(PNG)
    return path


def item(journey: Journey, app: App, user: str, tmp_path: Path) -> None:
    """居民身份证换领: found in everyday words, two questions, every step, one photo, the card checked, submitted."""
    assert "办什么事" in journey.open(app, user)
    card = journey.say("身份证过期了咋办")
    assert "居民身份证换领" in card
    if journey.elder:  # the essentials first, the rest behind 「查看更多」
        assert "要带的材料" in card and "办理部门" not in card
        journey.page.get_by_test_id("more").last.click()
        assert "办理部门" in journey.last_card().inner_text()
        journey.screen("查看更多")
    assert "需要准备" in journey.tap("需要什么材料")
    assert "承诺" in journey.say("多久能办好")
    assert "姓名" in journey.tap("我要办理")
    for answer in ("张三", VALID_ID, "13800138000"):
        journey.say(answer)
    journey.tap("有效期满")
    journey.tap("邮寄到家")
    journey.say(ADDRESS)
    journey.tap("电子证照")
    assert "已收到" in journey.upload(_photo(tmp_path))
    assert "请核对" in journey.tap("跳过")
    address = journey.page.locator(".card-field", has_text="联系地址").last
    address.get_by_role("button", name="显示完整的联系地址").click()
    assert ADDRESS in address.inner_text()
    journey.screen("地址显示完整")
    assert "提交成功" in journey.tap("确认提交")
    journey.finish()


def bundle(journey: Journey, app: App, user: str, tmp_path: Path) -> None:
    """新生儿出生一件事: one form and one material set for five items; optional materials skipped, 电子证照 used
    where offered, the others uploaded; the item done at the clinic is named after submitting, with its place."""
    journey.open(app, user)
    assert "包含事项" in journey.say("新生儿出生一件事") or journey.elder
    journey.tap("我要办理")
    for _ in range(30):
        step = waiting_for(journey.page)
        labels = journey.chat.live_options().all_inner_texts()
        if "确认提交" in labels:
            break
        if step["field"]:
            value = NEWBORN[step["field"]]
            journey.tap(value) if step["input"] == "choice" else journey.say(value)
        elif licence := next((label for label in labels if "电子证照" in label), None):
            journey.tap(licence)
        elif "跳过" in labels:
            journey.tap("跳过")
        elif step["upload"]:
            journey.upload(_photo(tmp_path))
        else:
            pytest.fail(f"stuck in the bundle; enabled options {labels}; last bubble: {journey.chat.bot.last.inner_text()}")
    else:
        pytest.fail("no confirm card after 30 answers")
    submitted = journey.tap("确认提交")
    assert "提交成功" in submitted and "还有一项要到现场办：「预防接种证办理」" in submitted, submitted
    journey.finish()


def fee(journey: Journey, app: App, user: str, tmp_path: Path) -> None:
    """A case accepted with a fee due: the chat opens with one 「去缴费」, the sandbox pays, the receipt arrives."""
    async def accepted(client: aiohttp.ClientSession, citizen: ApiChat) -> str:
        number = await submitted_renewal(citizen)
        for to in ("pre_reviewed", "accepted"):
            assert (await move(client, app.tokens["clerk"], number, to=to))[0] == 200
        await _unread(client, user, "需缴费")
        return number

    number = _over_http(app, user, accepted)
    greeting = journey.open(app, user)
    assert greeting.count("20.00 元") == 1, f"the fee due is said once, with its button:\n{greeting}"
    assert "¥20.00" in journey.tap("去缴费")
    assert "支付成功" in joined(journey.chat.tap(journey.page.get_by_test_id("pay").last))
    journey.screen("支付成功")
    # The receipt reaches the open page over the live channel, without a reload (the page acknowledges it).
    journey.page.get_by_text(f"办件 {number} 已收到缴费 20.00 元").last.wait_for(timeout=15_000)
    journey.screen("到账通知")
    journey.finish()


def correction(journey: Journey, app: App, user: str, tmp_path: Path) -> None:
    """A clerk returns the case for a blurred photo; the citizen opens the chat, uploads a new one, submits."""
    async def returned(client: aiohttp.ClientSession, citizen: ApiChat) -> str:
        number = await submitted_renewal(citizen)
        status, body = await move(client, app.tokens["clerk"], number, to="returned", reason="材料不清晰",
                                  materials={"old_id_card": "照片模糊，请重新拍摄"})
        assert status == 200, body
        return number

    number = _over_http(app, user, returned)
    greeting = journey.open(app, user)
    assert "需要补正" in greeting and "照片模糊" in greeting
    assert "请核对" in journey.upload(_photo(tmp_path))
    answer = journey.tap("确认提交")
    assert "重新进入预审" in answer and number in answer
    journey.finish()


def rating(journey: Journey, app: App, user: str, tmp_path: Path) -> None:
    """A finished case: invited to rate, the citizen rates it badly and is answered once (not again as news)."""
    async def finished(client: aiohttp.ClientSession, citizen: ApiChat) -> str:
        number = await completed_case(client, citizen, app.tokens)
        await _unread(client, user, "回复「评价」")
        return number

    number = _over_http(app, user, finished)
    opened = journey.open(app, user)
    assert f"办件 {number} 已办完" in opened and f"办件 {number} 已收到缴费" in opened
    assert "需缴费" not in opened, f"a fee paid meanwhile is not asked for again:\n{opened}"
    assert "打分" in journey.say("评价")
    journey.tap("非常不满意")
    journey.tap("超时限")
    journey.tap("选好了")
    assert "回访" in journey.say("跑了三趟才办好")
    journey.page.reload()
    reopened = journey.chat.wait_greeting()
    assert not any("评价" in text for text in reopened), f"the bad rating was acknowledged again: {reopened}"
    journey.screen("再次打开")
    journey.finish()


JOURNEYS: dict[str, Callable[[Journey, App, str, Path], None]] = {
    "item": item, "bundle": bundle, "fee": fee, "correction": correction, "rating": rating}
MATRIX = ("item", "correction")  # also at 320 and 414 px
CASES = [pytest.param(name, 375, elder, id=f"{name}-375-{'elder' if elder else 'normal'}")
         for name in JOURNEYS for elder in (False, True)]
CASES += [pytest.param(name, width, elder, id=f"{name}-{width}-{'elder' if elder else 'normal'}",
                       marks=pytest.mark.slow)
          for name in MATRIX for width in (320, 414) for elder in (False, True)]


@pytest.mark.parametrize(("name", "width", "elder"), CASES)
def test_journey(app: App, browser, tmp_path: Path, name: str, width: int, elder: bool) -> None:
    page = new_page(browser, width, HEIGHT, elder)
    page.context.add_init_script(TIMERS)
    mode = "elder" if elder else "normal"
    journey = Journey(page, f"journey-{name}-{width}-{mode}", elder)
    try:
        JOURNEYS[name](journey, app, f"journey-{name}-{mode}-{width}-{os.getpid()}-{time.time_ns()}", tmp_path)
        assert page.evaluate("document.body.classList.contains('elder')") is elder
    finally:
        page.context.close()
