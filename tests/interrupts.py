"""A pytest hook (registered by tests/conftest.py): Ctrl-C ends a test run quietly."""
from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    """The fixtures of the interrupted test are torn down at the end of the session, and some fail for having never
    finished setting up (pytest's own tmp_path raises KeyError: a 60-line traceback under the one-line
    KeyboardInterrupt). After an interrupt those errors say nothing; any other run reports them as usual."""
    try:
        yield
    except Exception:
        if exitstatus != pytest.ExitCode.INTERRUPTED:
            raise
