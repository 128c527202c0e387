"""The staff console (/staff/) end to end in Debian's Chromium, against the real app (`python app.py`).

Citizens apply, are rated and answer over the chat API; a clerk and a supervisor then work in the console at phone
(375 px) and desktop (1280 px) widths: sign in, the queue, a case returned with a per-material reason (the citizen
sees the 补正 request in the chat), another accepted and its 容缺 material received, a ticket with its rating's tags and comment, the 督办 notice
of a reopened ticket, the statistics charts, an axe-core audit of every page. Screenshots go to $ZWB_SCREENSHOTS
(default /tmp/staff_console).
"""
from __future__ import annotations

import asyncio
import os
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
from tests.chat import Chat as ApiChat
from tests.e2e.browser import require_chromium
from tests.e2e.casework import auth, bad_rating, completed_case, submitted_renewal

require_chromium()

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = Path(os.environ.get("ZWB_SCREENSHOTS", "/tmp/staff_console"))
SERIOUS = ("serious", "critical")
RETURN_REASON = "照片模糊，请重新拍摄"
COMMENT = "材料清单没有一次说清，跑了三趟"


async def _seed(url: str, database: Path) -> dict[str, Any]:
    """Staff accounts; two submitted renewals; a completed one rated 非常不满意 whose ticket was closed and then
    answered "没有解决" (reopened, a notice for the supervisors)."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    directory = SqlStaff(engine, utc_now)
    tokens = {}
    for key, name, role in (("clerk", "李受理", Role.clerk), ("approver", "王审批", Role.approver),
                            ("supervisor", "赵督办", Role.supervisor)):
        _, tokens[key] = await directory.add(name, role, "德令哈市公安局", Level.township)
    await engine.dispose()
    async with aiohttp.ClientSession(base_url=url) as session:
        returned_chat = ApiChat(session, "console-a")  # type: ignore[arg-type]
        to_return = await submitted_renewal(returned_chat)
        to_accept = await submitted_renewal(ApiChat(session, "console-b"),  # type: ignore[arg-type]
                                            defer_old_card=True)
        rated = ApiChat(session, "console-c")  # type: ignore[arg-type]
        await completed_case(session, rated, tokens)
        await bad_rating(rated, "非常不满意", ("多次跑腿", "额外材料"), COMMENT)
        listed = await (await session.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
        ticket = listed["rectifications"][0]["id"]
        closed = await session.post(f"/api/v1/staff/rectifications/{ticket}/close", json={"text": "已张贴材料清单"},
                                    headers=auth(tokens["clerk"]))
        assert closed.status == 200
        await rated.say("没有解决")
        assert "重新打开" in rated.text(), rated.text()
    return {"tokens": tokens, "to_return": to_return, "to_accept": to_accept, "returned_user": "console-a"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("console")
    process = AppProcess(workdir).start()
    try:
        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
            seeded = pool.submit(asyncio.run, _seed(process.url, workdir / "app.db")).result()
        yield {"url": process.url, **seeded}
    finally:
        process.stop()


def _page(browser, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1,
                                  is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    # Console errors too, except the browser's own line for a 401 or 404 the page expects and answers politely.
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and page.page_errors.append(msg.text))  # type: ignore[attr-defined]
    return page


def _sign_in(page, url: str, token: str) -> None:
    page.goto(f"{url}/staff/")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("signin").click()
    page.get_by_test_id("who").wait_for()


def _audit(page, what: str) -> None:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the browser's devtools: the page's CSP refuses inline scripts
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
             for v in result["violations"] if v["impact"] in SERIOUS]
    assert not found, f"{what}: axe-core {result['testEngine']['version']}: {found}"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky nav at its place
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page is wider than the screen"


def _citizen_says(url: str, user: str, text: str) -> str:
    async def say() -> str:
        async with aiohttp.ClientSession(base_url=url) as session:
            chat = ApiChat(session, user)  # type: ignore[arg-type]
            await chat.say(text)
            return chat.text()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, say()).result()


def test_sign_in_then_return_one_case_and_accept_another_on_a_phone(app, browser) -> None:
    page = _page(browser, PHONE)
    try:
        page.goto(f"{app['url']}/staff/")
        page.get_by_test_id("token").fill("not-a-real-token")
        page.get_by_test_id("signin").click()
        page.get_by_test_id("signin-error").filter(has_text="令牌无效").wait_for()
        _audit(page, "sign-in")
        _shot(page, "staff-signin-375.png")

        _sign_in(page, app["url"], app["tokens"]["clerk"])
        assert page.get_by_test_id("who").inner_text().startswith("李受理 · 窗口受理 · 德令哈市公安局")
        assert app["tokens"]["clerk"] not in page.url and not page.context.cookies()
        rows = page.get_by_test_id("case-row")
        rows.first.wait_for()
        assert rows.filter(has_text=app["to_return"]).count() == 1
        assert rows.filter(has_text=app["to_accept"]).count() == 1
        page.get_by_test_id("filter-status").select_option("accepted")
        page.get_by_test_id("empty").wait_for()
        page.get_by_test_id("filter-status").select_option("submitted")
        rows.filter(has_text=app["to_return"]).wait_for()
        _fits(page, PHONE["width"])
        _audit(page, "queue")
        _shot(page, "staff-queue-375.png")

        # The case page: masked personal data, the uploaded photo, a return with a per-material reason.
        rows.filter(has_text=app["to_return"]).click()
        page.get_by_test_id("case-number").wait_for()
        fields = page.get_by_test_id("fields")
        assert "11010519491231002X" not in fields.inner_text() and "张*" in fields.inner_text()
        material = page.get_by_test_id("material").filter(has=page.locator("[data-testid^=view-]")).first
        material.locator("[data-testid^=view-]").click()
        preview = page.get_by_test_id("material-preview")
        preview.wait_for()
        assert preview.evaluate("img => img.complete && img.naturalWidth") == 1
        _fits(page, PHONE["width"])
        _audit(page, "case")
        _shot(page, "staff-case-375.png")
        page.get_by_test_id("reveal-reason").fill("核对身份证号与原件是否一致")
        page.get_by_test_id("reveal-form").get_by_role("button").click()
        fields.filter(has_text="11010519491231002X").wait_for()  # (no wait_for_function: the CSP forbids eval)
        assert page.get_by_test_id("move-pre_reviewed").is_visible() and page.get_by_test_id("move-returned").is_visible()
        assert page.get_by_test_id("move-completed").count() == 0  # a clerk never completes a case
        material.locator("[data-testid^=fix-]").first.check()
        material.locator("[data-testid^=fix-reason-]").fill(RETURN_REASON)
        page.get_by_test_id("move-returned").click()
        page.locator(".view-head .badge", has_text="退回补正").wait_for()
        told = _citizen_says(app["url"], app["returned_user"], "补正")
        assert RETURN_REASON in told, told

        # Another case: pre-review, then accept; its 容缺 material is handed in at the window.
        page.goto(f"{app['url']}/staff/#case/{app['to_accept']}")
        page.get_by_test_id("move-pre_reviewed").click()
        page.get_by_test_id("move-accepted").click()
        page.locator(".view-head .badge", has_text="已受理").wait_for()
        deferred = page.get_by_test_id("material").filter(has_text="容缺待补交")
        deferred.locator("[data-testid^=receive-]").click()
        page.get_by_test_id("material").filter(has_text="容缺已补交").wait_for()
        assert page.locator("[data-testid^=receive-]").count() == 0

        # Another department's case number or a made-up one: a polite 404 in the page, nothing breaks.
        page.goto(f"{app['url']}/staff/#case/DLH20990101000001")
        assert "没有找到" in page.get_by_test_id("error").inner_text()

        page.get_by_test_id("sign-out").click()
        page.get_by_test_id("signin-form").wait_for()
        assert page.evaluate("sessionStorage.length") == 0
        assert not page.page_errors, f"JavaScript errors: {page.page_errors}"
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_tickets_notices_and_statistics(app, browser, viewport: dict[str, int]) -> None:
    width = viewport["width"]
    page = _page(browser, viewport)
    try:
        _sign_in(page, app["url"], app["tokens"]["clerk"])
        page.get_by_test_id("nav-tickets").click()
        ticket = page.get_by_test_id("ticket").first
        ticket.wait_for()
        rating = ticket.get_by_test_id("ticket-rating").inner_text()
        assert "非常不满意" in rating and "多次跑腿" in rating and "额外材料" in rating and COMMENT in rating
        assert "没有解决" in ticket.get_by_test_id("citizen-answer").first.inner_text()
        assert ticket.get_by_role("button", name="办结整改").count() == 1  # reopened: the clerk can close it again
        _fits(page, width)
        _audit(page, "tickets")
        _shot(page, f"staff-tickets-{width}.png")

        ticket.get_by_test_id("ticket-case").click()  # the rated case, completed: its result is handed over
        page.get_by_test_id("delivery-method").select_option("window")
        page.get_by_test_id("delivery-form").get_by_role("button").click()
        page.get_by_test_id("toast").filter(has_text="已登记送达").wait_for()

        page.get_by_test_id("nav-cases").click()
        page.get_by_test_id("case-row").first.click()
        page.get_by_test_id("fields").wait_for()
        _fits(page, width)
        _shot(page, f"staff-case-opened-{width}.png")

        page.get_by_test_id("sign-out").click()
        _sign_in(page, app["url"], app["tokens"]["supervisor"])
        page.get_by_test_id("nav-notices").click()
        notice = page.get_by_test_id("notice").first
        notice.wait_for()
        assert "群众反馈未解决" in notice.inner_text()
        _audit(page, "notices")
        _shot(page, f"staff-notices-{width}.png")

        page.get_by_test_id("nav-stats").click()
        charts = page.get_by_test_id("chart")
        charts.first.wait_for()
        assert charts.count() == 2  # both drawn by Chart.js (created in the same task as the canvases)
        assert page.evaluate("() => [...document.querySelectorAll('canvas')].every(c => window.Chart.getChart(c))")
        assert page.get_by_test_id("kpi-online").inner_text().endswith("%")
        _fits(page, width)
        _audit(page, "statistics")
        _shot(page, f"staff-stats-{width}.png")
        assert not page.page_errors, f"JavaScript errors: {page.page_errors}"
    finally:
        page.context.close()
