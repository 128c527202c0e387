"""The mixed workload of bench_chat.py (`--workload mixed`): whole conversations for many users at once.

Each of the client's concurrent users runs 居民身份证换领 from the first message to the case number: match, a
question (需要什么材料), every form step (every third conversation answers the ID number and the phone wrongly once
and is asked again), the 户口簿 from 电子证照, one photo upload (multipart), the optional step skipped, submit;
then the next conversation as a new user. A turn refused with 429 (the process's 16 upload slots all taken: these
users have no think time, so one process faces the uploads of thousands of people) is sent again after 50 ms, not
after its Retry-After (a person's wait would only idle the user), so every conversation keeps its upload; the
refusals are counted and shown apart from the turns. A Python asyncio client (aiohttp) drives it, not wrk: the flow
needs a multipart upload and a per-user script, and the same client measures the bare handler and first turns in
the same run, so the shares compare like with like (the client takes CPU from the same cores: absolute figures are
lower than wrk's). With one process it then says where the time goes: the app's CPU per turn under the same load,
from conversations cut after each of their turns.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.chat import PNG

VALID_ID = "11010519491231002X"
RETRY_PAUSE_S = 0.05  # a refused turn (429) is sent again after this
CUT_SECONDS = 4.0  # each cut conversation's load, for the CPU per turn under load
Turn = tuple[str, str | None]  # (kind, text); text None: the photo upload
Script = Callable[[int], list[Turn]]  # the turns of a user's `index`-th conversation


def conversation(index: int) -> list[Turn]:
    """The turns of one conversation; every third one has two validation errors."""
    wrong = index % 3 == 0
    return [("first", "身份证过期了咋办"), ("question", "/ask materials"), ("form", "/apply"), ("form", "张三"),
            *([("invalid", "12345")] if wrong else []), ("form", VALID_ID),
            *([("invalid", "1380013800")] if wrong else []), ("form", "13800138000"), ("form", "有效期满"),
            ("form", "邮寄到家"), ("form", "德令哈市河西街道长江路1号"), ("material", "/licence"), ("upload", None),
            ("material", "/skip"), ("submit", "/submit")]


def first_turn(index: int) -> list[Turn]:
    """A conversation of its first turn only: every turn a new user's first."""
    return conversation(index)[:1]


def cut_after(turns: int) -> Script:
    """Conversations without validation errors that end after their first `turns` turns."""
    return lambda index: conversation(1)[:turns]


@dataclass
class Latencies:
    """Seconds per turn, by kind; refusals and errors by kind, status and detail."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def all(self) -> list[float]:
        return [t for times in self.by_kind.values() for t in times]


async def send(http: aiohttp.ClientSession, url: str, user: str, text: str | None) -> tuple[int, str]:
    """The answer's status, and for a refusal its problem detail."""
    if text is None:
        form = aiohttp.FormData()
        form.add_field("user", user)
        form.add_field("file", PNG, filename="card.png", content_type="image/png")
        request = http.post(url, data=form)
    else:
        request = http.post(url, json={"user": user, "text": text})
    async with request as response:
        body = await response.read()
        if response.status == 200:
            return 200, ""
        try:
            return response.status, str(json.loads(body).get("detail", ""))
        except ValueError:
            return response.status, body[:80].decode(errors="replace")


async def _user(http: aiohttp.ClientSession, url: str, run: str, worker: int, stop: float, script: Script,
                latencies: Latencies) -> None:
    count = 0
    while time.monotonic() < stop:
        user = f"mix-{run}-{worker}-{count}"
        turns = script(count)
        count += 1
        for kind, text in turns:
            while True:
                started = time.monotonic()
                status, detail = await send(http, url, user, text)
                if status != 429 or time.monotonic() >= stop:
                    break
                latencies.errors[f"{kind} {status} (retried) {detail}"] += 1
                await asyncio.sleep(RETRY_PAUSE_S)
            latencies.by_kind[kind].append(time.monotonic() - started)
            if status != 200:
                latencies.errors[f"{kind} {status} {detail}"] += 1
            if time.monotonic() >= stop:
                return


async def load(urls: list[str], users: int, seconds: float, script: Script = conversation) -> tuple[float, Latencies]:
    """`users` concurrent users over the URLs in turn for `seconds`, each talking `script`'s conversations one
    after another; turns per second and the latencies."""
    latencies, run = Latencies(), uuid.uuid4().hex[:8]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        stop = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(*(_user(http, f"{urls[i % len(urls)]}/api/v1/chat/messages", run, i, stop, script,
                                     latencies) for i in range(users)))
        elapsed = time.monotonic() - started
    return len(latencies.all()) / elapsed, latencies


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000 if ordered else 0.0


def report(label: str, rate: float, latencies: Latencies, bare: float) -> str:
    times = latencies.all()
    errors = "".join(f"\n  {count:6} answers {what}" for what, count in sorted(latencies.errors.items()))
    return (f"{label:34} {rate:8.0f} {percentile(times, 50):8.1f} {percentile(times, 99):8.1f}   "
            f"({rate / bare:.0%} of bare){errors}")


def by_kind(latencies: Latencies) -> str:
    """Where the time goes: mean and p99 per kind of turn, and each kind's share of all time spent."""
    total = sum(latencies.all()) or 1.0
    rows = []
    for kind, times in sorted(latencies.by_kind.items(), key=lambda kv: -sum(kv[1])):
        rows.append(f"  {kind:9} {len(times):6} turns  mean {statistics.mean(times) * 1000:7.1f} ms  "
                    f"p99 {percentile(times, 99):7.1f} ms  {sum(times) / total:4.0%} of the time")
    return "\n".join(rows)


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads so far (Linux schedstat: nanoseconds, not 10 ms ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that ended meanwhile
            pass
    return total / 1e9


def cpu_by_turn(url: str, pid: int, users: int) -> list[tuple[Turn, float]]:
    """The app's CPU per conversation under load when conversations end after 1, 2, … of their turns (`users` at
    once): what each turn adds is the difference from the cut before it. The same load as the mix, so the figures
    add up to its cost; one user at a time instead, each turn would also pay the process's wake-ups from idle
    (on this machine a wait of 1 ms costs ~60 µs of CPU, a thread hop ~110), which a loaded process does not."""
    turns = conversation(1)
    costs: list[tuple[Turn, float]] = []
    for cut in range(1, len(turns) + 1):
        before = cpu_seconds(pid)
        _, latencies = asyncio.run(load([url], users, CUT_SECONDS, cut_after(cut)))
        costs.append((turns[cut - 1], (cpu_seconds(pid) - before) / max(len(latencies.all()), 1) * cut))
    return costs


def cost_report(costs: list[tuple[Turn, float]]) -> str:
    """Each turn's CPU under load (the growth of a conversation's CPU with it), and a mean turn over a first."""
    rows, before = [], 0.0
    for number, ((kind, text), conversation_cpu) in enumerate(costs, start=1):
        rows.append(f"  {(conversation_cpu - before) * 1000:+6.2f} ms  (conversation so far {conversation_cpu * 1000:5.2f})"
                    f"  turn {number:2} {kind:9} {(text or '(photo)')[:12]}")
        before = conversation_cpu
    whole, first = costs[-1][1], costs[0][1]
    return "\n".join([*rows, f"  a mean turn of these costs {whole / len(costs) * 1000:.2f} ms of app CPU, "
                             f"{whole / len(costs) / first:.2f}× a first turn"])


def run(bare_url: str, apps: list[list[str]], users: int, seconds: float, pid: int | None = None) -> None:
    """Print the mixed workload against the bare handler, with first turns alone by the same client; with the pid
    of the first app, also what each turn of a conversation costs it under load."""
    print(f"mixed workload: {users} users at once, {seconds:.0f} s per row, Python asyncio client (aiohttp)")
    print(f"{'':34} {'turns/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    asyncio.run(load([bare_url], users, 2, first_turn))  # warm-up
    bare_rate, bare = asyncio.run(load([bare_url], users, seconds, first_turn))
    print(report("bare aiohttp handler", bare_rate, bare, bare_rate))
    for urls in apps:
        name = f"{len(urls)} process{'es' if len(urls) > 1 else ''}"
        asyncio.run(load(urls, users, 2))  # warm-up (matcher cache, connections)
        first_rate, first = asyncio.run(load(urls, users, seconds, first_turn))
        print(report(f"zhengwu-bot, {name}, first turns", first_rate, first, bare_rate))
        mixed_rate, mixed = asyncio.run(load(urls, users, seconds))
        print(report(f"zhengwu-bot, {name}, mixed", mixed_rate, mixed, bare_rate))
        print(f"  a turn of the mix costs {first_rate / mixed_rate:.2f}× a first turn (inverse throughput); "
              f"by kind of turn:\n{by_kind(mixed)}")
        if pid is not None and len(urls) == 1:
            costs = cpu_by_turn(urls[0], pid, users)
            print(f"  app CPU per turn under load ({users} users, conversations without validation errors cut after "
                  f"each turn, {CUT_SECONDS:.0f} s each; each cut is its own run, so one turn's figure moves by a few "
                  f"tenths of a ms between runs, the totals less):\n{cost_report(costs)}")
