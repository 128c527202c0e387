"""Debian's Chromium for the page tests (Playwright drives it; no browser is ever downloaded). A test module calls
`require_chromium()` at import: it is skipped, saying why, where playwright or /usr/bin/chromium is missing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> Any:
    """The playwright sync API; skips the calling module where it or Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium); "
                    "this test never downloads a browser", allow_module_level=True)
    return sync_api


def launched_chromium() -> Iterator[Any]:
    """Chromium for one test module (the `browser` fixture of tests/e2e/conftest.py)."""
    with require_chromium().sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
