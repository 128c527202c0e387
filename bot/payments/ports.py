"""统一公共支付: what the domain needs from a payment provider (WeChat Pay v3 JSAPI, the sandbox, later a
government non-tax gateway). Amounts are integer fen (分) everywhere below this line."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Protocol

from pydantic import BaseModel


class TradeState(str, Enum):
    """WeChat Pay's trade_state values (the sandbox uses the same)."""

    NOTPAY = "NOTPAY"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    REFUND = "REFUND"
    USERPAYING = "USERPAYING"
    PAYERROR = "PAYERROR"
    REVOKED = "REVOKED"


class RefundStatus(str, Enum):
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    PROCESSING = "PROCESSING"
    ABNORMAL = "ABNORMAL"


class OrderRequest(BaseModel):
    out_trade_no: str          # ours, 6-32 chars [A-Za-z0-9_-|*]
    description: str           # shown on the payer's bill (<= 127 chars)
    amount_fen: int
    payer_openid: str
    expires_at: datetime       # timezone-aware


class Prepay(BaseModel):
    """What the mini-program needs: the exact arguments of wx.requestPayment (timeStamp, nonceStr, package,
    signType, paySign) for WeChat Pay, or what the sandbox page needs to confirm."""

    prepay_id: str
    client_params: dict[str, str]


class ProviderOrder(BaseModel):
    out_trade_no: str
    trade_state: TradeState
    amount_fen: int                 # order total
    payer_total_fen: int | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None


class ProviderRefund(BaseModel):
    out_refund_no: str
    out_trade_no: str
    refund_id: str | None = None
    status: RefundStatus
    amount_fen: int


class Notification(BaseModel):
    """A verified, decrypted notification. `event_type` is TRANSACTION.SUCCESS or REFUND.SUCCESS / REFUND.ABNORMAL
    / REFUND.CLOSED; `nonce` and `signature` identify this very delivery (for replay detection)."""

    id: str
    event_type: str
    nonce: str
    signature: str
    timestamp: datetime
    order: ProviderOrder | None = None
    refund: ProviderRefund | None = None


class NotificationRejected(Exception):
    """Not a genuine, fresh notification (bad signature, unknown serial, stale timestamp, undecryptable)."""


class PaymentUnavailable(Exception):
    """The provider could not be reached or answered with a server error; retry later."""


class PaymentRefused(Exception):
    """The provider answered that it will not do this (e.g. ORDERPAID, INVALID_REQUEST); retrying won't help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class PaymentProvider(Protocol):
    name: str

    async def create_order(self, order: OrderRequest) -> Prepay: ...
    async def query(self, out_trade_no: str) -> ProviderOrder | None:
        """None when the provider does not know the order."""
    async def close(self, out_trade_no: str) -> None: ...
    async def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                     reason: str) -> ProviderRefund:
        """Idempotent by out_refund_no: asking again returns the same refund."""
    async def query_refund(self, out_refund_no: str) -> ProviderRefund | None: ...
    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Check signature and timestamp window, decrypt; raises NotificationRejected."""
