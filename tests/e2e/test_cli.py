"""`python -m bot …` finds the repository's config.yaml, intents/ and var/ from any working directory."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bootstrap import ROOT, build_stores, load_settings
from bot.clock import utc_now
from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120)


def test_check_from_another_directory_reads_the_repository_intents(tmp_path):
    result = run_cli(tmp_path, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "90 items" in result.stdout  # intents/ of the repository, named relatively in config.yaml


async def test_add_staff_from_another_directory_uses_the_configured_database(tmp_path, monkeypatch):
    database = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli(elsewhere, "add-staff", "--name", "王五", "--role", "approver", "--department",
                     "德令哈市民政局", "--level", "city", ZWB_DATABASE_URL=database, ZWB_FIELD_KEY=TEST_FIELD_KEY,
                     ZWB_SEARCH_KEY=TEST_SEARCH_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    token = result.stdout.split("token (shown once): ")[1].strip()
    assert not (elsewhere / "var").exists()  # nothing written relative to the working directory
    monkeypatch.setenv("ZWB_DATABASE_URL", database)
    stores = build_stores(load_settings(), utc_now)
    try:
        staff = await stores.staff.by_token(token)
    finally:
        await stores.close()
    assert staff is not None and staff.name == "王五"


def test_relative_paths_of_the_config_are_the_repository_s(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.intents_dir == ROOT / "intents" and settings.blob_dir == ROOT / "var" / "blobs"
    assert settings.database_url == f"sqlite+aiosqlite:///{ROOT}/var/zhengwu.db"


async def test_make_chat_talks_to_the_server_of_zwb_host_and_zwb_port(client):
    """`make chat` reaches the server where ZWB_HOST and ZWB_PORT say `python app.py` listens (not always :8080)."""
    env = {**os.environ, "ZWB_HOST": client.server.host, "ZWB_PORT": str(client.server.port)}
    chat = await asyncio.create_subprocess_exec(
        "make", "-s", "-C", str(ROOT), "-o", ".venv/.installed", "chat", env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(chat.communicate("身份证过期了\n".encode()), timeout=60)
    shown = out.decode()
    assert chat.returncode == 0 and "连接服务失败" not in shown, shown
    assert "小助手" in shown and "居民身份证换领" in shown  # the greeting, then the answer to the typed line
