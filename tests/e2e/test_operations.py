"""Operations: /metrics counts what happened (by route pattern), /readyz tells when the app cannot serve, each
request has an id in its response header and in its log lines."""
from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest

from app import build_app
from tests.apps import AppProcess
from tests.backends import drop_database, run_sync
from tests.chat import Chat
from tests.e2e.casework import submitted_renewal
from tests.metrics import sample, scrape


async def test_metrics_move_with_chat_turns_by_route_pattern(client) -> None:
    before = await scrape(client)
    chat = Chat(client, "metrics-user")
    number = await submitted_renewal(chat)  # a match, form steps, an upload, a submit: 14 turns
    await chat.say("啊啊啊这是什么")  # no item matches
    assert (await client.get(f"/api/v1/cases/{number}", params={"user": chat.user})).status == 200
    assert (await client.get("/api/v1/cases/DLH000", params={"user": chat.user})).status == 404
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    chat_posts = moved("zwb_http_requests_total", route="/api/v1/chat/messages", method="POST", status="200")
    assert chat_posts >= 10
    assert moved("zwb_chat_turn_seconds_count") == chat_posts  # every turn timed
    assert moved("zwb_chat_turn_seconds_sum") > 0
    assert moved("zwb_matcher_decisions_total", decision="match") >= 1
    assert moved("zwb_matcher_decisions_total", decision="none") >= 1
    case_route = "/api/v1/cases/{number}"  # the pattern, not the number
    assert moved("zwb_http_requests_total", route=case_route, method="GET", status="200") == 1
    assert moved("zwb_http_requests_total", route=case_route, method="GET", status="404") == 1
    assert not any(number in str(labels) for _, labels in after)
    assert sample(after, "zwb_outbox_backlog") >= 0 and ("zwb_outbox_dead_letters", ()) in after


async def test_metrics_need_the_token_when_one_is_configured(aiohttp_client, settings, content, clock) -> None:
    client = await aiohttp_client(build_app(settings.model_copy(update={"metrics_token": "s3cret-token"}),
                                            content, clock))
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    await scrape(client, Authorization="Bearer s3cret-token")


async def test_request_ids_are_returned_and_kept_when_sane(client) -> None:
    given = await client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    assert given.headers["X-Request-Id"] == "lb-1234.abc"
    made = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces" + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", made.headers["X-Request-Id"])
    missing = await client.get("/no/such/page")
    assert missing.status == 404 and re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", missing.headers["X-Request-Id"])


async def test_readyz_is_ready_then_503_when_the_database_is_gone(aiohttp_client, settings, content, clock,
                                                                 postgres_server: str, postgres_url: str) -> None:
    client = await aiohttp_client(build_app(settings.model_copy(update={"database_url": postgres_url}),
                                            content, clock))
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"] == {"database": "ok", "content": "ok"}
    run_sync(drop_database(postgres_server, postgres_url))  # the database disappears under the running app
    gone = await client.get("/readyz")
    body = await gone.json()
    assert gone.status == 503 and gone.content_type == "application/problem+json"
    assert body["checks"] == {"database": "failed", "content": "ok"} and body["detail"]


@pytest.mark.slow
async def test_json_log_lines_carry_the_request_id_of_the_response(tmp_path: Path) -> None:
    app = AppProcess(tmp_path, log_format="json", log_level="INFO").start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{app.url}/api/v1/chat/messages", data=b"--x--",
                                 headers={"Content-Type": "multipart/form-data"}) as response:
                assert response.status == 400  # a multipart body without a boundary: logged in one line
                request_id = response.headers["X-Request-Id"]
    finally:
        app.stop()
    lines = [json.loads(line) for line in app.log_path.read_text(encoding="utf-8").splitlines()
             if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    mine = [line for line in lines if line["request_id"] == request_id]
    assert any("upload refused" in line["message"] for line in mine), mine
    assert any(line["logger"] == "aiohttp.access" for line in mine), mine  # the access log line too
