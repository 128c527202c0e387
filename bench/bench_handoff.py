"""Live-channel latency of 转人工 chats: N concurrent citizen<->staff chats over two app instances on PostgreSQL
and Redis; citizens post to instance A and listen on its WebSocket, staff answer through instance B and listen on
its WebSocket. Measured each way, from the moment the message is posted to the moment the other side's socket
receives it; every chat checks that what arrived is exactly what was sent, in order (no loss, duplicate or
reordering). Baselines in the same run: a bare Redis PUBLISH -> subscriber round trip, and GET /healthz.

Two phases on the same chats:
- burst: every chat at once, as fast as the instances answer (`--rounds` messages each way per chat): a stress
  test of two saturated instances, not a console's day;
- paced: each side of every chat writes every 2-5 s with jitter for `--seconds` (what 200 concurrent chats of a
  政务 console are: people typing).

    python bench/bench_handoff.py [--chats 200] [--rounds 3] [--seconds 30] [--mode both|burst|paced]

Needs PostgreSQL and Redis (ZWB_TEST_POSTGRES_URL, ZWB_TEST_REDIS_URL; defaults 127.0.0.1)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.catalog.models import Level  # noqa: E402
from bot.clock import utc_now  # noqa: E402
from bot.lifecycle import Role  # noqa: E402
from storage.staff import SqlStaff  # noqa: E402
from tests.apps import AppProcess  # noqa: E402
from tests.backends import (SHARED_POSTGRES, SHARED_REDIS, asyncpg_dsn, create_database,  # noqa: E402
                            drop_database)

DEPARTMENTS = ["德令哈市公安局", "德令哈市民政局", "德令哈市人力资源和社会保障局", "德令哈市医疗保障局"]
PER_STAFF = 5
HTTP_CONNECTIONS = 50
PACE_S = (2.0, 5.0)  # paced mode: seconds between two messages of one side of a chat


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


class Traffic:
    """What one phase sent each way (text -> moment its POST started, per chat, in order) and how long the POSTs
    took; what arrived is read from the sockets afterwards, so a slow delivery never holds the next send back."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, dict[str, float]]] = {"up": defaultdict(dict), "down": defaultdict(dict)}
        self.posted: dict[str, list[float]] = {"up": [], "down": []}
        self.wall = 0.0

    async def send(self, way: str, user: str, text: str, post: Any) -> None:
        started = time.perf_counter()
        self.sent[way][user][text] = started
        await post()
        self.posted[way].append(time.perf_counter() - started)

    def report(self, mode: str, consoles: dict[str, Socket], pages: dict[str, Socket], transactions: int) -> bool:
        ok, latency = True, {"up": [], "down": []}  # type: ignore[var-annotated]
        for user in self.sent["up"].keys() | self.sent["down"].keys():
            arrived = {"up": [e for e in consoles[user].events if e.get("author") == "citizen"
                              and e.get("text") in self.sent["up"][user]],
                       "down": [e for e in pages[user].events if e.get("kind") == "message"
                                and e.get("text") in self.sent["down"][user]]}
            for way, events in arrived.items():
                texts = [e["text"] for e in events]
                if texts != list(self.sent[way][user]):
                    ok = False
                    print(f"MISMATCH {mode} {way} {user}: got {texts}, sent {list(self.sent[way][user])}")
                latency[way] += [e["_at"] - self.sent[way][user][e["text"]] for e in events]
        messages = len(latency["up"]) + len(latency["down"])
        print(f"[{mode}] citizen POST answered                         {percentiles(self.posted['up'])}")
        print(f"[{mode}] staff POST answered                           {percentiles(self.posted['down'])}")
        print(f"[{mode}] citizen -> staff (POST on A, socket on B)     {percentiles(latency['up'])}")
        print(f"[{mode}] staff -> citizen (POST on B, socket on A)     {percentiles(latency['down'])}")
        print(f"[{mode}] {messages} messages in {self.wall:.1f} s ({messages / self.wall:.0f}/s); "
              f"{transactions / max(1, messages):.2f} database transactions per message (background jobs "
              f"included); {'no message lost, duplicated or out of order' if ok else 'DELIVERY ERRORS (above)'}")
        return ok


async def transactions(database_url: str) -> int:
    """Transactions committed or rolled back in the bench's database so far (pg_stat_database)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(await conn.fetchval("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                       "WHERE datname = current_database()"))
    finally:
        await conn.close()


LAGS: list[float] = []  # the bench client's event-loop lag samples of the current phase


async def loop_lag(every: float = 0.05) -> None:
    """How late this process's event loop wakes up: the client's own share of the measured latencies."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(every)
        LAGS.append(time.perf_counter() - started - every)


def cpu_seconds(app: AppProcess) -> float:
    """User + system CPU time the instance has used so far (steadier than wall time on a shared machine)."""
    fields = Path(f"/proc/{app.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Owners = dict[str, tuple[int, str, int]]  # user -> (staff id, token, handoff id)


def citizen_post(http: aiohttp.ClientSession, app: AppProcess, user: str, text: str) -> Any:
    async def post() -> None:
        async with http.post(f"{app.url}/api/v1/chat/messages", json={"user": user, "text": text}) as r:
            assert r.status == 200, await r.text()
            await r.read()
    return post


def staff_post(http: aiohttp.ClientSession, app: AppProcess, token: str, handoff: int, text: str) -> Any:
    async def post() -> None:
        async with http.post(f"{app.url}/api/v1/staff/handoffs/{handoff}/messages", json={"text": text},
                             headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
    return post


async def burst(http: aiohttp.ClientSession, a: AppProcess, b: AppProcess, owner: Owners, rounds: int) -> Traffic:
    """Every chat at once, as fast as it can: a question, then (once the question is posted) its answer."""
    traffic = Traffic()

    async def converse(user: str) -> None:
        _, token, handoff = owner[user]
        for k in range(rounds):
            await traffic.send("up", user, f"{user} 问 {k}", citizen_post(http, a, user, f"{user} 问 {k}"))
            await traffic.send("down", user, f"{user} 答 {k}", staff_post(http, b, token, handoff, f"{user} 答 {k}"))

    started = time.perf_counter()
    await asyncio.gather(*(converse(u) for u in owner))
    traffic.wall = time.perf_counter() - started
    return traffic


async def paced(http: aiohttp.ClientSession, a: AppProcess, b: AppProcess, owner: Owners,
                seconds: float) -> Traffic:
    """Chats at a human rate: each side of each chat writes every 2-5 s (uniform jitter) for `seconds`."""
    traffic, rng = Traffic(), random.Random(14)

    async def side(way: str, user: str, post: Any) -> None:
        k, until = 0, time.perf_counter() + seconds
        while (pause := rng.uniform(*PACE_S)) < until - time.perf_counter():
            await asyncio.sleep(pause)
            text = f"{user} {'问' if way == 'up' else '答'} p{k}"
            await traffic.send(way, user, text, post(text))
            k += 1

    started = time.perf_counter()
    await asyncio.gather(*(side("up", u, partial(citizen_post, http, a, u)) for u in owner),
                         *(side("down", u, partial(staff_post, http, b, owner[u][1], owner[u][2])) for u in owner))
    traffic.wall = time.perf_counter() - started
    return traffic


async def run(chats: int, rounds: int, seconds: float, modes: list[str], database_url: str, redis_url: str,
              workdir: Path) -> bool:
    settings = {"database_url": database_url, "redis_url": redis_url, "redis_prefix": f"bench{uuid.uuid4().hex[:8]}",
                "blob_dir": str(workdir / "blobs"), "handoff__every_day": "true", "handoff__opens": "00:00",
                "handoff__closes": "23:59:59", "handoff__per_person_limit": str(PER_STAFF),
                "rate_limit__messages": "1000", "staff_rate_limit__messages": "1000"}
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
        # Requests go through HTTP_CONNECTIONS per instance (a load balancer's upstream pool): a slow instance does
        # not hold back the other's requests in the client, as one pool for both did. Sockets apart.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sockets, \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=HTTP_CONNECTIONS)) as http:
            await baselines(http, a, redis_url)
            consoles = {sid: await open_socket(sockets, f"{b.url}/api/v1/staff/live", {"token": token})
                        for people in staff.values() for sid, token in people}
            users = [(f"bench-{i}", DEPARTMENTS[i % len(DEPARTMENTS)]) for i in range(chats)]

            await asyncio.gather(*(citizen_post(http, a, u, f"/human {d}")() for u, d in users))
            pages = dict(zip([u for u, _ in users], await asyncio.gather(
                *(open_socket(sockets, f"{a.url}/api/v1/chat/live", {"user": u}) for u, _ in users))))
            owner: Owners = {}
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

            consoles_of = {user: consoles[sid] for user, (sid, _, _) in owner.items()}
            ok = True
            for mode in modes:
                before, cpu = await transactions(database_url), (cpu_seconds(a), cpu_seconds(b), time.process_time())
                lag = asyncio.create_task(loop_lag())
                if mode == "burst":
                    traffic = await burst(http, a, b, owner, rounds)
                else:
                    traffic = await paced(http, a, b, owner, seconds)
                lag.cancel()
                cpu = (cpu_seconds(a) - cpu[0], cpu_seconds(b) - cpu[1], time.process_time() - cpu[2])
                await asyncio.sleep(2)  # the statistics collector catches up
                count = await transactions(database_url) - before
                ok = traffic.report(mode, consoles_of, pages, count) and ok
                print(f"[{mode}] CPU time per message (background jobs included): instance A (citizens) "
                      f"{cpu[0] * 1000 / max(1, len(traffic.posted['up'])):.1f} ms, instance B (staff) "
                      f"{cpu[1] * 1000 / max(1, len(traffic.posted['down'])):.1f} ms")
                print(f"[{mode}] the bench client itself: {cpu[2]:.1f} s CPU in {traffic.wall:.1f} s; its event loop "
                      f"late by {percentiles(LAGS)} (included in every latency above)")
                LAGS.clear()
            print(f"load average after the run: {Path('/proc/loadavg').read_text().strip()}")
            for socket in [*consoles.values(), *pages.values()]:
                await socket.ws.close()
            return ok
    finally:
        a.stop()
        b.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="burst: messages each way per chat")
    parser.add_argument("--seconds", type=float, default=30, help="paced: how long the chats go on")
    parser.add_argument("--mode", choices=["both", "burst", "paced"], default="both")
    args = parser.parse_args()
    modes = ["burst", "paced"] if args.mode == "both" else [args.mode]
    print(f"load average before the run: {Path('/proc/loadavg').read_text().strip()}")
    database_url = await create_database(SHARED_POSTGRES)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            ok = await run(args.chats, args.rounds, args.seconds, modes, database_url, SHARED_REDIS, Path(workdir))
    finally:
        await drop_database(SHARED_POSTGRES, database_url)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
