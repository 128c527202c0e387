"""The real app as a separate process (`python app.py`), for tests that need several instances or restarts."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.servers import free_port

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 60
TEST_FIELD_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
TEST_SEARCH_KEY = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="


class AppProcess:
    """One app instance on a free port; `start`, `kill` (SIGKILL, like a crash) and `stop` (SIGTERM). `settings`
    become ZWB_* variables; `environment` adds other variables as they are."""

    def __init__(self, workdir: Path, port: int | None = None, environment: dict[str, str] | None = None,
                 **settings: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"app-{self.port}.log"
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", "ZWB_PORT": str(self.port),
                     "ZWB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/app.db",
                     "ZWB_BLOB_DIR": str(workdir / "blobs"), "ZWB_FIELD_KEY": TEST_FIELD_KEY,
                     "ZWB_SEARCH_KEY": TEST_SEARCH_KEY, "ZWB_LOG_LEVEL": "WARNING",
                     "ZWB_SEMANTIC_TIEBREAKER": "false",  # these tests are about processes, not matching
                     **{f"ZWB_{k.upper()}": v for k, v in settings.items()}, **(environment or {})}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "AppProcess":
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=self._env, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"/healthz did not answer within {STARTUP_TIMEOUT_S} s:\n{self.log_tail()}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        """The running app's process id."""
        assert self._process is not None, "not started"
        return self._process.pid

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
