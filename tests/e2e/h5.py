"""What the page tests share: a phone-sized page in Chromium, a driver that talks through it as a citizen does, the
layout check (nothing wider than the screen, a card's value column at least 8 characters wide) and the axe-core
audit (vendored in tests/e2e/vendor). Screenshots go to $ZWB_SCREENSHOTS (default /tmp/h5_screens)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TIMEOUT_MS = 20_000
MIN_VALUE_CHARS = 8
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = Path(os.environ.get("ZWB_SCREENSHOTS", "/tmp/h5_screens"))
SERIOUS = ("serious", "critical")
ELDER_KEY = "zwb_elder_mode"  # the page's localStorage key of 长辈模式


def new_page(browser, width: int, height: int, elder: bool = False, scale: int = 1):
    """A phone-sized page (not yet opened) that records its JavaScript errors in `page.page_errors`."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    if elder:
        context.add_init_script(f"localStorage.setItem('{ELDER_KEY}', '1')")
    page = context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    return page


LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('.app *')]
    .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 0.5)
    .map(e => e.className || e.tagName);
  const values = [...document.querySelectorAll('.card-fields dd')].filter(dd => dd.getClientRects().length)
    .map(dd => {
      const size = parseFloat(getComputedStyle(dd).fontSize);
      return {text: dd.innerText, chars: dd.getBoundingClientRect().width / size};
    });
  return {scroll: document.documentElement.scrollWidth, width, wide, values};
}"""


def check_layout(page, what: str) -> None:
    """Fails on a page that scrolls sideways, an element wider than the screen, a card value column narrower
    than MIN_VALUE_CHARS characters, or a JavaScript error."""
    found = page.evaluate(LAYOUT)
    assert found["scroll"] <= found["width"], f"{what}: the page scrolls sideways ({found['scroll']} px)"
    assert not found["wide"], f"{what}: wider than the screen: {found['wide']}"
    narrow = [v for v in found["values"] if v["chars"] < MIN_VALUE_CHARS]
    assert not narrow, f"{what}: value column narrower than {MIN_VALUE_CHARS} characters: {narrow}"
    assert not page.page_errors, f"{what}: JavaScript errors: {page.page_errors}"


def audit(page, what: str) -> None:
    """axe-core over the whole page: fails on any serious or critical violation."""
    if not page.evaluate("typeof window.axe === 'object'"):  # evaluated by devtools: the page's CSP refuses inline
        page.evaluate(AXE.read_text(encoding="utf-8"))       # scripts (and must)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
             for v in result["violations"] if v["impact"] in SERIOUS]
    assert not found, f"{what}: axe-core {result['testEngine']['version']}: {found}"


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


class PageChat:
    """Drives the page and waits for the bot's answer (never sleeps)."""

    def __init__(self, page) -> None:
        self.page = page
        self.bot = page.get_by_test_id("msg-bot")
        self.input = page.get_by_test_id("input")

    def _wait_answer(self, before: int) -> list[str]:
        """Wait until more bot bubbles than `before` exist and the request has finished; return the new ones."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"msg-bot\"]').length > n"
            " && !document.body.classList.contains('busy')",
            arg=before, timeout=TIMEOUT_MS)
        return self.bot.all_inner_texts()[before:]

    def wait_greeting(self) -> list[str]:
        return self._wait_answer(0)

    def say(self, text: str) -> list[str]:
        before = self.bot.count()
        self.input.fill(text)
        self.page.get_by_test_id("send").click()
        return self._wait_answer(before)

    def tap(self, button) -> list[str]:
        before = self.bot.count()
        button.click()
        return self._wait_answer(before)

    def upload(self, path: Path) -> list[str]:
        before = self.bot.count()
        self.page.get_by_test_id("file-input").set_input_files(str(path))
        return self._wait_answer(before)

    def live_options(self):
        return self.page.locator('[data-testid="option"]:enabled')

    def option(self, label: str):
        """The enabled option with exactly this label (the newest if several)."""
        return self.live_options().filter(has_text=label).last

    def apply_button(self):
        """The enabled option whose label contains 办理 and that starts an application (not 办理地点 etc.)."""
        options = self.live_options()
        labels = options.all_inner_texts()
        found = [i for i, label in enumerate(labels) if "办理" in label]
        assert found, f"no option to start applying; enabled options: {labels}"
        starting = [i for i in found if not any(w in labels[i] for w in ("地点", "哪", "多久", "时限", "材料", "费"))]
        return options.nth((starting or found)[-1])


def joined(texts: list[str]) -> str:
    return "\n---\n".join(texts)


def waiting_for(page) -> dict[str, Any]:
    """What the page is waiting for: the text box's input kind and field, and whether an upload is offered."""
    return page.evaluate("""() => ({
      input: document.querySelector('[data-testid="input"]').getAttribute('data-input') || '',
      field: document.querySelector('[data-testid="input"]').getAttribute('data-field') || '',
      upload: !!document.querySelector('[data-testid="upload"]:enabled')})""")
