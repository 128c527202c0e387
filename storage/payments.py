"""Payment orders in SQL. A status change that the citizen hears about (paid, refunded) is written with its
case event and outbox message in one transaction, and only from the expected status, so a repeated
notification changes nothing."""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.payments.orders import Payment, PaymentStatus
from storage import tables

p = tables.payments.c


def _payment(row: sa.RowMapping) -> Payment:
    data = {k: v for k, v in row.items() if k not in ("updated_at", "user_id")}
    return Payment(user=row["user_id"], **data)


class SqlPayments:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, payment: Payment) -> None:
        values = payment.model_dump(exclude={"user"})
        async with self._engine.begin() as conn:
            await conn.execute(tables.payments.insert().values(user_id=payment.user, updated_at=payment.created_at,
                                                               **values))

    async def get(self, out_trade_no: str) -> Payment | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(tables.payments.select()
                                      .where(p.out_trade_no == out_trade_no))).mappings().first()
        return _payment(row) if row else None

    async def for_case(self, case_number: str) -> list[Payment]:
        return await self._select(p.case_number == case_number)

    async def in_status(self, statuses: list[PaymentStatus], created_before: datetime) -> list[Payment]:
        return await self._select(p.status.in_([s.value for s in statuses]), p.created_at < created_before)

    async def created_between(self, start: datetime, end: datetime) -> list[Payment]:
        return await self._select(p.created_at >= start, p.created_at < end)

    async def _select(self, *where: sa.ColumnElement[bool]) -> list[Payment]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(tables.payments.select().where(*where)
                                       .order_by(p.created_at, p.out_trade_no))).mappings().all()
        return [_payment(row) for row in rows]

    async def prepared(self, out_trade_no: str, client_params: dict[str, str], at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.payments.update().where(p.out_trade_no == out_trade_no)
                               .values(client_params=client_params, prepared_at=at, updated_at=at))

    async def mark_paid(self, out_trade_no: str, transaction_id: str | None, at: datetime,
                        outbox_payload: dict[str, object]) -> bool:
        return await self._move(out_trade_no, [PaymentStatus.created], PaymentStatus.paid, at,
                                 {"transaction_id": transaction_id, "paid_at": at}, "payment.paid", outbox_payload)

    async def mark_refunded(self, out_trade_no: str, at: datetime, outbox_payload: dict[str, object]) -> bool:
        return await self._move(out_trade_no, [PaymentStatus.paid, PaymentStatus.refunding], PaymentStatus.refunded,
                                at, {"refunded_at": at}, "payment.refunded", outbox_payload)

    async def mark_refunding(self, out_trade_no: str, refund_no: str, at: datetime) -> bool:
        return await self._move(out_trade_no, [PaymentStatus.paid], PaymentStatus.refunding, at,
                                {"refund_no": refund_no}, None, {})

    async def mark_closed(self, out_trade_no: str, at: datetime) -> bool:
        return await self._move(out_trade_no, [PaymentStatus.created], PaymentStatus.closed, at, {}, None, {})

    async def flag(self, out_trade_no: str, problem: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(tables.payments.update().where(p.out_trade_no == out_trade_no)
                               .values(problem=problem, updated_at=at))

    async def _move(self, out_trade_no: str, expected: list[PaymentStatus], target: PaymentStatus, at: datetime,
                    values: dict[str, object], outbox_type: str | None, payload: dict[str, object]) -> bool:
        async with self._engine.begin() as conn:
            moved = await conn.execute(tables.payments.update()
                                       .where(p.out_trade_no == out_trade_no,
                                              p.status.in_([s.value for s in expected]))
                                       .values(status=target.value, updated_at=at, **values))
            if moved.rowcount != 1:
                return False
            if outbox_type is not None:
                await self._record(conn, out_trade_no, at, outbox_type, payload)
        return True

    @staticmethod
    async def _record(conn: AsyncConnection, out_trade_no: str, at: datetime, outbox_type: str,
                      payload: dict[str, object]) -> None:
        """The case event (status kept) and the outbox message of a payment change."""
        number = (await conn.execute(sa.select(p.case_number).where(p.out_trade_no == out_trade_no))).scalar_one()
        c = tables.cases.c
        status = (await conn.execute(sa.select(c.status).where(c.number == number))).scalar_one()
        await conn.execute(tables.case_events.insert().values(
            case_number=number, at=at, actor="payment", from_status=status, to_status=status, reason=None,
            detail={"payment": outbox_type, "out_trade_no": out_trade_no, "amount_fen": payload.get("amount_fen")}))
        await conn.execute(tables.outbox.insert().values(case_number=number, event_type=outbox_type, created_at=at,
                                                         payload={"number": number, **payload}))

    async def first_delivery(self, fingerprint: str, at: datetime) -> bool:
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()
        try:
            async with self._engine.begin() as conn:
                await conn.execute(tables.payment_deliveries.insert().values(fingerprint=digest, received_at=at))
        except IntegrityError:
            return False
        return True

    async def forget_deliveries(self, before: datetime) -> int:
        async with self._engine.begin() as conn:
            gone = await conn.execute(tables.payment_deliveries.delete()
                                      .where(tables.payment_deliveries.c.received_at < before))
        return gone.rowcount
