"""Live-channel latency of 转人工 chats: N concurrent citizen<->staff chats over two app instances on PostgreSQL
and Redis; citizens post to instance A and listen on its WebSocket, staff answer through instance B and listen on
its WebSocket. Measured each way, from the moment the message is posted to the moment the other side's socket
receives it; every chat checks that what arrived is exactly what was sent, in order (no loss, duplicate or
reordering). Baselines in the same run: a bare Redis PUBLISH -> subscriber round trip, and GET /healthz.

    python bench/bench_handoff.py [--chats 200] [--rounds 3]

Needs PostgreSQL and Redis (ZWB_TEST_POSTGRES_URL, ZWB_TEST_REDIS_URL; defaults 127.0.0.1)."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.catalog.models import Level  # noqa: E402
from bot.clock import utc_now  # noqa: E402
from bot.lifecycle import Role  # noqa: E402
from storage.staff import SqlStaff  # noqa: E402
from tests.apps import AppProcess  # noqa: E402
from tests.backends import SHARED_POSTGRES, SHARED_REDIS, create_database, drop_database  # noqa: E402

DEPARTMENTS = ["德令哈市公安局", "德令哈市民政局", "德令哈市人力资源和社会保障局", "德令哈市医疗保障局"]
PER_STAFF = 5
HTTP_CONNECTIONS = 50


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def ms(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"n {len(ordered):5d}  p50 {ms(0.5):7.2f} ms  p99 {ms(0.99):7.2f} ms  max {ordered[-1] * 1000:7.2f} ms"


class Socket:
    """A live-channel WebSocket whose events are collected and awaited by a predicate."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws, self.events, self._waiters = ws, [], []  # type: ignore[var-annotated]
        self.ready = asyncio.get_running_loop().create_future()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            event = json.loads(frame.data)
            event["_at"] = time.perf_counter()
            if event["kind"] == "ready":
                self.ready.set_result(event)
                continue
            self.events.append(event)
            for check, future in list(self._waiters):
                if not future.done() and check(event):
                    future.set_result(event)

    async def wait(self, check: Any, timeout: float = 10) -> dict[str, Any]:
        found = next((e for e in self.events if check(e)), None)
        if found is not None:
            return found
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((check, future))
        return await asyncio.wait_for(future, timeout)


async def open_socket(http: aiohttp.ClientSession, url: str, hello: dict[str, str]) -> Socket:
    socket = Socket(await http.ws_connect(url))
    await socket.ws.send_json(hello)
    await asyncio.wait_for(socket.ready, 10)
    return socket


async def baselines(http: aiohttp.ClientSession, app: AppProcess, redis_url: str, n: int = 300) -> None:
    redis, channel = Redis.from_url(redis_url), f"bench:{uuid.uuid4().hex}"
    samples: list[float] = []
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=1)
        for i in range(n):
            started = time.perf_counter()
            await redis.publish(channel, str(i))
            while (await pubsub.get_message(timeout=1)) is None:
                pass
            samples.append(time.perf_counter() - started)
    await redis.aclose()
    print(f"baseline  Redis PUBLISH -> subscriber     {percentiles(samples)}")
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        async with http.get(f"{app.url}/healthz") as r:
            await r.read()
        samples.append(time.perf_counter() - started)
    print(f"baseline  GET /healthz (database ping)    {percentiles(samples)}")


async def run(chats: int, rounds: int, database_url: str, redis_url: str, workdir: Path) -> bool:
    settings = {"database_url": database_url, "redis_url": redis_url, "redis_prefix": f"bench{uuid.uuid4().hex[:8]}",
                "blob_dir": str(workdir / "blobs"), "handoff__every_day": "true", "handoff__opens": "00:00",
                "handoff__closes": "23:59:59", "handoff__per_person_limit": str(PER_STAFF),
                "rate_limit__messages": "1000"}
    a, b = AppProcess(workdir, **settings).start(), AppProcess(workdir, **settings).start()
    try:
        engine = create_async_engine(database_url)
        directory = SqlStaff(engine, utc_now)
        per_department = chats // len(DEPARTMENTS)
        staff: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for department in DEPARTMENTS:
            for n in range(-(-per_department // PER_STAFF)):
                person, token = await directory.add(f"{department[-3:]}{n}", Role.clerk, department, Level.city)
                staff[department].append((person.id, token))
        await engine.dispose()
        # Requests go through a pool of HTTP_CONNECTIONS per client (as behind a load balancer); sockets apart.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sockets, \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS)) as http:
            await baselines(http, a, redis_url)
            consoles = {sid: await open_socket(sockets, f"{b.url}/api/v1/staff/live", {"token": token})
                        for people in staff.values() for sid, token in people}
            users = [(f"bench-{i}", DEPARTMENTS[i % len(DEPARTMENTS)]) for i in range(chats)]

            async def say(user: str, text: str) -> None:
                async with http.post(f"{a.url}/api/v1/chat/messages", json={"user": user, "text": text}) as r:
                    assert r.status == 200, await r.text()
                    await r.read()

            await asyncio.gather(*(say(u, f"/human {d}") for u, d in users))
            pages = dict(zip([u for u, _ in users], await asyncio.gather(
                *(open_socket(sockets, f"{a.url}/api/v1/chat/live", {"user": u}) for u, _ in users))))
            owner: dict[str, tuple[int, str, int]] = {}  # user -> (staff id, token, handoff id)
            for department, people in staff.items():
                async with http.get(f"{b.url}/api/v1/staff/handoffs?status=waiting",
                                    headers={"Authorization": f"Bearer {people[0][1]}"}) as r:
                    waiting = (await r.json())["items"]
                assert len(waiting) == per_department, (department, len(waiting))
                for n, chat in enumerate(waiting):
                    sid, token = people[n // PER_STAFF]
                    async with http.post(f"{b.url}/api/v1/staff/handoffs/{chat['id']}/claim",
                                         headers={"Authorization": f"Bearer {token}"}) as r:
                        assert r.status == 200, await r.text()
                    owner[chat["user"]] = (sid, token, chat["id"])

            up: list[float] = []
            down: list[float] = []
            posted_up: list[float] = []
            posted_down: list[float] = []
            sent_up: dict[str, list[str]] = defaultdict(list)
            sent_down: dict[str, list[str]] = defaultdict(list)

            async def converse(user: str) -> None:
                sid, token, handoff = owner[user]
                console, page = consoles[sid], pages[user]
                for k in range(rounds):
                    text = f"{user} 问 {k}"
                    sent_up[user].append(text)
                    started = time.perf_counter()
                    await say(user, text)
                    posted_up.append(time.perf_counter() - started)
                    event = await console.wait(lambda e: e.get("handoff") == handoff and e.get("text") == text
                                               and e.get("author") == "citizen")
                    up.append(event["_at"] - started)
                    answer = f"{user} 答 {k}"
                    sent_down[user].append(answer)
                    started = time.perf_counter()
                    async with http.post(f"{b.url}/api/v1/staff/handoffs/{handoff}/messages", json={"text": answer},
                                         headers={"Authorization": f"Bearer {token}"}) as r:
                        assert r.status == 201, await r.text()
                    posted_down.append(time.perf_counter() - started)
                    event = await page.wait(lambda e: e.get("kind") == "message" and e.get("text") == answer)
                    down.append(event["_at"] - started)

            wall = time.perf_counter()
            await asyncio.gather(*(converse(u) for u, _ in users))
            wall = time.perf_counter() - wall
            ok = True
            for user, _ in users:
                sid, _, handoff = owner[user]
                got_up = [e["text"] for e in consoles[sid].events
                          if e.get("handoff") == handoff and e.get("author") == "citizen"]
                got_down = [e["text"] for e in pages[user].events if e.get("kind") == "message"
                            and "答" in e.get("text", "")]
                if got_up != sent_up[user] or got_down != sent_down[user]:
                    ok = False
                    print(f"MISMATCH {user}: up {got_up} vs {sent_up[user]}; down {got_down} vs {sent_down[user]}")
            print(f"citizen POST answered                               {percentiles(posted_up)}")
            print(f"staff POST answered                                 {percentiles(posted_down)}")
            print(f"citizen -> staff (POST chat, A -> Redis -> B socket)  {percentiles(up)}")
            print(f"staff -> citizen (POST staff, B -> Redis -> A socket)  {percentiles(down)}")
            print(f"{chats} chats x {rounds} rounds each way in {wall:.1f} s; "
                  f"{'no message lost, duplicated or out of order' if ok else 'DELIVERY ERRORS (above)'}")
            for socket in [*consoles.values(), *pages.values()]:
                await socket.ws.close()
            return ok
    finally:
        a.stop()
        b.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    database_url = await create_database(SHARED_POSTGRES)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            ok = await run(args.chats, args.rounds, database_url, SHARED_REDIS, Path(workdir))
    finally:
        await drop_database(SHARED_POSTGRES, database_url)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
