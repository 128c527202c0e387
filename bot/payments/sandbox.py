"""The embedded default payment provider: behaves like WeChat Pay (orders, query, close, refunds, and
notifications that arrive later, asynchronously, retried until accepted) without any money or network.

The payer "pays" by confirming on the sandbox endpoint (the H5 page does it instead of wx.requestPayment).
Notifications are handed in-process to the sink the app attaches; nothing arrives over HTTP, so the HTTP
notify endpoint rejects everything while the sandbox is the provider. The ledger lives in memory: a restart
forgets sandbox orders (the settle job then closes them once they expire)."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from bot.payments.ports import (Notification, NotificationRejected, OrderRequest, Prepay, ProviderOrder,
                                ProviderRefund, RefundStatus, TradeState)

NotificationSink = Callable[[Notification], Awaitable[None]]
RETRY_SECONDS = (0.2, 1, 2, 5, 15, 30, 60)


class SandboxPay:
    name = "sandbox"

    def __init__(self, clock: Callable[[], datetime], log: logging.Logger, delay_seconds: float = 0.2) -> None:
        self._clock, self._log, self._delay = clock, log, delay_seconds
        self._orders: dict[str, tuple[OrderRequest, ProviderOrder]] = {}
        self._refunds: dict[str, ProviderRefund] = {}
        self._sink: NotificationSink | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def attach(self, sink: NotificationSink) -> None:
        """Where notifications go (the payments service); set once while wiring the app."""
        self._sink = sink

    async def create_order(self, order: OrderRequest) -> Prepay:
        known = self._orders.get(order.out_trade_no)
        if known and known[0] != order:
            raise ValueError(f"out_trade_no {order.out_trade_no} reused with other parameters")
        if known is None:
            self._orders[order.out_trade_no] = (order, ProviderOrder(
                out_trade_no=order.out_trade_no, trade_state=TradeState.NOTPAY, amount_fen=order.amount_fen))
        prepay_id = f"sandbox_{uuid.uuid4().hex[:24]}"
        return Prepay(prepay_id=prepay_id, client_params={"provider": self.name, "prepay_id": prepay_id,
                                                          "out_trade_no": order.out_trade_no})

    async def query(self, out_trade_no: str) -> ProviderOrder | None:
        known = self._orders.get(out_trade_no)
        return known[1] if known else None

    async def close(self, out_trade_no: str) -> None:
        known = self._orders.get(out_trade_no)
        if known and known[1].trade_state is TradeState.NOTPAY:
            self._orders[out_trade_no] = (known[0], known[1].model_copy(update={"trade_state": TradeState.CLOSED}))

    def confirm(self, out_trade_no: str) -> bool:
        """The payer completes the payment; the notification follows shortly. False if not payable."""
        known = self._orders.get(out_trade_no)
        if known is None or known[1].trade_state is not TradeState.NOTPAY or known[0].expires_at <= self._clock():
            return False
        paid = known[1].model_copy(update={"trade_state": TradeState.SUCCESS, "payer_total_fen": known[0].amount_fen,
                                           "transaction_id": f"sandbox{uuid.uuid4().hex[:20]}",
                                           "success_time": self._clock()})
        self._orders[out_trade_no] = (known[0], paid)
        self._notify("TRANSACTION.SUCCESS", order=paid)
        return True

    async def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                     reason: str) -> ProviderRefund:
        if out_refund_no in self._refunds:
            return self._refunds[out_refund_no]
        known = self._orders.get(out_trade_no)
        if known is None or known[1].trade_state is not TradeState.SUCCESS or refund_fen > known[1].amount_fen:
            raise ValueError(f"order {out_trade_no} cannot be refunded")
        self._orders[out_trade_no] = (known[0], known[1].model_copy(update={"trade_state": TradeState.REFUND}))
        refund = ProviderRefund(out_refund_no=out_refund_no, out_trade_no=out_trade_no, amount_fen=refund_fen,
                                refund_id=f"sandboxR{uuid.uuid4().hex[:20]}", status=RefundStatus.PROCESSING)
        self._refunds[out_refund_no] = refund.model_copy(update={"status": RefundStatus.SUCCESS})
        self._notify("REFUND.SUCCESS", refund=self._refunds[out_refund_no])
        return refund

    async def query_refund(self, out_refund_no: str) -> ProviderRefund | None:
        return self._refunds.get(out_refund_no)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        raise NotificationRejected("the sandbox sends no notifications over HTTP")

    def _notify(self, event_type: str, order: ProviderOrder | None = None,
                refund: ProviderRefund | None = None) -> None:
        nonce = uuid.uuid4().hex
        notification = Notification(id=str(uuid.uuid4()), event_type=event_type, nonce=nonce, signature=nonce,
                                    timestamp=self._clock(), order=order, refund=refund)
        task = asyncio.get_running_loop().create_task(self._deliver(notification))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, notification: Notification) -> None:
        """Like WeChat Pay: later, and again until the receiver accepts it."""
        await asyncio.sleep(self._delay)
        for wait in RETRY_SECONDS:
            try:
                if self._sink is not None:
                    await self._sink(notification)
                return
            except Exception as exc:  # the receiver failed: retry like the real provider does
                self._log.warning("sandbox notification %s not accepted (%s); retrying", notification.id, exc)
                await asyncio.sleep(wait)
        self._log.error("sandbox notification %s given up", notification.id)

    async def close_all(self) -> None:
        """Stop pending deliveries (app shutdown)."""
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
