"""The chaos run: complete applications (match → form → upload → submit, acceptance by a clerk, payment of the
fee) over two app instances on a private PostgreSQL + Redis, while one instance is killed (SIGKILL) and started
again, Redis is restarted and PostgreSQL is stopped for a few seconds. Clients retry like a real client: the same
message again (with the same `client_message_id`) after an error, 503 or 429, on the other instance.

Afterwards every acknowledged case exists exactly once, every paid fee is paid once, and every outbox event of
those cases is there (delivered or pending). `ZWB_CHAOS_WORKERS` sets how many citizens run at once (default 6);
each keeps starting new applications until the faults are over. The counts are printed (`pytest -s`).
"""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.apps import REPO, TEST_FIELD_KEY, TEST_SEARCH_KEY, AppProcess
from tests.backends import asyncpg_dsn, create_database, run_sync
from tests.chat import PNG
from tests.e2e.test_cli import run_cli
from tests.e2e.test_instances import VALID_ID, private_postgres, private_redis  # noqa: F401 (fixtures)
from tests.servers import PrivatePostgres, PrivateRedis, _wait_port, free_port
from tests.waiting import eventually

pytestmark = pytest.mark.slow

WORKERS = int(os.environ.get("ZWB_CHAOS_WORKERS", "6"))
RETRY_FOR_S = 180  # a client gives up on one message after this long (the faults last seconds)
ANSWERS = {"applicant_name": "张三", "id_number": VALID_ID, "phone": "13800138000", "reason": "有效期满",
           "delivery": "邮寄到家", "address": "德令哈市河西街道长江路1号", "household_register": "/licence",
           "id_photo": "/skip"}
NUMBER = re.compile(r"DLH\d{14}")


@dataclass
class Tally:
    """What the clients saw: acknowledged cases and paid orders per user, and how often they had to retry."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # user -> case number
    paid: dict[str, str] = field(default_factory=dict)          # case number -> out_trade_no
    retries: Counter[str] = field(default_factory=Counter)


class RetryingClient:
    """Sends each request until it gets an answer that is not a server error or a 429, switching instance."""

    def __init__(self, http: aiohttp.ClientSession, apps: list[AppProcess], tally: Tally, first: int) -> None:
        self.http, self.apps, self.tally, self._turn = http, apps, tally, first

    async def send(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        deadline = asyncio.get_running_loop().time() + RETRY_FOR_S
        form = kwargs.pop("form", None)  # a multipart body is built afresh for each attempt
        while True:
            app = self.apps[self._turn % len(self.apps)]
            try:
                async with self.http.request(method, app.url + path, data=form() if form else None,
                                             **kwargs) as response:
                    body = await response.json(content_type=None)
                    if response.status < 500 and response.status != 429:
                        return response.status, body
                    self.tally.retries[str(response.status)] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                self.tally.retries[type(exc).__name__] += 1
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{method} {path} failed for {RETRY_FOR_S} s")
            self._turn += 1
            await asyncio.sleep(0.3)


async def say(client: RetryingClient, user: str, text: str | None) -> list[dict]:
    """One chat message (None: the photo upload) with one client message id however often it is retried."""
    message_id = uuid.uuid4().hex
    if text is None:
        def form() -> aiohttp.FormData:
            upload = aiohttp.FormData()
            upload.add_field("user", user)
            upload.add_field("client_message_id", message_id)
            upload.add_field("file", PNG, filename="card.png")
            return upload
        status, body = await client.send("POST", "/api/v1/chat/messages", form=form)
    else:
        status, body = await client.send("POST", "/api/v1/chat/messages",
                                         json={"user": user, "text": text, "client_message_id": message_id})
    assert status == 200, body
    return body["replies"]


def next_message(replies: list[dict]) -> str | None:
    """What a citizen sends in answer to the last reply (None: upload the photo)."""
    last = replies[-1]
    if last["type"] in ("form_step", "material_step"):
        return ANSWERS.get(last["key"])  # old_id_card: the upload
    if "核对" in last.get("title", ""):
        return "/submit"
    if any(a["value"] == "/apply" for a in last.get("actions", [])):
        return "/apply"
    return "身份证过期了咋办"


async def apply(client: RetryingClient, user: str) -> str:
    """A whole renewal, driven by what the bot asks; returns the acknowledged case number."""
    replies = await say(client, user, "身份证过期了咋办")
    for _ in range(40):
        text = next_message(replies)
        replies = await say(client, user, text)
        found = NUMBER.search(str(replies))
        if text == "/submit" and found:
            client.tally.acknowledged[user] = found.group(0)
            return found.group(0)
    raise AssertionError(f"{user} did not get to a case number: {replies}")


async def accept(client: RetryingClient, token: str, number: str) -> None:
    """A clerk pre-reviews and accepts (a 409 after a lost answer is fine once the case has that status)."""
    headers = {"Authorization": f"Bearer {token}"}
    for to in ("pre_reviewed", "accepted"):
        status, body = await client.send("POST", f"/api/v1/staff/cases/{number}/transitions", json={"to": to},
                                         headers=headers)
        if status == 409:
            status, body = await client.send("GET", f"/api/v1/staff/cases/{number}", headers=headers)
            assert body["status"] in (to, "accepted"), body
        else:
            assert status == 200, body


async def pay(client: RetryingClient, pay_sim: str, user: str, number: str) -> None:
    """The citizen asks to pay, and pays the order in WeChat (the simulator then notifies the app)."""
    replies = await say(client, user, "缴费")
    order = next(r for r in replies if r["type"] == "payment" and r["case_number"] == number)["out_trade_no"]
    async with client.http.post(f"{pay_sim}/sim/pay/{order}") as paid:
        assert paid.status == 200, await paid.text()

    async def fee() -> str:
        return (await client.send("GET", f"/api/v1/cases/{number}", params={"user": user}))[1]["fee"]["state"]

    await eventually(fee, lambda state: state == "paid", timeout=60, interval=0.5, what=f"{number} paid")
    client.tally.paid[number] = order


async def citizen(client: RetryingClient, token: str, pay_sim: str, worker: int, faults_over: asyncio.Event) -> int:
    done = 0
    while not faults_over.is_set() or done == 0:
        user = f"chaos-{worker}-{done}"
        number = await apply(client, user)
        await accept(client, token, number)
        await pay(client, pay_sim, user, number)
        done += 1
    return done


async def faults(apps: list[AppProcess], redis: PrivateRedis, postgres: PrivatePostgres, log: list[str]) -> None:
    """Kill an instance and start it again, restart Redis, stop PostgreSQL for a few seconds."""
    await asyncio.sleep(3)
    apps[0].kill()
    log.append("instance 0 killed (SIGKILL)")
    await asyncio.sleep(2)
    await asyncio.to_thread(apps[0].start)
    log.append("instance 0 started again")
    await asyncio.sleep(2)
    redis.stop()
    await asyncio.sleep(1)
    redis.start()
    log.append("Redis killed and restarted (AOF)")
    await asyncio.sleep(2)
    await asyncio.to_thread(postgres.stop)
    await asyncio.sleep(4)
    await asyncio.to_thread(postgres.start)
    log.append("PostgreSQL stopped for 4 s and started again")
    await asyncio.sleep(2)


@pytest.fixture
def pay_simulator(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], int]]:
    """WeChat Pay (sim.wechatpay) as a process of its own, notifying the second instance's port; its URL, the
    app settings it wrote, and that port. Every instance can create and query orders, unlike the in-process
    sandbox, whose ledger is per process."""
    port, notify_port, keys = free_port(), free_port(), tmp_path / "wechatpay"
    sim = subprocess.Popen([sys.executable, "-m", "sim.wechatpay", "--port", str(port), "--keys-dir", str(keys),
                            "--time-scale", "0.05", "--notify-url",
                            f"http://127.0.0.1:{notify_port}/api/v1/payments/wechat/notify"],
                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        settings = dict(line.split("=", 1) for line in (keys / "app.env").read_text().splitlines() if line)
        yield f"http://127.0.0.1:{port}", settings, notify_port
    finally:
        sim.terminate()
        sim.wait(timeout=10)


async def stored(database: str) -> dict[str, list[asyncpg.Record]]:
    conn = await asyncpg.connect(asyncpg_dsn(database))
    try:
        return {"cases": await conn.fetch("SELECT number, user_id, status FROM cases"),
                "payments": await conn.fetch("SELECT case_number, status FROM payments"),
                "outbox": await conn.fetch(
                    "SELECT o.case_number, o.event_type, o.dispatched_at IS NOT NULL AS dispatched, "
                    "EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = o.id AND d.dead) AS dead "
                    "FROM outbox o")}
    finally:
        await conn.close()


async def test_chaos_run(private_postgres: PrivatePostgres, private_redis: PrivateRedis,
                         pay_simulator: tuple[str, dict[str, str], int], tmp_path: Path) -> None:
    pay_sim, pay_settings, notify_port = pay_simulator
    database = run_sync(create_database(private_postgres.url))
    settings = {"database_url": database, "redis_url": private_redis.url, "blob_dir": str(tmp_path / "blobs"),
                **{name.removeprefix("ZWB_").lower(): value for name, value in pay_settings.items()}}
    apps = [AppProcess(tmp_path, **settings), AppProcess(tmp_path, port=notify_port, **settings)]
    for app in apps:
        app.start()
    env = {"ZWB_DATABASE_URL": database, "ZWB_FIELD_KEY": TEST_FIELD_KEY, "ZWB_SEARCH_KEY": TEST_SEARCH_KEY}
    staff = run_cli(tmp_path, "add-staff", "--name", "王五", "--role", "clerk", "--department", "德令哈市公安局",
                    "--level", "township", **env)
    token = staff.stdout.split("token (shown once): ")[1].strip()
    tally, log = Tally(), []
    faults_over = asyncio.Event()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                         timeout=aiohttp.ClientTimeout(total=20)) as http:
            clients = [RetryingClient(http, apps, tally, first=i) for i in range(WORKERS)]
            load = asyncio.gather(*(citizen(c, token, pay_sim, i, faults_over) for i, c in enumerate(clients)))
            await faults(apps, private_redis, private_postgres, log)
            faults_over.set()
            await load
            await asyncio.sleep(5)  # the dispatchers deliver what is due
    finally:
        for app in apps:
            app.stop()
    rows = await stored(database)

    cases_by_user = Counter(row["user_id"] for row in rows["cases"])
    stored_numbers = Counter(row["number"] for row in rows["cases"])
    paid = Counter(row["case_number"] for row in rows["payments"] if row["status"] == "paid")
    events = Counter((row["case_number"], row["event_type"]) for row in rows["outbox"])
    delivery = Counter("dead" if row["dead"] else "delivered" if row["dispatched"] else "pending"
                       for row in rows["outbox"])
    types = Counter(row["event_type"] for row in rows["outbox"])
    print(f"\nchaos run: {'; '.join(log)}")
    print(f"applications acknowledged {len(tally.acknowledged)}, cases stored {len(rows['cases'])}, "
          f"users with more than one case {sum(1 for n in cases_by_user.values() if n > 1)}")
    print(f"fees paid (client) {len(tally.paid)}, paid orders stored {sum(paid.values())}, "
          f"cases paid more than once {sum(1 for n in paid.values() if n > 1)}")
    print(f"outbox events {len(rows['outbox'])}: {dict(delivery)}; by type {dict(types)}")
    print(f"client retries by cause: {dict(tally.retries)}")

    assert all(stored_numbers[number] == 1 for number in tally.acknowledged.values())
    assert all(cases_by_user[user] == 1 for user in tally.acknowledged), cases_by_user
    assert all(paid[number] == 1 for number in tally.paid) and max(paid.values(), default=1) == 1, paid
    for number in tally.acknowledged.values():  # nothing vanished: submitted, two moves, the payment
        assert events[(number, "case.submitted")] == 1 and events[(number, "case.status_changed")] == 2, number
        assert events[(number, "payment.paid")] == (1 if number in tally.paid else 0), number
    assert delivery["dead"] == 0
