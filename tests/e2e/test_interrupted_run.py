"""Ctrl-C during a test run prints pytest's one-line KeyboardInterrupt, not a traceback of the teardown."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.chat import ROOT
from tests.waiting import eventually

SLOW_TEST = """
import pathlib, time
import pytest

@pytest.fixture
def slow(tmp_path):
    pathlib.Path({started!r}).touch()
    time.sleep(60)

def test_waits(slow):
    pass
"""


async def interrupted_run(tmp_path: Path, *plugins: str) -> str:
    """The output of pytest running a test whose setup is interrupted by SIGINT, as Ctrl-C would."""
    started = tmp_path / "started"
    (tmp_path / "test_slow.py").write_text(SLOW_TEST.format(started=str(started)), encoding="utf-8")
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins,
        "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path / "test_slow.py"), cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    async def setting_up() -> bool:
        return started.exists()
    await eventually(setting_up, timeout=30, what="the slow fixture to start")
    run.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(run.communicate(), timeout=30)
    return out.decode()


@pytest.mark.parametrize("plugins, quiet", [((), False), (("-p", "tests.interrupts"), True)])
async def test_ctrl_c_ends_quietly(tmp_path: Path, plugins: tuple[str, ...], quiet: bool) -> None:
    shown = await interrupted_run(tmp_path, *plugins)
    assert "KeyboardInterrupt" in shown
    assert ("Traceback" not in shown) is quiet, shown  # without the hook: pytest's KeyError in tmp_path teardown
