"""Studio: a 实施清单 CSV imported into a draft (with the importer's row report and the checks; over 20 MB refused
with 413 although the app's body limit is 64 KB), and the 对比报告 of a draft that adds an alias: the utterance it
changes is listed with its old and new answer."""
from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from app import SERVICES, build_app
from bot.config import Settings
from bot.content import Content
from bot.studio.catalog_import import IMPORTED, MAX_IMPORT_BYTES
from storage import tables
from tests.clock import Clock
from tests.e2e.studio import BASE, CATALOG, NEW_ALIAS, bearer, studio_staff, with_alias

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "catalog_sample.csv"
UTTERANCES = "tests/utterances.yaml"


@pytest.fixture
async def studio(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, content: Content,
                 clock: Clock) -> TestClient:
    return await aiohttp_client(build_app(settings.model_copy(update={"semantic_tiebreaker": False}), content, clock))


class _Endless(io.RawIOBase):
    """A file of unknown size (sent without Content-Length): the cap is met while the server reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"y" * len(buffer)
        return len(buffer)


def _form(data: bytes | io.RawIOBase, filename: str, message: str = "导入德令哈民政实施清单") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("message", message)
    form.add_field("file", data, filename=filename, content_type="text/csv")
    return form


async def _actions(settings: Settings) -> list[str]:
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.audit_log.c.action).order_by(tables.audit_log.c.id))).all()
    await engine.dispose()
    return [r[0] for r in rows]


async def test_a_catalog_csv_becomes_a_draft_with_its_row_report(studio: TestClient, settings: Settings) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    editor = bearer(tokens["editor"])
    live = (await (await studio.get(f"{BASE}/versions", headers=editor)).json())["live"]

    response = await studio.post("/api/v1/studio/import", headers=editor,
                                 data=_form(SAMPLE.read_bytes(), "实施清单.csv"))
    body = await response.json()
    assert response.status == 201, body
    assert len(body["rows"]["accepted"]) == 4
    assert [r["row"] for r in body["rows"]["rejected"]] == [5, 7]
    assert "承诺时限不能超过法定时限" in body["rows"]["rejected"][0]["reason"]
    assert "部级" in body["rows"]["rejected"][1]["reason"]
    assert set(body["checks"]) >= {"passed", "errors", "warnings"}
    draft = body["version"]
    assert draft["parent"] == live and draft["message"] == "导入德令哈民政实施清单"
    files = (await (await studio.get(f"{BASE}/versions/{draft['id']}", headers=editor)).json())["files"]
    assert all(row["code"] in files[IMPORTED] for row in body["rows"]["accepted"])
    assert "studio_import" in await _actions(settings) and "studio_draft" in await _actions(settings)

    clerk = await studio.post("/api/v1/studio/import", headers=bearer(tokens["clerk"]),
                              data=_form(SAMPLE.read_bytes(), "实施清单.csv"))
    assert clerk.status == 403
    wrong = await studio.post("/api/v1/studio/import", headers=editor, data=_form(b"hello", "清单.txt"))
    problem = await wrong.json()
    assert wrong.status == 422 and "只支持 .csv 和 .xlsx" in problem["reason"] and "/tmp" not in problem["reason"]
    nothing = await studio.post("/api/v1/studio/import", headers=editor,
                                data=_form("事项名称\n只有名称\n".encode(), "空.csv"))
    assert nothing.status == 422 and (await nothing.json())["rows"]["rejected"][0]["row"] == 2


async def test_an_import_over_the_cap_is_refused_with_413(studio: TestClient) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    big = b"x" * (MAX_IMPORT_BYTES + 1)
    declared = await studio.post("/api/v1/studio/import", headers=bearer(tokens["editor"]), data=_form(big, "大.csv"))
    assert declared.status == 413 and "20 MB" in (await declared.json())["detail"]

    chunked = await studio.post("/api/v1/studio/import", headers=bearer(tokens["editor"]),
                                data=_form(_Endless(), "大.csv"), chunked=True)
    assert chunked.status == 413
    under = await studio.post("/api/v1/studio/import", headers=bearer(tokens["editor"]),
                              data=_form(SAMPLE.read_bytes() + b"\n" * 100_000, "实施清单.csv"))
    assert under.status == 201  # over the app's 64 KB body limit, under the import cap


async def test_the_report_lists_the_utterance_a_new_alias_answers(studio: TestClient) -> None:
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    editor = bearer(tokens["editor"])
    live = (await (await studio.get(f"{BASE}/versions", headers=editor)).json())["live"]
    files = (await (await studio.get(f"{BASE}/versions/{live}", headers=editor)).json())["files"]
    labelled = files[UTTERANCES].rstrip("\n") + f"\n  {NEW_ALIAS}: 居住证申领\n"
    made = await studio.post(f"{BASE}/versions", headers=editor, json={
        "base": live, "files": {CATALOG: with_alias(files[CATALOG]), UTTERANCES: labelled},
        "message": "居住证补一个别名，并加一句测试"})
    assert made.status == 201, await made.text()
    draft = (await made.json())["version"]["id"]

    response = await studio.get(f"{BASE}/versions/{draft}/report", headers=editor)
    report = await response.json()
    assert response.status == 200, report
    assert report["version"] == draft and report["against"] == live
    assert {"text": NEW_ALIAS, "before": "none", "after": "居住证申领"} in report["changed"]
    assert report["draft"]["rows"] == report["live"]["rows"] > 600
    assert report["draft"]["accuracy"] > report["live"]["accuracy"]
    item = next(i for i in report["items"] if i["item"] == "居住证申领")
    assert item["recall"] > item["live_recall"]
    assert report["chart"].startswith("<svg") and all("item" in c for c in report["items"])
    again = await studio.get(f"{BASE}/versions/{draft}/report", headers=editor)
    assert await again.json() == report
    assert (await studio.get(f"{BASE}/versions/{'0' * 64}/report", headers=editor)).status == 404
    assert (await studio.get(f"{BASE}/versions/{draft}/report", headers=bearer(tokens["clerk"]))).status == 403


async def test_the_sample_imported_over_the_live_seed_makes_a_draft_that_publishes(studio: TestClient) -> None:
    """Aliases of the sample that the seed already gives to other items are dropped (each said in the row report),
    so the publish checks pass and a publisher can make the draft live."""
    tokens = await studio_staff(studio.app[SERVICES].stores.staff)
    editor = bearer(tokens["editor"])
    response = await studio.post("/api/v1/studio/import", headers=editor,
                                 data=_form(SAMPLE.read_bytes(), "实施清单.csv"))
    body = await response.json()
    assert response.status == 201, body
    assert body["checks"]["errors"] == [] and body["checks"]["passed"]
    warnings = "\n".join(body["rows"]["warnings"])
    assert "「吃低保」也是现有事项「最低生活保障审核确认」的别名，已从本事项删去" in warnings
    assert "「二手房过户」也是现有事项「二手房转移登记及水电气联动过户一件事」的别名" in warnings
    draft = body["version"]["id"]
    files = (await (await studio.get(f"{BASE}/versions/{draft}", headers=editor)).json())["files"]
    assert "吃低保" not in files[IMPORTED] and "低保" in files[IMPORTED]

    published = await studio.post(f"{BASE}/publish", headers=bearer(tokens["publisher"]), json={"version": draft})
    assert published.status == 200, await published.text()
    assert (await (await studio.get(f"{BASE}/versions", headers=editor)).json())["live"] == draft
