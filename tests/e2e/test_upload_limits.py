"""Uploads and connections a client holds on to, against the real server on a free port through raw sockets:
slow or idle connections are closed, a stalled upload is cut and leaves no temporary file, uploads over the
per-user, per-process or per-minute caps answer 429 at once, and a request that is not logged in is refused
before its body is read."""
from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from app import build_app, http_options
from bot.config import Settings
from handlers.upload_reader import CHUNK
from tests.chat import PNG

CHAT = "/api/v1/chat/messages"
FILE_PART = (b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
             + PNG[:60])
Serve = Callable[..., Awaitable[tuple[str, int, Settings]]]


@pytest.fixture
def serve(aiohttp_server, settings: Settings, content, clock) -> Serve:
    """The app served like `python app.py` serves it (same server options), with these upload and HTTP settings."""

    async def start(uploads: dict[str, Any] | None = None, **other: Any) -> tuple[str, int, Settings]:
        configured = settings.model_copy(update={
            "uploads": settings.uploads.model_copy(update=uploads or {}),
            "http": settings.http.model_copy(update={"keepalive_seconds": 60}), **other})
        server = await aiohttp_server(build_app(configured, content, clock), **http_options(configured))
        return server.host, server.port, configured

    return start


async def stalled_upload(host: str, port: int, query: str, length: int = 100_000,
                         body: bytes = FILE_PART) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An upload that sends its headers and the start of the file, then nothing more."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST {CHAT}{query} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b0\r\n"
                 f"Content-Length: {length}\r\n\r\n".encode() + body)
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader, within: float) -> int:
    line = await asyncio.wait_for(reader.readline(), within)
    return int(line.split()[1])


async def test_idle_and_slow_header_connections_are_closed(serve: Serve, settings: Settings) -> None:
    host, port, _ = await serve(http=settings.http.model_copy(update={"keepalive_seconds": 0.5}))
    idle_reader, idle_writer = await asyncio.open_connection(host, port)
    slow_reader, slow_writer = await asyncio.open_connection(host, port)
    started = time.monotonic()
    slow_writer.write(b"POST /api/v1/chat/messages HTTP/1.1\r\nHost: x\r\n")
    for n in range(40):  # a header line every 0.1 s, never the blank line that ends them
        if slow_reader.at_eof():
            break
        try:
            slow_writer.write(f"X-Slow-{n}: a\r\n".encode())
            await slow_writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.1)
    assert await asyncio.wait_for(slow_reader.read(), 1) == b""  # closed by the server, nothing answered
    assert await asyncio.wait_for(idle_reader.read(), 1) == b""
    assert time.monotonic() - started < 2.5
    for writer in (idle_writer, slow_writer):
        writer.close()


async def test_a_stalled_upload_is_cut_and_leaves_no_temporary_file(serve: Serve) -> None:
    host, port, configured = await serve({"idle_seconds": 0.5})
    incoming = configured.blob_dir / "incoming"
    started = time.monotonic()
    # more than one read of the file, then nothing: what came so far is on disk (a file that arrives whole in the
    # first read is kept in memory: one read at most per upload slot)
    reader, writer = await stalled_upload(host, port, "?user=u1", length=200_000, body=FILE_PART + bytes(100_000))
    await asyncio.sleep(0.2)
    [spooled] = list(incoming.iterdir())  # the file streams to disk, not memory, readable by the app alone
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600 and stat.S_IMODE(incoming.stat().st_mode) == 0o700
    assert spooled.stat().st_size >= CHUNK
    assert await status_of(reader, 3) == 408
    assert time.monotonic() - started < 2
    rest = await asyncio.wait_for(reader.read(), 3)
    assert "上传超时".encode() in rest  # and then the server closes the connection (after 2 s of lingering)
    assert list(incoming.iterdir()) == []
    writer.close()


async def test_uploads_over_the_per_user_and_per_process_caps_answer_429_at_once(serve: Serve) -> None:
    host, port, configured = await serve({"idle_seconds": 30, "per_user": 2, "per_process": 3})
    held = [await stalled_upload(host, port, "?user=u1") for _ in range(2)]
    async with aiohttp.ClientSession() as session:
        async def upload(user: str) -> aiohttp.ClientResponse:
            form = aiohttp.FormData()
            form.add_field("user", user)  # said in the body this time: read before the file
            form.add_field("file", PNG, filename="a.png")
            async with session.post(f"http://{host}:{port}{CHAT}", data=form) as response:
                await response.read()
                return response

        third = await asyncio.wait_for(upload("u1"), 2)
        assert third.status == 429 and third.headers["Retry-After"] == "5"
        held.append(await stalled_upload(host, port, "?user=u2"))
        await asyncio.sleep(0.1)
        other = await asyncio.wait_for(upload("u3"), 2)  # the process holds 3 already
        assert other.status == 429
        for reader, writer in held:
            writer.close()
        await asyncio.sleep(0.2)  # the server sees them go and gives the slots back
        assert (await asyncio.wait_for(upload("u1"), 5)).status == 200
    incoming = configured.blob_dir / "incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []  # no temporary file left behind


async def test_uploads_over_the_per_minute_rate_answer_429(serve: Serve) -> None:
    host, port, _ = await serve({"per_minute": 2})
    statuses, retry = [], ""
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            form = aiohttp.FormData()
            form.add_field("file", PNG, filename="a.png")
            async with session.post(f"http://{host}:{port}{CHAT}", params={"user": "u9"}, data=form) as response:
                statuses.append(response.status)
                retry = response.headers.get("Retry-After", "")
    assert statuses == [200, 200, 429] and 1 <= int(retry) <= 60


@pytest.mark.parametrize("authorization", ["", "Authorization: Bearer forged\r\n"])
async def test_an_upload_not_logged_in_is_refused_before_its_body(serve: Serve, authorization: str) -> None:
    host, port, _ = await serve(require_login=True, wechat_appid="wx0000000000000000", wechat_secret="s",
                                wechat_token="t")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b0\r\n"
                 f"Content-Length: 10000000000\r\n{authorization}\r\n".encode())  # 10 GB announced, none sent
    await writer.drain()
    started = time.monotonic()
    assert await status_of(reader, 2) == 401
    assert time.monotonic() - started < 1
    writer.close()
