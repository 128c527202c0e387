"""Several app processes on one PostgreSQL + Redis, and what happens when a server or an app dies.

Servers that a test kills are private ones on free ports, never the machine's shared servers.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.apps import AppProcess
from tests.backends import create_database, own_redis, run_sync
from tests.chat import PNG
from tests.servers import PrivatePostgres, PrivateRedis, postgres_bin

VALID_ID = "11010519491231002X"
RENEWAL_FIELDS = ["张三", VALID_ID, "13800138000", "有效期满", "邮寄到家", "德令哈市河西街道长江路1号"]


class Citizen:
    """One user talking to whichever instance each message is sent to."""

    def __init__(self, http: aiohttp.ClientSession, user: str) -> None:
        self.http, self.user = http, user

    async def say(self, app: AppProcess, text: str) -> tuple[int, dict]:
        async with self.http.post(f"{app.url}/api/v1/chat/messages", json={"user": self.user, "text": text}) as r:
            return r.status, await r.json(content_type=None)

    async def upload(self, app: AppProcess) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("user", self.user)
        form.add_field("file", PNG, filename="card.png")
        async with self.http.post(f"{app.url}/api/v1/chat/messages", data=form) as r:
            return r.status, await r.json(content_type=None)

    async def cases(self, app: AppProcess) -> list[dict]:
        async with self.http.get(f"{app.url}/api/v1/cases", params={"user": self.user}) as r:
            return (await r.json())["cases"]


def fresh_connections() -> aiohttp.ClientSession:
    """No keep-alive: an instance that was killed and started again must not be reached on a dead socket."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


def last(body: dict) -> dict:
    return body["replies"][-1]


async def fill_to_confirmation(citizen: Citizen, apps: list[AppProcess]) -> None:
    """The whole renewal conversation, each message to the next instance in turn."""
    turn = iter(range(100))
    pick = lambda: apps[next(turn) % len(apps)]  # noqa: E731
    for text in ["身份证过期了咋办", "/apply", *RENEWAL_FIELDS, "/licence"]:
        status, body = await citizen.say(pick(), text)
        assert status == 200, body
    status, body = await citizen.upload(pick())
    assert status == 200 and last(body)["key"] == "id_photo", body
    status, body = await citizen.say(pick(), "/skip")
    assert "核对" in last(body)["title"], body


async def test_one_conversation_across_two_instances(two_apps: list[AppProcess]) -> None:
    async with fresh_connections() as http:
        citizen = Citizen(http, "roaming")
        await fill_to_confirmation(citizen, two_apps)
        status, body = await citizen.say(two_apps[1], "/submit")
        number = re.search(r"DLH\d{14}", str(body)).group(0)
        assert [c["number"] for c in await citizen.cases(two_apps[0])] == [number]


async def test_concurrent_messages_of_one_user_are_handled_one_after_the_other(two_apps: list[AppProcess]) -> None:
    async with fresh_connections() as http:
        citizen = Citizen(http, "impatient")
        await citizen.say(two_apps[0], "身份证过期了咋办")
        await citizen.say(two_apps[1], "/apply")
        # Two different names at once, to different instances: one is taken as the name, and the other
        # then arrives at the ID-number step and is refused there (no lost update, no interleaving).
        (s1, b1), (s2, b2) = await asyncio.gather(citizen.say(two_apps[0], "张三"), citizen.say(two_apps[1], "李四"))
        assert s1 == s2 == 200
        texts = [str(b1), str(b2)]
        assert sum("身份证号应为18位" in t for t in texts) == 1, texts
        status, body = await citizen.say(two_apps[0], "/back")
        assert last(body)["key"] == "applicant_name" and last(body)["current_value"] in ("张三", "李四")


async def test_many_users_in_parallel_and_double_submit_across_instances(two_apps: list[AppProcess]) -> None:
    async with fresh_connections() as http:
        citizens = [Citizen(http, f"parallel-{i}") for i in range(6)]
        await asyncio.gather(*(fill_to_confirmation(c, two_apps) for c in citizens))
        first = citizens[0]
        results = await asyncio.gather(first.say(two_apps[0], "/submit"), first.say(two_apps[1], "/submit"))
        numbers = {n for _, body in results for n in re.findall(r"DLH\d{14}", str(body))}
        assert len(numbers) == 1 and len(await first.cases(two_apps[1])) == 1
        others = await asyncio.gather(*(c.say(two_apps[i % 2], "/submit") for i, c in enumerate(citizens[1:])))
        assert all(re.search(r"DLH\d{14}", str(body)) for _, body in others)


async def test_restarting_the_app_between_steps_resumes(shared_backends: dict[str, str], tmp_path: Path) -> None:
    app = AppProcess(tmp_path, **shared_backends).start()
    async with fresh_connections() as http:
        citizen = Citizen(http, "restart")
        await citizen.say(app, "身份证过期了咋办")
        await citizen.say(app, "/apply")
        await citizen.say(app, "张三")
        app.kill()  # a crash, not a clean shutdown
        app.start()
        status, body = await citizen.say(app, "/hello")
        assert "接着办理" in str(body) and last(body)["key"] == "id_number"
        status, body = await citizen.say(app, VALID_ID)
        assert last(body)["key"] == "phone"
    app.stop()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    yield from own_redis("this fault test", persistent=True)


async def test_redis_killed_mid_conversation(private_redis: PrivateRedis, postgres_url: str, tmp_path: Path) -> None:
    app = AppProcess(tmp_path, database_url=postgres_url, redis_url=private_redis.url).start()
    async with fresh_connections() as http:
        citizen = Citizen(http, "redis-fault")
        for text in ["身份证过期了咋办", "/apply", "张三"]:
            await citizen.say(app, text)
        private_redis.stop()
        status, body = await citizen.say(app, VALID_ID)
        assert status == 503 and "稍后再发" in body["detail"]
        private_redis.start()
        status, body = await citizen.say(app, VALID_ID)  # the same message again
        assert status == 200 and last(body)["key"] == "phone", body
        for text in RENEWAL_FIELDS[2:] + ["/licence"]:
            await citizen.say(app, text)
        await citizen.upload(app)
        await citizen.say(app, "/skip")
        private_redis.stop()
        status, body = await citizen.say(app, "/submit")
        assert status == 503
        private_redis.start()
        status, body = await citizen.say(app, "/submit")
        assert status == 200 and re.search(r"DLH\d{14}", str(body))
        assert len(await citizen.cases(app)) == 1
    app.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if postgres_bin() is None:
        pytest.skip("fault test needs its own PostgreSQL: server binaries (initdb, pg_ctl) not found")
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


async def test_postgres_stopped_during_submit(private_postgres: PrivatePostgres, redis_server: str,
                                              redis_prefix: str, tmp_path: Path) -> None:
    database = run_sync(create_database(private_postgres.url))
    app = AppProcess(tmp_path, database_url=database, redis_url=redis_server, redis_prefix=redis_prefix).start()
    async with fresh_connections() as http:
        citizen = Citizen(http, "pg-fault")
        await fill_to_confirmation(citizen, [app])
        private_postgres.stop()
        status, body = await citizen.say(app, "/submit")
        assert status == 503 and body["detail"]
        private_postgres.start()
        status, body = await citizen.say(app, "/submit")
        assert status == 200 and re.search(r"DLH\d{14}", str(body)), body
        status, body = await citizen.say(app, "/submit")
        assert "已经提交" in str(body)
        assert len(await citizen.cases(app)) == 1
    app.stop()


@pytest.mark.slow
async def test_a_submit_retried_after_kill_9_of_its_instance_makes_one_case(two_apps: list[AppProcess]) -> None:
    """The submit goes to one instance, which is killed while it handles it (before, during or after the case's
    commit: the test does not know which); the client retries the same client message id on the other instance
    until it is answered (503 while the dead instance's lease runs out). Exactly one case, and the answer holds."""
    taker, other = two_apps
    async with fresh_connections() as http:
        citizen = Citizen(http, "kill9-idempotent")
        await fill_to_confirmation(citizen, two_apps)
        submit = {"user": citizen.user, "text": "/submit", "client_message_id": "f7c3a1e2-5b7d-4c1e-9f00-kill9retry01"}

        async def post(app: AppProcess) -> tuple[int, bytes]:
            async with http.post(f"{app.url}/api/v1/chat/messages", json=submit) as r:
                return r.status, await r.read()

        in_flight = asyncio.create_task(post(taker))
        await asyncio.sleep(0.05)
        taker.kill()
        try:
            await in_flight
        except aiohttp.ClientError:
            pass  # the client saw the connection die
        deadline = asyncio.get_running_loop().time() + 60
        while (answer := await post(other))[0] == 503 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        assert answer[0] == 200, answer
        assert len(cases := await citizen.cases(other)) == 1, cases
        assert cases[0]["number"] in answer[1].decode()
        assert await post(other) == answer  # every later retry gets the same answer
