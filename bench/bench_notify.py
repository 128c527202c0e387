"""WeChat Pay notification handling time (WeChat Pay wants an answer within 5 s): verify the RSA signature,
refuse replays, decrypt AES-GCM and act idempotently, on SQLite, against a bare aiohttp handler answering
204 measured in the same run with the same client.

    python bench/bench_notify.py [--count 500]

The first notification of each order marks it paid; the rest are WeChat-style retries (freshly signed).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from app import build_app  # noqa: E402
from bot.config import PaymentConfig, Settings, WeChatPaySettings  # noqa: E402
from bot.clock import utc_now  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.payments.orders import Payment, PaymentStatus  # noqa: E402
from sim.wechatpay import WeChatPaySimulator  # noqa: E402
from sim.wechatpay_keys import generate_test_keys  # noqa: E402
from bot.cases import NewCase  # noqa: E402
from storage.cipher import FieldCipher, KeyedHash  # noqa: E402
from storage.payments import SqlPayments  # noqa: E402
from storage.sql import SqlCases  # noqa: E402

NOTIFY = "/api/v1/payments/wechat/notify"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def ms(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {ms(0.5):6.2f} ms  p99 {ms(0.99):6.2f} ms  max {ordered[-1] * 1000:6.2f} ms"


async def timed_posts(client: TestClient, bodies: list[tuple[dict[str, str], bytes]]) -> list[float]:
    samples = []
    for headers, body in bodies:
        started = time.perf_counter()
        response = await client.post(NOTIFY, data=body, headers=headers)
        await response.read()
        samples.append(time.perf_counter() - started)
        assert response.status == 204, (response.status, await response.text())
    return samples


async def run(count: int) -> None:
    keys = generate_test_keys()
    sim = WeChatPaySimulator.from_keys(keys)
    workdir = Path(tempfile.mkdtemp(prefix="zwb-bench-notify-"))
    (workdir / "m.pem").write_text(keys.merchant_private_key_pem)
    (workdir / "p.pem").write_text(keys.platform_public_key_pem)
    settings = Settings.load(None, database_url=f"sqlite+aiosqlite:///{workdir}/b.db", blob_dir=workdir / "blobs",
                             semantic_tiebreaker=False, field_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                             payments=PaymentConfig(provider="wechatpay", wechatpay=WeChatPaySettings(
                                 base_url="http://127.0.0.1:9", appid=keys.appid, mchid=keys.mchid,
                                 merchant_serial=keys.merchant_serial, merchant_private_key_path=workdir / "m.pem",
                                 platform_public_key_path=workdir / "p.pem",
                                 platform_public_key_id=keys.platform_public_key_id, api_v3_key=keys.api_v3_key,
                                 notify_url="http://127.0.0.1:9/notify")))
    content = load_content(ROOT / "intents", logging.getLogger("bench"))
    app = build_app(settings, content, utc_now)
    async with TestClient(TestServer(app)) as client:
        db = create_async_engine(settings.database_url)
        cases = SqlCases(db, FieldCipher(os.urandom(32)), KeyedHash(os.urandom(32)), utc_now)
        store = SqlPayments(db)  # cases and orders as the chat would have made them (no provider call needed)
        at, now = datetime.now(timezone.utc), time.time()
        numbers = []
        for i in range(50):
            case = await cases.submit(NewCase(
                user="u", target="GA0020000", target_name="居民身份证换领", item_codes=["GA0020000"], fields={},
                materials=[], submitted_at=at, promised_date=at.date(), provisional_date=False,
                idempotency_key=f"bench-{i}"), "DLH")
            numbers.append(case.number)
            await store.add(Payment(out_trade_no=f"{case.number}P01", case_number=case.number, user="u",
                                    provider="wechatpay", amount_fen=2000, description="bench",
                                    status=PaymentStatus.created, created_at=at, expires_at=at + timedelta(days=1)))
        bodies = []
        for i in range(count):
            order = f"{numbers[i % 50]}P01"
            resource = {"appid": keys.appid, "mchid": keys.mchid, "out_trade_no": order, "trade_type": "JSAPI",
                        "trade_state": "SUCCESS", "transaction_id": f"4200{i:024d}",
                        "success_time": "2026-11-27T10:00:00+08:00", "payer": {"openid": "o"},
                        "amount": {"total": 2000, "payer_total": 2000, "currency": "CNY", "payer_currency": "CNY"}}
            bodies.append(sim.build_notification("TRANSACTION.SUCCESS", resource, timestamp=int(now)))
        ours = await timed_posts(client, bodies)
        await db.dispose()

    bare = web.Application()

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    bare.router.add_post(NOTIFY, accept)
    async with TestClient(TestServer(bare)) as client:
        baseline = await timed_posts(client, bodies)
    print(f"{count} notifications (50 orders, the rest retries), one at a time over HTTP")
    print(f"  bare aiohttp 204   {percentiles(baseline)}  mean {statistics.mean(baseline) * 1000:.2f} ms")
    print(f"  zhengwu notify     {percentiles(ours)}  mean {statistics.mean(ours) * 1000:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
