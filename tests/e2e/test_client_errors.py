"""A client's mistakes are the client's: malformed uploads, ids beyond 64 bits and a client hanging up mid-upload
answer a 4xx problem detail in Chinese (or nothing, to a client that is gone), logged in one line, no traceback."""
from __future__ import annotations

import asyncio
import logging

import pytest

from tests.chat import PNG
from tests.e2e.casework import auth
from tests.waiting import eventually

CHAT = "/api/v1/chat/messages"


def our_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if not record.name.startswith("aiohttp")]


def assert_logged_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    ours = our_records(caplog)
    assert len(ours) <= 1 and all(record.exc_info is None for record in ours), [r.getMessage() for r in ours]


def part(headers: str, data: bytes) -> bytes:
    return b"--b0\r\n" + headers.encode() + b"\r\n\r\n" + data + b"\r\n"


UPLOADS = {
    "no boundary": ("multipart/form-data", part('Content-Disposition: form-data; name="file"', PNG) + b"--b0--\r\n"),
    "no disposition": ("multipart/form-data; boundary=b0", part("Content-Type: image/png", PNG) + b"--b0--\r\n"),
    "broken header": ("multipart/form-data; boundary=b0", part("Content-Disposition form-data name file", PNG)
                      + b"--b0--\r\n"),
    "no closing boundary": ("multipart/form-data; boundary=b0", b"--b0\r\nContent-Disposition: form-data; name="),
    "garbage": ("multipart/form-data; boundary=b0", b"\x00\xff" * 50),
}


@pytest.mark.parametrize("kind", list(UPLOADS))
async def test_a_malformed_upload_is_a_4xx_problem(client, caplog, kind: str) -> None:
    caplog.set_level(logging.INFO)
    content_type, body = UPLOADS[kind]
    response = await client.post(CHAT, params={"user": "u1"}, data=body, headers={"Content-Type": content_type})
    assert 400 <= response.status < 500
    problem = await response.json()
    assert response.content_type == "application/problem+json" and problem["status"] == response.status
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"])
    assert_logged_in_one_line(caplog)


async def test_a_filename_over_8_kb_is_refused(client, caplog) -> None:
    caplog.set_level(logging.INFO)
    name = "照" * 3000 + ".png"
    body = part('Content-Disposition: form-data; name="user"', b"u1") + part(
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: image/png', PNG) + b"--b0--\r\n"
    response = await client.post(CHAT, data=body, headers={"Content-Type": "multipart/form-data; boundary=b0"})
    assert response.status in (400, 422) and "文件名" in (await response.json())["detail"]
    assert_logged_in_one_line(caplog)


@pytest.mark.parametrize("ticket", ["99999999999999999999", "9223372036854775808", "١٢", "²"])
async def test_a_rectification_id_beyond_64_bits_is_not_found(client, tokens, caplog, ticket: str) -> None:
    response = await client.post(f"/api/v1/staff/rectifications/{ticket}/callback", json={"text": "已回访"},
                                 headers=auth(tokens["clerk"]))
    assert response.status == 404 and (await response.json())["detail"]
    assert_logged_in_one_line(caplog)


@pytest.mark.parametrize("after", ["99999999999999999999", "9223372036854775808", "١٢", "²", "-1"])
async def test_notifications_after_beyond_64_bits_is_a_422(client, tokens, caplog, after: str) -> None:
    response = await client.get("/api/v1/staff/notifications", params={"after": after},
                                headers=auth(tokens["supervisor"]))
    assert response.status == 422 and "after" in (await response.json())["detail"]
    largest = await client.get("/api/v1/staff/notifications", params={"after": str(2**63 - 1)},
                               headers=auth(tokens["supervisor"]))
    assert largest.status == 200 and (await largest.json())["notifications"] == []
    assert_logged_in_one_line(caplog)


async def test_a_client_hanging_up_mid_upload_leaves_one_line(client, caplog) -> None:
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = part('Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png', b"")
    writer.write(b"POST /api/v1/chat/messages?user=u1 HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: multipart/form-data; boundary=b0\r\nContent-Length: 100000\r\n\r\n"
                 + head[:-2] + PNG[:100])
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    async def logged() -> list[logging.LogRecord]:
        return our_records(caplog)

    await eventually(logged, what="a line about the upload cut short")
    assert_logged_in_one_line(caplog)


@pytest.mark.parametrize("text", ["/rectified ²² yes", "/rate_level ²", "/rectified 99999999999999999999 yes"])
async def test_commands_with_other_digits_are_just_not_understood(client, caplog, text: str) -> None:
    response = await client.post(CHAT, json={"user": "u2", "text": text})
    assert response.status == 200
    assert_logged_in_one_line(caplog)
