"""The Redis session store on a Redis Cluster of three primaries started for these tests (`redis_client:
cluster`): every script's keys in one slot, state, lock fencing and the rate limit as on one node."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import RedisCluster

from bot.dialogue.state import Conversation, Stage
from bot.ports import SessionUnavailable, TooManyMessages
from storage.cipher import FieldCipher
from storage.rate_limits import RateLimit
from storage.redis_clients import RedisClients, connect_redis
from storage.redis_pipe import PipelinedRedis
from storage.redis_sessions import LockSettings, RedisSessionStore, SessionKeys
from tests.apps import AppProcess
from tests.servers import PrivateRedisCluster

CIPHER = FieldCipher(os.urandom(32))
USERS = [f"o{i:03d}-wx-openid" for i in range(24)] + ["含中文的用户", "a}b", "{x}y", "a:b{c"]


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[PrivateRedisCluster]:
    try:
        cluster = PrivateRedisCluster()
    except FileNotFoundError as exc:
        pytest.skip(f"the Redis Cluster tests start their own cluster: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def clients(redis_cluster: PrivateRedisCluster) -> AsyncIterator[RedisClients]:
    made = connect_redis(redis_cluster.url, "cluster")
    yield made
    await made.general.aclose()


def make_store(clients: RedisClients, prefix: str, rate: RateLimit | None = None, **lock: int) -> RedisSessionStore:
    return RedisSessionStore(clients.scripts, CIPHER, 3600, SessionKeys(prefix), LockSettings(**lock), rate)


@pytest.fixture
def prefix() -> str:
    return f"zwbtest:{uuid.uuid4().hex[:12]}"


async def test_keys_of_one_user_share_a_slot_and_users_spread_over_the_nodes(clients: RedisClients,
                                                                               prefix: str) -> None:
    cluster, keys, owners = clients.general, SessionKeys(prefix), set()
    assert isinstance(cluster, RedisCluster)
    for user in USERS:
        slots = {await cluster.cluster_keyslot(key)  # asked of the server, not computed here
                 for key in (keys.state(user), keys.lock(user), keys.rate(user, 12345))}
        assert len(slots) == 1, user
        owners.add(cluster.nodes_manager.get_node_from_slot(slots.pop()).name)
    assert len(owners) == 3  # so the tests below run scripts on every node


async def test_states_round_trip_on_every_node(clients: RedisClients, prefix: str) -> None:
    store = make_store(clients, prefix)
    states = {user: Conversation(stage=Stage.collect, target="GA0020000", answers={"applicant_name": user})
              for user in USERS}
    for user, state in states.items():
        async with store.session(user) as session:
            assert await session.load() is None
            await session.save(state)
    for user, state in states.items():
        async with store.session(user) as session:
            assert await session.load() == state


async def test_two_instances_serve_one_user_one_message_at_a_time(clients: RedisClients, prefix: str) -> None:
    instances = [make_store(clients, prefix), make_store(clients, prefix)]
    order: list[str] = []

    async def turn(store: RedisSessionStore, name: str, pause: float) -> None:
        async with store.session("u") as session:
            order.append(f"{name}:start")
            state = await session.load() or Conversation()
            await asyncio.sleep(pause)
            state.answers[name] = "x"
            await session.save(state)
            order.append(f"{name}:end")

    first = asyncio.create_task(turn(instances[0], "first", 0.1))
    while "first:start" not in order:
        await asyncio.sleep(0.005)
    await asyncio.gather(first, turn(instances[1], "second", 0))
    assert order == ["first:start", "first:end", "second:start", "second:end"]
    async with instances[0].session("u") as session:
        state = await session.load()
    assert state is not None and set(state.answers) == {"first", "second"}  # no lost update


async def test_fencing_refuses_a_save_after_the_lease_ran_out(clients: RedisClients, prefix: str) -> None:
    slow, fast = make_store(clients, prefix, lease_ms=100), make_store(clients, prefix)
    async with slow.session("u") as late:
        await asyncio.sleep(0.25)  # the lease expires
        async with fast.session("u") as current:
            await current.save(Conversation(answers={"who": "fast"}))
        with pytest.raises(SessionUnavailable, match="lost"):
            await late.save(Conversation(answers={"who": "slow"}))
    async with fast.session("u") as session:
        state = await session.load()
    assert state is not None and state.answers == {"who": "fast"}


async def test_the_rate_limit_counts_through_the_store(clients: RedisClients, prefix: str) -> None:
    store = make_store(clients, prefix, rate=RateLimit(3, 60))

    async def send(user: str) -> bool:
        try:
            async with store.session(user):
                return True
        except TooManyMessages:
            return False

    assert [await send("u") for _ in range(4)] == [True, True, True, False]
    assert await send("someone-else")


async def test_the_pipelined_client_on_a_cluster_says_what_to_configure(redis_cluster: PrivateRedisCluster,
                                                                        clients: RedisClients, prefix: str) -> None:
    cluster, keys = clients.general, SessionKeys(prefix)
    assert isinstance(cluster, RedisCluster)
    await cluster.initialize()
    owners = {user: cluster.get_node_from_key(keys.state(user)) for user in USERS}
    elsewhere = next(user for user, node in owners.items() if node and node.port != redis_cluster.nodes[0].port)
    store = RedisSessionStore(PipelinedRedis(redis_cluster.url), CIPHER, 3600, SessionKeys(prefix))
    with pytest.raises(SessionUnavailable, match="set redis_client to cluster"):
        async with store.session(elsewhere):
            pass
    await store.close()


async def test_two_app_instances_on_the_cluster_carry_one_conversation(redis_cluster: PrivateRedisCluster,
                                                                       postgres_url: str, tmp_path: Path) -> None:
    """`redis_client: cluster` wires every Redis user of the app (sessions, dedupe, tokens, wake-ups)."""
    settings = {"database_url": postgres_url, "redis_url": redis_cluster.url, "redis_client": "cluster",
                "blob_dir": str(tmp_path / "blobs")}
    apps = [AppProcess(tmp_path, **settings).start(), AppProcess(tmp_path, **settings).start()]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            replies = []
            for app, text in zip(apps * 2, ["身份证过期了咋办", "/apply", "张三", "11010519491231002X"]):
                async with http.post(f"{app.url}/api/v1/chat/messages", json={"user": "roaming", "text": text}) as r:
                    assert r.status == 200, await r.text()
                    replies.append((await r.json())["replies"][-1])
        assert [reply.get("key") for reply in replies[2:]] == ["id_number", "phone"]
    finally:
        for app in apps:
            app.stop()
