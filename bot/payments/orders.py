"""Payment orders as we keep them, and the store port they live behind."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from pydantic import BaseModel

from bot.catalog import Catalog
from bot.cases import Case


class PaymentStatus(str, Enum):
    created = "created"      # ordered at the provider, not paid (yet)
    paid = "paid"
    closed = "closed"        # never paid: expired, or the case ended first
    refunding = "refunding"  # refund asked for, not confirmed
    refunded = "refunded"


class Payment(BaseModel):
    out_trade_no: str
    case_number: str
    user: str
    provider: str
    amount_fen: int
    description: str
    status: PaymentStatus
    client_params: dict[str, str] | None = None
    prepared_at: datetime | None = None
    expires_at: datetime
    transaction_id: str | None = None
    paid_at: datetime | None = None
    refund_no: str | None = None
    refunded_at: datetime | None = None
    problem: str | None = None
    created_at: datetime


class PaymentStore(Protocol):
    async def add(self, payment: Payment) -> None: ...
    async def get(self, out_trade_no: str) -> Payment | None: ...
    async def for_case(self, case_number: str) -> list[Payment]:
        """Every order of the case, oldest first."""
    async def prepared(self, out_trade_no: str, client_params: dict[str, str], at: datetime) -> None: ...
    async def mark_paid(self, out_trade_no: str, transaction_id: str | None, at: datetime,
                        outbox_payload: dict[str, object]) -> bool:
        """created -> paid with a case event and an outbox message, atomically; False if it was not `created`."""
    async def mark_closed(self, out_trade_no: str, at: datetime) -> bool: ...
    async def mark_refunding(self, out_trade_no: str, refund_no: str, at: datetime) -> bool: ...
    async def mark_refunded(self, out_trade_no: str, at: datetime, outbox_payload: dict[str, object]) -> bool:
        """paid/refunding -> refunded with a case event and an outbox message; False if already refunded."""
    async def flag(self, out_trade_no: str, problem: str, at: datetime) -> None: ...
    async def in_status(self, statuses: list[PaymentStatus], created_before: datetime) -> list[Payment]: ...
    async def created_between(self, start: datetime, end: datetime) -> list[Payment]: ...
    async def first_delivery(self, fingerprint: str, at: datetime) -> bool:
        """Remember one notification delivery; False when it was seen before (a replay)."""
    async def forget_deliveries(self, before: datetime) -> int: ...


def case_fee_fen(case: Case, catalog: Catalog) -> int:
    """The fee of the case's items in fen, from the current catalog (0: nothing to pay; an item removed from
    the catalog since counts as free)."""
    yuan = sum((item.fee.amount for code in case.item_codes if (item := catalog.items.get(code))), Decimal(0))
    return int(yuan * 100)


def yuan(fen: int) -> str:
    """12345 -> '123.45'."""
    return f"{fen // 100}.{fen % 100:02d}"
