"""The session store's round trip alone (take lock + count + read, then save + release) with the two Redis
clients, in interleaved rounds: turns per second of one asyncio loop with N users sending at once.

    python bench/bench_sessions.py [--seconds 5] [--users 64] [--rounds 5]

Needs a reachable Redis (ZWB_TEST_REDIS_URL, default 127.0.0.1:6379); it uses its own key prefix and removes it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dialogue.state import Conversation, Stage  # noqa: E402
from storage.cipher import FieldCipher  # noqa: E402
from storage.rate_limits import RateLimit  # noqa: E402
from storage.redis_clients import RedisClientKind, connect_redis  # noqa: E402
from storage.redis_sessions import RedisSessionStore, SessionKeys  # noqa: E402
from tests.backends import SHARED_REDIS, delete_prefix  # noqa: E402

CLIENTS: tuple[RedisClientKind, ...] = ("pipelined", "redis-py")  # values of the redis_client setting
CIPHER = FieldCipher(os.urandom(32))


async def turns_per_second(url: str, prefix: str, client: RedisClientKind, users: int, seconds: float) -> float:
    redis = connect_redis(url, client)
    store = RedisSessionStore(redis.scripts, CIPHER, 3600, SessionKeys(prefix), rate=RateLimit(1_000_000, 10))
    state = Conversation(stage=Stage.collect, target="GA0020000", step=3, answers={"applicant_name": "张三"})
    done = 0
    stop = time.perf_counter() + seconds

    async def user(name: str) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            async with store.session(name) as session:
                await session.load()
                await session.save(state)
            done += 1

    await asyncio.gather(*(user(f"{client}-{i}") for i in range(users)))  # warm-up: connections, scripts
    done, stop = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(user(f"{client}-{i}") for i in range(users)))
    rate = done / (time.perf_counter() - started)
    await store.close()
    await redis.general.aclose()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    prefix = f"zwbbench:{uuid.uuid4().hex[:8]}"
    rounds: list[dict[RedisClientKind, float]] = []
    try:
        for number in range(args.rounds):
            order = CLIENTS if number % 2 == 0 else CLIENTS[::-1]
            result = {name: asyncio.run(turns_per_second(SHARED_REDIS, prefix, name, args.users, args.seconds))
                      for name in order}
            rounds.append(result)
            print(f"round {number + 1}: " + ", ".join(f"{name} {result[name]:.0f} turns/s" for name in CLIENTS)
                  + f"; redis-py / pipelined {result['redis-py'] / result['pipelined']:.2f}", flush=True)
    finally:
        asyncio.run(delete_prefix(SHARED_REDIS, prefix))
    for name in CLIENTS:
        print(f"{name:10} median {statistics.median(r[name] for r in rounds):8.0f} turns/s")
    print(f"redis-py / pipelined: median of the rounds' ratios "
          f"{statistics.median(r['redis-py'] / r['pipelined'] for r in rounds):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
