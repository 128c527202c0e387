"""Public data for tests and benches kept beside the repository (../shared/data, not part of it): its path, or a
skip."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data from the repository root; a git worktree under <checkouts>/wt/<name> looks one level further up.
CANDIDATES = (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")


def locate(relative: str) -> Path | None:
    """The file under ../shared/data, or None (benches print that they skip it)."""
    return next((base / relative for base in CANDIDATES if (base / relative).is_file()), None)


def shared_data(relative: str) -> Path:
    """The file under ../shared/data, or skip the test saying where it was looked for."""
    if (found := locate(relative)) is not None:
        return found
    reason = f"shared test data {relative} not found (looked in {', '.join(map(str, CANDIDATES))})"
    print(reason)
    pytest.skip(reason)
