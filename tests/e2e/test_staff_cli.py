"""`python -m bot staff rotate|revoke|disable <id>` on the configured database: the old token stops working."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bootstrap import ROOT, build_stores, load_settings
from bot.clock import utc_now
from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY


def cli(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ZWB_DATABASE_URL": database, "ZWB_FIELD_KEY": TEST_FIELD_KEY, "ZWB_SEARCH_KEY": TEST_SEARCH_KEY,
           "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def token_of(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split("token (shown once): ")[1].split()[0]


async def works(database: str, token: str, monkeypatch) -> bool:
    monkeypatch.setenv("ZWB_DATABASE_URL", database)
    stores = build_stores(load_settings(), utc_now)
    try:
        return await stores.staff.by_token(token) is not None
    finally:
        await stores.close()


async def test_rotate_revoke_and_disable_from_the_command_line(tmp_path: Path, monkeypatch) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    first = token_of(cli(database, "add-staff", "--name", "王五", "--role", "clerk", "--department", "德令哈市公安局",
                         "--level", "township"))
    staff_id = "1"
    second = token_of(cli(database, "staff", "rotate", staff_id))
    assert not await works(database, first, monkeypatch) and await works(database, second, monkeypatch)
    assert cli(database, "staff", "revoke", staff_id).returncode == 0
    assert not await works(database, second, monkeypatch)
    third = token_of(cli(database, "staff", "rotate", staff_id))
    assert cli(database, "staff", "disable", staff_id).returncode == 0
    assert not await works(database, third, monkeypatch)
    refused = cli(database, "staff", "rotate", staff_id)
    assert refused.returncode == 1 and "no enabled staff account 1" in refused.stderr
