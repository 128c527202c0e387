"""Payment orders: one contract, run against SQLite and PostgreSQL. Status moves happen once, from the expected
status, with their case event and outbox message in the same transaction; deliveries are remembered once."""
from __future__ import annotations

import asyncio
import os
from datetime import timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utc_now
from bot.payments.orders import Payment, PaymentStatus
from storage import tables
from storage.cipher import FieldCipher, KeyedHash
from storage.payments import SqlPayments
from storage.sql import SqlCases
from tests.contract.cases import NOW, new_case


async def a_case_with_an_order(db: AsyncEngine, cipher: FieldCipher) -> tuple[SqlPayments, Payment]:
    case = await SqlCases(db, cipher, KeyedHash(os.urandom(32)), utc_now).submit(new_case("pay-1"), "DLH")
    payments = SqlPayments(db)
    order = Payment(out_trade_no=f"{case.number}P01", case_number=case.number, user="u1", provider="sandbox",
                    amount_fen=2000, description="居民身份证换领", status=PaymentStatus.created, created_at=NOW,
                    expires_at=NOW + timedelta(days=1))
    await payments.add(order)
    return payments, order


async def outbox_types(db: AsyncEngine, number: str) -> list[str]:
    async with db.connect() as conn:
        return list((await conn.execute(sa.select(tables.outbox.c.event_type)
                                        .where(tables.outbox.c.case_number == number)
                                        .order_by(tables.outbox.c.id))).scalars())


async def test_paid_once_under_concurrent_notifications(db: AsyncEngine, cipher: FieldCipher) -> None:
    payments, order = await a_case_with_an_order(db, cipher)
    await payments.prepared(order.out_trade_no, {"prepay_id": "wx1"}, NOW)
    results = await asyncio.gather(*(payments.mark_paid(order.out_trade_no, "4200", NOW, {"user": "u1",
                                                                                          "amount_fen": 2000})
                                     for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    stored = await payments.get(order.out_trade_no)
    assert stored is not None and stored.status is PaymentStatus.paid and stored.transaction_id == "4200"
    assert stored.client_params == {"prepay_id": "wx1"} and stored.paid_at == NOW
    assert await outbox_types(db, order.case_number) == ["case.submitted", "payment.paid"]
    assert not await payments.mark_closed(order.out_trade_no, NOW)  # a paid order is never closed


async def test_refund_moves_and_lists(db: AsyncEngine, cipher: FieldCipher) -> None:
    payments, order = await a_case_with_an_order(db, cipher)
    assert await payments.in_status([PaymentStatus.created], NOW + timedelta(seconds=1)) == [order]
    assert await payments.in_status([PaymentStatus.created], NOW) == []  # made too recently
    assert not await payments.mark_refunding(order.out_trade_no, "R1", NOW)  # nothing paid yet
    await payments.mark_paid(order.out_trade_no, None, NOW, {"amount_fen": 2000})
    assert await payments.mark_refunding(order.out_trade_no, "R1", NOW)
    assert await payments.mark_refunded(order.out_trade_no, NOW, {"amount_fen": 2000})
    assert not await payments.mark_refunded(order.out_trade_no, NOW, {"amount_fen": 2000})
    await payments.flag(order.out_trade_no, "checked by hand", NOW)
    [stored] = await payments.for_case(order.case_number)
    assert (stored.status, stored.refund_no, stored.problem) == (PaymentStatus.refunded, "R1", "checked by hand")
    assert await payments.created_between(NOW - timedelta(hours=1), NOW + timedelta(hours=1)) == [stored]
    assert await payments.created_between(NOW + timedelta(hours=1), NOW + timedelta(hours=2)) == []
    assert await outbox_types(db, order.case_number) == ["case.submitted", "payment.paid", "payment.refunded"]


async def test_bounds_in_china_time_find_what_utc_bounds_find(db: AsyncEngine, cipher: FieldCipher) -> None:
    """A day's reconciliation runs from China-time midnight: SQLite keeps no zone and compared wall times, so an
    order made 00:00-08:00 China time was missing from its day. Every stored moment and bound is UTC now."""
    payments, order = await a_case_with_an_order(db, cipher)  # made 09:30 UTC, 17:30 China time
    china = timezone(timedelta(hours=8))
    evening = NOW.astimezone(china).replace(hour=17, minute=0)  # 09:00 UTC: half an hour before the order
    [found] = await payments.created_between(evening, evening + timedelta(hours=1))
    assert found.out_trade_no == order.out_trade_no and found.created_at == NOW
    assert found.created_at.utcoffset() == timedelta(0)  # read back in UTC on every database
    assert await payments.created_between(evening - timedelta(hours=1), evening) == []


async def test_a_delivery_is_seen_once(db: AsyncEngine) -> None:
    payments = SqlPayments(db)
    assert await payments.first_delivery("sig-A", NOW)
    assert not await payments.first_delivery("sig-A", NOW)
    assert await payments.first_delivery("sig-B", NOW + timedelta(minutes=20))
    assert await payments.forget_deliveries(NOW + timedelta(minutes=10)) == 1
    assert await payments.first_delivery("sig-A", NOW + timedelta(minutes=20))  # long gone: stale anyway
