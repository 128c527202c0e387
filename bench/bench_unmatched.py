"""What the unmatched inbox costs: recording a miss on the chat turn (mask + append to the buffer) next to matching
the same utterance with the real matcher's memory off (the work a missed turn does anyway), and flushing
misses into SQLite (the background job), per miss.

    python bench/bench_unmatched.py [--misses 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.clock import utc_now  # noqa: E402
from bot.content import Content, build_matcher, load_content  # noqa: E402
from bot.inbox.grouping import Words  # noqa: E402
from bot.inbox.models import MissKind  # noqa: E402
from bot.inbox.recorder import MissBuffer  # noqa: E402
from bot.inbox.service import UnmatchedInbox  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.staff import SqlAudit  # noqa: E402
from storage.unmatched import SqlUnmatched  # noqa: E402

PERSONAL = ["，电话13812345678", "，身份证63280219900101123X", "，我叫张三", ""]


def utterances(count: int) -> list[str]:
    with (ROOT / "tests" / "data" / "utterances.tsv").open(encoding="utf-8") as f:
        texts = [row[0] for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")]
    return [texts[i % len(texts)] + PERSONAL[i % len(PERSONAL)] for i in range(count)]


def per_call_us(call: object, texts: list[str]) -> tuple[float, float]:
    timings = []
    for text in texts:
        start = time.perf_counter()
        call(text)  # type: ignore[operator]
        timings.append((time.perf_counter() - start) * 1e6)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99)]


async def flush_us(texts: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = create_async_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade(db)
        buffer = MissBuffer(utc_now)
        studio = None  # flushing only: no proposals, so no drafts
        inbox = UnmatchedInbox(SqlUnmatched(db), buffer, SqlAudit(db, utc_now), studio,  # type: ignore[arg-type]
                               ROOT / "intents", utc_now, 90)
        for text in texts:
            buffer.record(MissKind.miss, text)
        start = time.perf_counter()
        await inbox.flush()
        elapsed = time.perf_counter() - start
        await db.dispose()
    return elapsed * 1e6 / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", type=int, default=2000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    content = load_content(ROOT / "intents", logging.getLogger("bench"))
    texts = utterances(args.misses)
    matcher = build_matcher(content.catalog, content.scripts, ROOT / "intents", recent_results=0)
    buffer = MissBuffer(utc_now)
    record_p50, record_p99 = per_call_us(lambda t: buffer.record(MissKind.miss, t), texts)
    match_p50, match_p99 = per_call_us(matcher.match, texts)
    print(f"{'per miss':34} {'p50 µs':>8} {'p99 µs':>8}")
    print(f"{'baseline: matcher.match (no memory)':34} {match_p50:8.1f} {match_p99:8.1f}")
    print(f"{'record (mask + buffer), on the turn':34} {record_p50:8.1f} {record_p99:8.1f}")
    print(f"{'flush into SQLite, in the background':34} {asyncio.run(flush_us(texts)):8.1f} {'':>8}")
    print(f"grouping words: {len(Words.load(ROOT / 'intents' / 'dictionaries' / 'synonyms.yaml').fillers)} fillers")


if __name__ == "__main__":
    main()
