"""A request aiohttp's own parser refuses (a NUL byte in a header) answers 400 and leaves one log line, not the
traceback aiohttp writes at ERROR by itself."""
from __future__ import annotations

import socket
from pathlib import Path

from tests.apps import AppProcess


def test_a_header_with_a_nul_byte_is_a_400_and_one_log_line(tmp_path: Path) -> None:
    app = AppProcess(tmp_path).start()
    try:
        with socket.create_connection(("127.0.0.1", app.port), timeout=10) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n")
            answer = conn.recv(4096)
    finally:
        app.stop()
    assert answer.split(b" ", 2)[1] == b"400", answer
    log = app.log_path.read_text()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "bad request refused (400)" in line], log
