"""Public data for tests kept beside the repository (../shared/data, not part of it): its path, or a skip."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data from the repository root; a git worktree under <checkouts>/wt/<name> looks one level further up.
CANDIDATES = (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")


def shared_data(relative: str) -> Path:
    """The file under ../shared/data, or skip the test saying where it was looked for."""
    for base in CANDIDATES:
        if (base / relative).is_file():
            return base / relative
    reason = f"shared test data {relative} not found (looked in {', '.join(map(str, CANDIDATES))})"
    print(reason)
    pytest.skip(reason)
