"""Session stores: one contract, run against process memory, SQLite, PostgreSQL and a real Redis."""
from __future__ import annotations

import asyncio
import base64
import os
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.crc import key_slot
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bootstrap import build_stores
from bot.clock import utc_now
from bot.config import Settings
from bot.dialogue.idempotency import earlier_answer, message_digest, remember_answer
from bot.dialogue.replies import ChoicesReply, Option, TextReply
from bot.dialogue.state import Conversation, Stage
from bot.ports import SessionUnavailable, TooManyMessages
from storage import tables
from storage.cipher import FieldCipher
from storage.engine import open_engine
from storage.migrate import upgrade
from storage.rate_limits import RateLimit
from storage.redis_pipe import PipelinedRedis
from storage.redis_scripts import RedisPyScripts
from storage.redis_sessions import LockSettings, RedisSessionStore, SessionKeys
from storage.sessions import MemorySessionStore
from storage.sql_sessions import SqlSessionStore

KEY = os.urandom(32)
CIPHER = FieldCipher(KEY)


def make_store(kind: str, request: pytest.FixtureRequest, idle: int = 3600, legacy: bool = False, **lock: int):
    if kind == "memory":
        return MemorySessionStore(idle)
    url, prefix = request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")
    return RedisSessionStore(PipelinedRedis(url), CIPHER, idle, SessionKeys(prefix), LockSettings(**lock),
                             read_legacy_keys=legacy)


async def database(request: pytest.FixtureRequest, kind: str) -> AsyncEngine:
    """An upgraded database of this test's own: a SQLite file, or a database on the PostgreSQL server."""
    url = (request.getfixturevalue("postgres_url") if kind == "postgres"
           else f"sqlite+aiosqlite:///{request.getfixturevalue('tmp_path')}/sessions.db")
    engine = open_engine(url)
    await upgrade(engine)
    return engine


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis", "redis-py"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MemorySessionStore | RedisSessionStore
                                                                 | SqlSessionStore]:
    """In memory, in the database (SQLite, PostgreSQL), or in Redis with the scripts on the pipelined connection
    or on redis-py (`redis_client`)."""
    if request.param in ("sqlite", "postgres"):
        engine = await database(request, request.param)
        yield SqlSessionStore(engine, CIPHER, 3600)
        await engine.dispose()
        return
    if request.param != "redis-py":
        made = make_store(request.param, request)
        yield made
        await made.close()
        return
    client = Redis.from_url(request.getfixturevalue("redis_server"))
    yield RedisSessionStore(RedisPyScripts(client), CIPHER, 3600, SessionKeys(request.getfixturevalue("redis_prefix")))
    await client.aclose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_long_read_elsewhere_does_not_hold_up_a_citizens_turn(request: pytest.FixtureRequest,
                                                                       kind: str) -> None:
    """A staff listing or a report reading the database while a citizen's answer is saved: the save goes through at
    once (with SQLite's default journal it waited for the reader, then failed with 「系统有点忙」)."""
    engine = await database(request, kind)
    store = SqlSessionStore(engine, CIPHER, 3600)
    async with store.session("u1") as session:
        await session.save(Conversation(stage=Stage.collect, target="GA0020000", step=1))
    try:
        async with engine.connect() as reader:
            if kind == "sqlite":
                await reader.exec_driver_sql("BEGIN")  # pysqlite opens no transaction for a SELECT by itself
            assert (await reader.execute(sa.select(sa.func.count()).select_from(tables.conversations))).scalar() == 1
            async with asyncio.timeout(3):
                async with store.session("u1") as session:
                    await session.save(Conversation(stage=Stage.collect, target="GA0020000", step=2))
            await reader.rollback()
        async with store.session("u1") as session:
            assert (await session.load()).step == 2
    finally:
        await engine.dispose()


async def test_state_round_trips(store) -> None:
    state = Conversation(stage=Stage.collect, target="GA0020000", step=3, answers={"applicant_name": "张三"})
    async with store.session("u1") as session:
        assert await session.load() is None
        await session.save(state)
    async with store.session("u1") as session:
        assert await session.load() == state
    async with store.session("u2") as session:
        assert await session.load() is None


async def test_answers_to_client_message_ids_are_saved_with_the_state(store) -> None:
    """What makes the chat idempotent per client message id: the answer is stored in the same write as the state
    it produced, and read back with it (bot/dialogue/idempotency.py)."""
    replies = [TextReply(text="好的"), ChoicesReply(text="请选择：", options=[Option(label="是", value="/yes")])]
    state = Conversation(stage=Stage.offered, target="GA0020000")
    remember_answer(state, "c0ffee00-0000-4000-8000-000000000001", message_digest("居住证", None), replies)
    async with store.session("u") as session:
        await session.save(state)
    async with store.session("u") as session:
        loaded = await session.load()
    assert loaded.stage is Stage.offered
    assert earlier_answer(loaded, "c0ffee00-0000-4000-8000-000000000001", message_digest("居住证", None)) == replies
    assert earlier_answer(loaded, "another-id-123", message_digest("居住证", None)) is None


async def test_one_user_is_served_one_message_at_a_time(store) -> None:
    order: list[str] = []

    async def turn(user: str, name: str, pause: float) -> None:
        async with store.session(user) as session:
            order.append(f"{name}:start")
            state = await session.load() or Conversation()
            await asyncio.sleep(pause)
            state.answers[name] = "x"
            await session.save(state)
            order.append(f"{name}:end")

    await asyncio.gather(turn("u", "first", 0.1), turn("u", "second", 0), turn("other", "x", 0))
    assert order.index("first:end") < order.index("second:start")
    assert order.index("x:end") < order.index("first:end")  # other users are not held up
    async with store.session("u") as session:
        assert set((await session.load()).answers) == {"first", "second"}  # no lost update


async def test_redis_state_is_encrypted_and_expires(request: pytest.FixtureRequest) -> None:
    store = make_store("redis", request, idle=1)
    async with store.session("u") as session:
        await session.save(Conversation(answers={"id_number": "11010519491231002X"}))
    client = Redis.from_url(request.getfixturevalue("redis_server"))
    raw = await client.get(SessionKeys(request.getfixturevalue("redis_prefix")).state("u"))
    assert raw and b"11010519491231002X" not in raw and b"id_number" not in raw
    await asyncio.sleep(1.2)
    async with store.session("u") as session:
        assert await session.load() is None
    await client.aclose()
    await store.close()


@pytest.fixture(params=["redis", "sqlite", "postgres"])
async def instances(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., RedisSessionStore
                                                                               | SqlSessionStore]]:
    """Makes stores on one shared backend, each as another app process would have it (with its lock settings)."""
    engine = await database(request, request.param) if request.param != "redis" else None
    made: list[RedisSessionStore | SqlSessionStore] = []

    def make(**lock: int) -> RedisSessionStore | SqlSessionStore:
        made.append(make_store("redis", request, **lock) if engine is None
                    else SqlSessionStore(engine, CIPHER, 3600, LockSettings(**lock)))
        return made[-1]

    yield make
    for store in made:
        await store.close()
    if engine is not None:
        await engine.dispose()


async def test_lock_wait_across_processes_times_out(instances) -> None:
    store, other_process = instances(wait_ms=200), instances(wait_ms=200)  # same keys or rows, another process
    async with store.session("u"):
        with pytest.raises(SessionUnavailable, match="busy"):
            async with other_process.session("u"):
                pass
    async with other_process.session("u") as session:  # released by the first
        assert await session.load() is None


async def test_fencing_refuses_a_save_after_the_lease_ran_out(instances) -> None:
    """A holder that stalled (a long GC pause) or was killed past its lease: the next one takes over, the late
    save is refused."""
    slow, fast = instances(lease_ms=100), instances()
    async with slow.session("u") as late:
        await asyncio.sleep(0.25)
        async with fast.session("u") as current:
            await current.save(Conversation(answers={"who": "fast"}))
        with pytest.raises(SessionUnavailable, match="lost"):
            await late.save(Conversation(answers={"who": "slow"}))
    async with fast.session("u") as session:
        assert (await session.load()).answers == {"who": "fast"}


async def test_redis_down_is_reported_not_crashed(request: pytest.FixtureRequest) -> None:
    from tests.servers import free_port
    store = RedisSessionStore(PipelinedRedis(f"redis://127.0.0.1:{free_port()}/0", connect_timeout_s=0.5),
                              CIPHER, 60)
    with pytest.raises(SessionUnavailable):
        async with store.session("u"):
            pass
    await store.close()


async def test_redis_compresses_long_states_and_reads_every_form(request: pytest.FixtureRequest) -> None:
    store = make_store("redis", request)
    prefix = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(request.getfixturevalue("redis_server"))
    short = Conversation(stage=Stage.offered, target="GA0020000")
    long = Conversation(stage=Stage.collect, target="GA0020000",
                        answers={f"field_{i}": "德令哈市河西街道长江路1号" for i in range(30)})
    for user, state in (("short", short), ("long", long)):
        async with store.session(user) as session:
            await session.save(state)
        async with store.session(user) as session:
            assert await session.load() == state
    stored_long = await client.get(SessionKeys(prefix).state("long"))
    assert len(stored_long) < len(long.model_dump_json(exclude_defaults=True).encode()) / 2  # compressed
    # written by the earlier format, which compressed every state
    old_format = CIPHER.encrypt_bytes(zlib.compress(short.model_dump_json().encode()))
    await client.set(SessionKeys(prefix).state("old"), old_format)
    async with store.session("old") as session:
        assert await session.load() == short
    await client.aclose()
    await store.close()


async def test_redis_reads_a_conversation_stored_before_hash_tags_and_moves_it(request: pytest.FixtureRequest) -> None:
    """A conversation in progress at the deploy that introduced `<prefix>:{<user>}:…` keys goes on."""
    store = make_store("redis", request, legacy=True)
    keys = SessionKeys(request.getfixturevalue("redis_prefix"))
    client = Redis.from_url(request.getfixturevalue("redis_server"))
    before = Conversation(stage=Stage.collect, target="GA0020000", step=2, answers={"applicant_name": "张三"})
    await client.set(keys.legacy_state("u"), CIPHER.encrypt_bytes(before.model_dump_json().encode()))
    async with store.session("u") as session:
        state = await session.load()
        assert state == before
        state.answers["phone"] = "13800138000"
        await session.save(state)
    assert await client.exists(keys.legacy_state("u")) == 0  # moved: an old copy can never come back
    async with store.session("u") as session:
        assert (await session.load()).answers == {"applicant_name": "张三", "phone": "13800138000"}
    await client.aclose()
    await store.close()


@pytest.mark.parametrize("read_legacy", [False, True])
async def test_the_old_key_layout_is_read_only_when_configured(request: pytest.FixtureRequest, tmp_path: Path,
                                                               read_legacy: bool) -> None:
    """`redis_read_legacy_keys` (off by default: every script one key lighter) is for an upgrade from a release
    before hash tags: on, a conversation under the old key goes on; off, the citizen starts afresh."""
    url, prefix = request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")
    settings = Settings.load(None, database_url=f"sqlite+aiosqlite:///{tmp_path}/app.db", redis_url=url,
                             redis_prefix=prefix, field_key=base64.b64encode(KEY).decode(),
                             search_key=base64.b64encode(os.urandom(32)).decode(), blob_dir=str(tmp_path / "blobs"),
                             **({"redis_read_legacy_keys": True} if read_legacy else {}))
    assert settings.redis_read_legacy_keys is read_legacy
    client = Redis.from_url(url)
    before = Conversation(stage=Stage.collect, target="GA0020000", step=2, answers={"applicant_name": "张三"})
    await client.set(SessionKeys(prefix).legacy_state("u"), CIPHER.encrypt_bytes(before.model_dump_json().encode()))
    stores = build_stores(settings, utc_now)
    async with stores.shared.sessions.session("u") as session:
        assert (await session.load() == before) is read_legacy
    await stores.shared.close()
    await stores.db.dispose()
    await client.aclose()


def test_the_old_key_layout_cannot_be_read_on_a_cluster() -> None:
    with pytest.raises(ValidationError, match="one Redis node only"):
        Settings.load(None, redis_url="redis://127.0.0.1:7000", redis_client="cluster", redis_read_legacy_keys=True)


@pytest.mark.parametrize("user", ["o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "wechat:o6_bmjrPTlm6", "含中文", "a}b", "{x}y", "a:b{c"])
def test_keys_of_one_user_share_one_cluster_slot(user: str) -> None:
    """So each script's keys live on one node of a Redis Cluster (tests/contract/test_redis_cluster.py runs it)."""
    keys = SessionKeys("zwb")
    assert len({key_slot(key.encode()) for key in (keys.state(user), keys.lock(user), keys.rate(user, 1))}) == 1


def test_a_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="braces"):  # it would be the hash tag: every user in one slot
        SessionKeys("zwb{1}")


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_db(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    engine = await database(request, request.param)
    yield engine
    await engine.dispose()


async def test_sql_state_is_encrypted_and_survives_a_new_store(sql_db: AsyncEngine) -> None:
    """A restart of the process (a new store on the same database) finds the draft; nothing is stored in clear."""
    async with SqlSessionStore(sql_db, CIPHER, 3600).session("u") as session:
        await session.save(Conversation(stage=Stage.collect, answers={"id_number": "11010519491231002X"}))
    async with sql_db.connect() as conn:
        raw = (await conn.execute(tables.conversations.select())).one()
    assert b"11010519491231002X" not in raw.state and b"id_number" not in raw.state and raw.lock_token is None
    async with SqlSessionStore(sql_db, CIPHER, 3600).session("u") as session:
        assert (await session.load()).answers == {"id_number": "11010519491231002X"}


async def test_sql_idle_conversations_expire_and_are_purged(sql_db: AsyncEngine) -> None:
    now = [1_000_000]
    store = SqlSessionStore(sql_db, CIPHER, 60, wall_ms=lambda: now[0])
    for user in ("old", "recent"):
        async with store.session(user) as session:
            await session.save(Conversation(answers={"who": user}))
        now[0] += 30_000
    now[0] += 1_000  # "old" saved 61 s ago, "recent" 31 s ago
    async with store.session("old") as session:
        assert await session.load() is None  # expired, even before the purge
    assert await store.purge_idle() == 1
    async with store.session("recent") as session:
        assert (await session.load()).answers == {"who": "recent"}


async def test_sql_rate_limit_refuses_a_flood(sql_db: AsyncEngine) -> None:
    store = SqlSessionStore(sql_db, CIPHER, 3600, rate=RateLimit(2, 60))
    for _ in range(2):
        async with store.session("u"):
            pass
    with pytest.raises(TooManyMessages):
        async with store.session("u"):
            pass
