"""The backup and restore drill: a citizen's case, its uploads and progress messages on PostgreSQL + a blob folder,
backed up with `python -m bot backup`, restored with `python -m bot restore` into a fresh database and folder, and
all there when the app runs on the restored ones."""
from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bootstrap import build_stores, load_settings
from bot.clock import utc_now
from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY, AppProcess
from tests.backends import create_database, drop_database, run_sync
from tests.chat import PNG
from tests.e2e.test_cli import run_cli
from tests.e2e.test_instances import Citizen, fill_to_confirmation, fresh_connections
from tests.waiting import eventually

KEYS = {"ZWB_FIELD_KEY": TEST_FIELD_KEY, "ZWB_SEARCH_KEY": TEST_SEARCH_KEY}


@pytest.fixture
def restore_database(postgres_server: str) -> Iterator[str]:
    """A second fresh database, the target of the restore."""
    url = run_sync(create_database(postgres_server))
    yield url
    run_sync(drop_database(postgres_server, url))


async def citizen_view(app: AppProcess, http: aiohttp.ClientSession, user: str) -> tuple[list[dict], dict, list]:
    """The citizen's cases, the first case in full, and the progress messages, as the API gives them."""
    async with http.get(f"{app.url}/api/v1/cases", params={"user": user}) as r:
        cases = (await r.json())["cases"]
    async with http.get(f"{app.url}/api/v1/cases/{cases[0]['number']}", params={"user": user}) as r:
        case = await r.json()
    async with http.get(f"{app.url}/api/v1/messages", params={"user": user}) as r:
        messages = (await r.json())["messages"]
    return cases, case, messages


async def progress(app: AppProcess, http: aiohttp.ClientSession, token: str, number: str) -> None:
    for to in ("pre_reviewed", "accepted"):
        async with http.post(f"{app.url}/api/v1/staff/cases/{number}/transitions", json={"to": to},
                             headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200, await r.text()


async def stored_upload(monkeypatch: pytest.MonkeyPatch, database: str, blob_dir: Path, number: str) -> bytes | None:
    """The bytes of the case's uploaded photo, read through the app's own stores (no API serves them)."""
    monkeypatch.setenv("ZWB_DATABASE_URL", database)
    monkeypatch.setenv("ZWB_BLOB_DIR", str(blob_dir))
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    stores = build_stores(load_settings(), utc_now)
    try:
        case = await stores.cases.get(number)
        assert case is not None
        upload = next(m.entry for m in case.materials if m.entry and m.entry.kind == "upload")
        assert upload.blob_id is not None
        return await stores.blobs.get(upload.blob_id)
    finally:
        await stores.close()


async def test_backup_restored_into_a_fresh_database_and_folder_serves_the_same_case(
        postgres_url: str, restore_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = {"ZWB_DATABASE_URL": postgres_url, "ZWB_BLOB_DIR": str(tmp_path / "blobs"), **KEYS}
    app = AppProcess(tmp_path, database_url=postgres_url, blob_dir=source["ZWB_BLOB_DIR"]).start()
    staff = run_cli(tmp_path, "add-staff", "--name", "王五", "--role", "clerk", "--department", "德令哈市公安局",
                    "--level", "township", **source)
    token = staff.stdout.split("token (shown once): ")[1].strip()
    async with fresh_connections() as http:
        citizen = Citizen(http, "drill")
        await fill_to_confirmation(citizen, [app])
        status, body = await citizen.say(app, "/submit")
        number = re.search(r"DLH\d{14}", str(body)).group(0)
        await progress(app, http, token, number)
        before = await eventually(lambda: citizen_view(app, http, "drill"), lambda view: len(view[2]) == 2,
                                  timeout=20, what="two progress messages")
    app.stop()

    backup = tmp_path / "backup"
    made = run_cli(tmp_path, "backup", "--to", str(backup), **source)
    assert made.returncode == 0, made.stderr
    assert stat_mode(backup) == 0o700 and stat_mode(backup / "database.dump") == 0o600

    target = {**source, "ZWB_DATABASE_URL": restore_database, "ZWB_BLOB_DIR": str(tmp_path / "restored")}
    wrong_key = {**target, "ZWB_FIELD_KEY": base64.b64encode(b"k" * 32).decode()}
    refused = run_cli(tmp_path, "restore", "--from", str(backup), **wrong_key)
    assert refused.returncode == 1 and "ZWB_FIELD_KEY" in refused.stderr
    assert not (tmp_path / "restored").exists()  # nothing written before the key was checked

    restored = run_cli(tmp_path, "restore", "--from", str(backup), **target)
    assert restored.returncode == 0, restored.stderr
    again = run_cli(tmp_path, "restore", "--from", str(backup), **target)
    assert again.returncode == 1 and "not empty" in again.stderr  # never restored over data

    app = AppProcess(tmp_path, database_url=restore_database, blob_dir=target["ZWB_BLOB_DIR"]).start()
    try:
        async with fresh_connections() as http:
            after = await citizen_view(app, http, "drill")
    finally:
        app.stop()
    assert after == before and after[0][0]["number"] == number
    assert any(m["provided_as"] == "upload" for m in after[1]["materials"])
    assert await stored_upload(monkeypatch, restore_database, tmp_path / "restored", number) == PNG


def stat_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
