"""The studio page in Debian's Chromium: an editor imports the sample 实施清单 CSV into a draft and reads the row
report (accepted items, rejected rows with their reasons), then opens the draft's 对比报告 with its chart."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.browser import require_chromium
from tests.e2e.test_studio_page import SCREENSHOTS, sign_in, studio_session, tokens_on

require_chromium()

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "catalog_sample.csv"


def test_import_a_catalog_and_read_the_report(browser, shared_backends: dict[str, str], postgres_url: str,
                                              tmp_path: Path) -> None:
    with studio_session(browser, shared_backends, tmp_path, 1280, 1000) as (app, page, errors):
        sign_in(page, app.url, tokens_on(postgres_url)["editor"])
        assert page.get_by_test_id("report").is_disabled()
        page.get_by_test_id("import-file").set_input_files(str(SAMPLE))
        page.get_by_test_id("import").click()
        rows = page.get_by_test_id("import-rows")
        rows.get_by_text("接受 4 条，拒绝 2 条").wait_for()
        assert "承诺时限不能超过法定时限" in rows.inner_text() and "部级" in rows.inner_text()
        page.get_by_test_id("status").get_by_text("已导入为草稿").wait_for()
        assert page.get_by_test_id("draft").inner_text() != "（还没有）"
        page.screenshot(path=str(SCREENSHOTS / "studio-import.png"), full_page=True)

        page.get_by_test_id("report").click()
        report = page.get_by_test_id("report-body")
        report.get_by_text("准确率").wait_for()
        assert "回答变了的说法" in report.inner_text()
        chart = report.get_by_role("img", name="混淆图")
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        page.screenshot(path=str(SCREENSHOTS / "studio-report.png"), full_page=True)
        assert errors == []
