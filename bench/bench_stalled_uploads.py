"""Memory and connections held by clients that stall: the app's RSS while 40 uploads have each sent 8 MB of a
10 MB file and then nothing more, and how many of 1,000 connections that never finish their headers are still
open after the keep-alive timeout. The baseline is the same app at an earlier commit (by default the one before
upload streaming), run from `git archive` in the same run with the same environment and the same load.

    python bench/bench_stalled_uploads.py [--baseline 7962987] [--uploads 40] [--slow 1000]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.apps import TEST_FIELD_KEY, TEST_SEARCH_KEY  # noqa: E402
from tests.servers import free_port  # noqa: E402

SENT = 8 * 1024 * 1024
KEEPALIVE = 5  # seconds (ZWB_HTTP__KEEPALIVE_SECONDS); the baseline has no such setting: run_app's 75 s


class App:
    """`python app.py` from a source tree, on a free port, with its own database and blob folder."""

    def __init__(self, source: Path, workdir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "ZWB_PORT": str(self.port), "ZWB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/b.db",
               "ZWB_BLOB_DIR": str(workdir / "blobs"), "ZWB_FIELD_KEY": TEST_FIELD_KEY,
               "ZWB_SEARCH_KEY": TEST_SEARCH_KEY, "ZWB_LOG_LEVEL": "WARNING", "ZWB_SEMANTIC_TIEBREAKER": "false",
               "ZWB_HTTP__KEEPALIVE_SECONDS": str(KEEPALIVE)}
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=source, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).read()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"app in {source} did not start")
                time.sleep(0.3)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


async def stalled_upload(port: int, user: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    part = (b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg'
            b"\r\n\r\n\xff\xd8\xff")
    writer.write(f"POST /api/v1/chat/messages?user={user} HTTP/1.1\r\nHost: x\r\n"
                 f"Content-Type: multipart/form-data; boundary=b0\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n"
                 .encode() + part)
    chunk = os.urandom(64 * 1024)
    for _ in range(SENT // len(chunk)):
        writer.write(chunk)
        try:
            await asyncio.wait_for(writer.drain(), 5)
        except (ConnectionError, asyncio.TimeoutError):  # refused (429) and no longer read: it stalls here
            break
    return reader, writer


async def slow_headers(port: int, count: int) -> int:
    """Open `count` connections that send part of their headers, wait past the keep-alive timeout; how many are
    still open."""
    opened = []
    for n in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /api/v1/chat/messages HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        opened.append((reader, writer))
    await asyncio.sleep(KEEPALIVE + 3)
    still_open = 0
    for reader, writer in opened:
        try:
            writer.write(b"a")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(1), 0.01)
            still_open += data != b""
        except asyncio.TimeoutError:
            still_open += 1  # nothing to read and not closed
        except ConnectionError:
            pass
        writer.close()
    return still_open


async def measure(app: App, uploads: int, slow: int) -> dict[str, float]:
    idle = app.rss_mb()
    held = await asyncio.gather(*(stalled_upload(app.port, f"bench{n}") for n in range(uploads)))
    await asyncio.sleep(1)
    stalled = app.rss_mb()
    for _, writer in held:
        writer.close()
    await asyncio.sleep(KEEPALIVE + 3)
    after = app.rss_mb()
    return {"idle": idle, "stalled": stalled, "after": after, "slow_open": await slow_headers(app.port, slow)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="7962987", help="git commit to compare with")
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--slow", type=int, default=1000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="zwb-stall-") as tmp:
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        subprocess.run(f"git archive {args.baseline} | tar -x -C {baseline}", shell=True, cwd=ROOT, check=True)
        (baseline / ".venv").symlink_to(ROOT / ".venv")
        for name, source in ((f"baseline {args.baseline}", baseline), ("this tree", ROOT)):
            workdir = Path(tmp) / f"run-{len(results)}"
            workdir.mkdir()
            app = App(source, workdir)
            try:
                results[name] = asyncio.run(measure(app, args.uploads, args.slow))
            finally:
                app.stop()
    print(f"{args.uploads} uploads stalled after {SENT >> 20} MB each; {args.slow} slow-header connections, "
          f"keep-alive timeout {KEEPALIVE} s")
    print(f"{'':20} {'RSS idle':>9} {'stalled':>9} {'after':>9} {'slow conns still open':>22}")
    for name, r in results.items():
        print(f"{name:20} {r['idle']:8.0f}M {r['stalled']:8.0f}M {r['after']:8.0f}M {r['slow_open']:22.0f}")


if __name__ == "__main__":
    main()
