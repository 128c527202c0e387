"""A content version's files on disk: written once and whole, never outside their folder, pruned when unused."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.studio.versions import materialise, prune, read_directory, version_id

FILES = {"catalog/a.yaml": "items: []\n", "scripts/prompts.yaml": "greeting: 您好\n"}


def test_a_version_is_written_once_and_reads_back_the_same(tmp_path: Path) -> None:
    folder = materialise(FILES, tmp_path)
    assert folder.name == version_id(FILES) and read_directory(folder) == FILES
    (folder / "catalog" / "a.yaml").write_text("changed", encoding="utf-8")
    assert materialise(dict(reversed(list(FILES.items()))), tmp_path) == folder  # same files, same folder
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no staging folder left behind


@pytest.mark.parametrize("path", ["../escape.yaml", "/etc/passwd", "catalog/../../x", ".git/config", ""])
def test_a_path_outside_the_version_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError):
        materialise({**FILES, path: "x"}, tmp_path / "cache")
    assert not (tmp_path / "escape.yaml").exists() and list((tmp_path / "cache").iterdir()) == []


def test_prune_removes_only_versions_unused_for_long(tmp_path: Path) -> None:
    old = materialise(FILES, tmp_path)
    recent = materialise({"catalog/a.yaml": "items: [一]\n"}, tmp_path)
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    os.utime(recent, (week_ago, week_ago))
    materialise({"catalog/a.yaml": "items: [一]\n"}, tmp_path)  # used again: kept
    assert prune(tmp_path, 7 * 86400) == 1
    assert [p.name for p in tmp_path.iterdir()] == [recent.name]
