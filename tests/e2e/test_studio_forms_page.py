"""The studio's form editor in Debian's Chromium: an editor adds an alias to 居住证申领 in the form, sees an error
appear beside it as they type an alias of another item (saving blocked), fixes it, saves the draft, and tries the
new alias on the draft (it matches) beside the live version (it does not); a prompt with an ASCII question mark is
flagged beside it. Layout and axe-core at 375 and 1280 px; screenshots go to $ZWB_SCREENSHOTS (copy them to
docs/screenshots/ when the README's pictures should change)."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.browser import require_chromium
from tests.e2e.h5 import audit
from tests.e2e.studio import NEW_ALIAS
from tests.e2e.test_studio_page import SCREENSHOTS, sign_in, studio_session, tokens_on

require_chromium()

OTHER_ITEMS_ALIAS = "换身份证"  # an alias of 居民身份证换领


def _no_sideways_scroll(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"{what}: the page scrolls sideways by {width} px"


def test_form_edit_checked_as_you_type_then_saved_and_tried(browser, shared_backends: dict[str, str],
                                                            postgres_url: str, tmp_path: Path) -> None:
    with studio_session(browser, shared_backends, tmp_path, 1280, 1000) as (app, page, errors):
        sign_in(page, app.url, tokens_on(postgres_url)["editor"])
        page.get_by_test_id("search").fill("居住证")
        page.get_by_role("button", name="居住证申领 · GA0050000").click()
        form = page.get_by_test_id("form")
        form.get_by_label("别名 3", exact=True).wait_for()
        assert form.get_by_label("别名 3", exact=True).input_value() == "暂住证"
        page.get_by_test_id("validity").get_by_text("检查通过").wait_for()

        form.get_by_role("button", name="添加别名").click()
        count = form.locator("[data-field^='aliases[']").count()
        new = form.get_by_label(f"别名 {count}", exact=True)
        new.press_sequentially(OTHER_ITEMS_ALIAS, delay=80)
        finding = form.locator(f"[data-finding='aliases[{count - 1}]']")
        finding.get_by_text("错误：和其他事项的别名或简称重复").wait_for()
        assert new.get_attribute("aria-invalid") == "true" and OTHER_ITEMS_ALIAS in finding.inner_text()
        assert page.get_by_test_id("save").is_disabled()
        assert "个错误" in page.get_by_test_id("validity").inner_text()
        finding.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "studio-form-error-1280.png"))

        new.fill("")
        new.press_sequentially(NEW_ALIAS, delay=80)
        page.get_by_test_id("validity").get_by_text("检查通过").wait_for()
        assert finding.inner_text() == "" and new.get_attribute("aria-invalid") is None
        page.get_by_test_id("message").fill(f"居住证加别名「{NEW_ALIAS}」")
        page.get_by_test_id("save").click()
        page.get_by_text("检查通过，可以发布。").wait_for()
        assert page.get_by_test_id("draft").inner_text() != "（还没有）"

        page.get_by_test_id("utterance").fill(NEW_ALIAS)
        page.get_by_test_id("try").click()
        page.get_by_test_id("try-draft").get_by_text("居住证申领 [GA0050000]").wait_for()
        assert "没找到" in page.get_by_test_id("try-live").inner_text()
        page.get_by_test_id("yaml-mode").click()
        assert f"      - {NEW_ALIAS}" in page.get_by_test_id("editor").input_value()
        page.get_by_test_id("form-mode").click()
        form.get_by_label("别名 1", exact=True).wait_for()
        _no_sideways_scroll(page, "1280")
        audit(page, "studio form 1280")
        page.locator("#edit-title").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "studio-form-1280.png"))

        page.set_viewport_size({"width": 375, "height": 812})
        new.fill("")  # the same mistake at phone width: the error shows beside the field
        new.press_sequentially(OTHER_ITEMS_ALIAS, delay=80)
        finding.get_by_text("错误：和其他事项的别名或简称重复").wait_for()
        _no_sideways_scroll(page, "375")
        audit(page, "studio form 375")
        page.evaluate("id => document.querySelector(`[data-finding='${id}']`).scrollIntoView({block: 'center'})",
                      f"aliases[{count - 1}]")
        page.screenshot(path=str(SCREENSHOTS / "studio-form-375.png"))

        page.get_by_test_id("search").fill("prompts")  # the prompts form: ASCII punctuation is flagged beside it
        page.get_by_role("button", name="文件 · scripts/prompts.yaml").click()
        clarify = form.get_by_label("clarify", exact=True)
        assert clarify.input_value() == "您想办的是下面哪一项？"
        clarify.fill("")
        clarify.press_sequentially("您想办哪一项?", delay=50)
        form.locator("[data-finding='prompts.clarify']").get_by_text("错误：标点不对").wait_for()
        assert page.get_by_test_id("save").is_disabled()
        assert errors == []
