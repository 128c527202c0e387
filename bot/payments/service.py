"""Case fees: ordering when the citizen is ready to pay, acting on verified notifications exactly once,
closing or refunding when a case ends without a result, settling what a lost notification left open, and
reconciling our orders with the provider's records."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from bot.content import Content
from bot.lifecycle import CaseStatus, Role
from bot.outbox.events import Alert, OutboxEvent, Retry
from bot.payments.orders import Payment, PaymentStatus, PaymentStore, case_fee_fen
from bot.payments.ports import (Notification, NotificationRejected, OrderRequest, PaymentProvider, ProviderOrder,
                                RefundStatus, TradeState)
from bot.cases import Case
from bot.ports import CaseRepository
from bot.staff import StaffNotice
from bot.workdays import CHINA

FEE_DUE = {CaseStatus.accepted, CaseStatus.in_progress}   # 受理后缴费
ENDED_WITHOUT_RESULT = {CaseStatus.refused.value, CaseStatus.withdrawn.value}
PAID_STATES = {PaymentStatus.paid, PaymentStatus.refunding, PaymentStatus.refunded}
PAID_AT_PROVIDER = {TradeState.SUCCESS, TradeState.REFUND}
REFUND_STUCK = ("办件 {number} 的退款已连续 {attempts} 次未能提交到支付渠道，系统会继续重试直至成功，"
                "请核查支付渠道。最近一次错误：{error}")


@dataclass(frozen=True)
class PaymentSettings:
    order_minutes: int = 24 * 60     # an order can be paid this long, then a new one is made
    prepay_minutes: int = 110        # a prepay_id lives 2 h at WeChat Pay; ask again a little before
    settle_after_minutes: int = 5    # query an unpaid order this long after it was made (lost notification)


@dataclass(frozen=True)
class Mismatch:
    """One difference between our order and the provider's record of it."""

    out_trade_no: str
    case_number: str
    kind: str          # missing_at_provider, paid_at_provider_only, paid_here_only, amount, refund, flagged
    ours: str
    theirs: str


class Payments:
    """The fee step of a case, behind one provider (WeChat Pay, the sandbox, …)."""

    def __init__(self, provider: PaymentProvider, store: PaymentStore, cases: CaseRepository,
                 content: Callable[[], Content], clock: Callable[[], datetime], settings: PaymentSettings,
                 log: logging.Logger) -> None:
        self._provider, self._store, self._cases = provider, store, cases
        self._content, self._clock, self._settings, self._log = content, clock, settings, log

    @property
    def provider(self) -> str:
        return self._provider.name

    def fee_fen(self, case: Case) -> int:
        return case_fee_fen(case, self._content().catalog)

    async def settled(self, case: Case) -> bool:
        """True when the case owes nothing: a free item, or its fee is paid."""
        if self.fee_fen(case) == 0:
            return True
        return any(p.status is PaymentStatus.paid for p in await self._store.for_case(case.number))

    async def fee_state(self, case: Case) -> tuple[int, str]:
        """The fee in fen and where it stands: free, unpaid, paid, refunding or refunded."""
        fee = self.fee_fen(case)
        if fee == 0:
            return 0, "free"
        states = [p.status for p in await self._store.for_case(case.number) if p.status in PAID_STATES]
        return fee, states[-1].value if states else "unpaid"

    async def due(self, user: str) -> list[tuple[Case, int]]:
        """The user's accepted cases with a fee not paid yet, and the fee in fen."""
        owed = []
        for case in await self._cases.list_for_user(user):
            if CaseStatus(case.status) in FEE_DUE and (fee := self.fee_fen(case)):
                if not any(p.status in PAID_STATES for p in await self._store.for_case(case.number)):
                    owed.append((case, fee))
        return owed

    async def request(self, case: Case, fee: int) -> Payment:
        """An order for a fee that `due` lists, payable now (made, or refreshed at the provider)."""
        number, user, now = case.number, case.user, self._clock()
        orders = await self._store.for_case(number)
        current = next((p for p in reversed(orders) if p.status is PaymentStatus.created
                        and p.expires_at > now + timedelta(minutes=5)), None)
        if current is None:
            for stale in (p for p in orders if p.status is PaymentStatus.created):
                await self._close(stale, await self._remote(stale))
            current = Payment(out_trade_no=f"{number}P{len(orders) + 1:02d}", case_number=number, user=user,
                              provider=self._provider.name, amount_fen=fee,
                              description=f"{case.target_name}"[:40] + f" {number}",
                              status=PaymentStatus.created, created_at=now,
                              expires_at=now + timedelta(minutes=self._settings.order_minutes))
            await self._store.add(current)
        fresh = current.prepared_at and now - current.prepared_at < timedelta(minutes=self._settings.prepay_minutes)
        if not fresh:
            prepay = await self._provider.create_order(OrderRequest(
                out_trade_no=current.out_trade_no, description=current.description, amount_fen=current.amount_fen,
                payer_openid=user, expires_at=current.expires_at))
            await self._store.prepared(current.out_trade_no, prepay.client_params, now)
            current = current.model_copy(update={"client_params": prepay.client_params, "prepared_at": now})
        return current

    async def receive(self, headers: Mapping[str, str], body: bytes) -> None:
        """A notification as it arrived over HTTP: verified (signature, serial, timestamp window), refused if
        this very delivery was seen before (a replay), then acted on. Raises NotificationRejected."""
        notification = self._provider.verify_notification(headers, body, self._clock())
        if not await self._store.first_delivery(notification.signature, self._clock()):
            raise NotificationRejected("replayed delivery")
        await self.on_notification(notification)

    async def orders(self, number: str) -> list[Payment]:
        return await self._store.for_case(number)

    async def order(self, out_trade_no: str) -> Payment | None:
        return await self._store.get(out_trade_no)

    async def on_notification(self, notification: Notification) -> None:
        """Act on a verified notification; repeating it changes nothing."""
        if notification.order is not None and notification.order.trade_state is TradeState.SUCCESS:
            await self._paid(notification.order)
        elif notification.refund is not None:
            payment = await self._store.get(notification.refund.out_trade_no)
            if payment is None:
                self._log.warning("refund notification for unknown order %s", notification.refund.out_trade_no)
            elif notification.refund.status is RefundStatus.SUCCESS:
                await self._refunded(payment)
            else:
                await self._store.flag(payment.out_trade_no, f"refund {notification.refund.status.value}",
                                       self._clock())
                self._log.error("refund of %s ended %s: needs a person", payment.out_trade_no,
                                notification.refund.status.value)

    async def _paid(self, order: ProviderOrder) -> None:
        """The provider says the order is paid (a notification, or a query): record it once."""
        out_trade_no, amount_fen = order.out_trade_no, order.amount_fen
        payment = await self._store.get(out_trade_no)
        if payment is None:
            self._log.warning("payment notification for unknown order %s", out_trade_no)
            return
        if payment.status is not PaymentStatus.created:
            return
        if amount_fen != payment.amount_fen:
            # never trust a notification alone for money: ask the provider before acting
            remote = await self._provider.query(out_trade_no)
            if (remote is None or remote.trade_state is not TradeState.SUCCESS
                    or remote.amount_fen != payment.amount_fen):
                await self._store.flag(out_trade_no, f"notified amount {amount_fen} != ordered {payment.amount_fen}",
                                       self._clock())
                self._log.error("payment %s: notified amount %d differs from the order's %d; not marked paid",
                                out_trade_no, amount_fen, payment.amount_fen)
                return
        if await self._store.mark_paid(out_trade_no, order.transaction_id, order.success_time or self._clock(),
                                       {"user": payment.user, "amount_fen": payment.amount_fen}):
            self._log.info("payment %s paid (%d fen)", out_trade_no, payment.amount_fen)

    async def _refunded(self, payment: Payment) -> None:
        if await self._store.mark_refunded(payment.out_trade_no, self._clock(),
                                           {"user": payment.user, "amount_fen": payment.amount_fen}):
            self._log.info("payment %s refunded", payment.out_trade_no)

    async def _remote(self, payment: Payment) -> ProviderOrder | None:
        """The provider's record of the order; one never sent to it (no prepay yet) has none."""
        return await self._provider.query(payment.out_trade_no) if payment.prepared_at else None

    async def _close(self, payment: Payment, remote: ProviderOrder | None) -> Payment:
        """Close an unpaid order at the provider (`remote`: its record there); if it turns out paid after all,
        record that instead."""
        if remote is not None and remote.trade_state in PAID_AT_PROVIDER:
            await self._paid(remote)
        else:
            if remote is not None and remote.trade_state is not TradeState.CLOSED:
                await self._provider.close(payment.out_trade_no)
            await self._store.mark_closed(payment.out_trade_no, self._clock())
        return await self._store.get(payment.out_trade_no) or payment

    async def end_case(self, number: str, reason: str) -> None:
        """The case was refused or withdrawn: close unpaid orders, refund paid ones (idempotent: the refund
        number is fixed per order, so asking twice refunds once)."""
        for payment in await self._store.for_case(number):
            if payment.status is PaymentStatus.created:
                payment = await self._close(payment, await self._remote(payment))
            if payment.status in (PaymentStatus.paid, PaymentStatus.refunding):
                refund_no = payment.refund_no or f"{payment.out_trade_no}R"
                refund = await self._provider.refund(payment.out_trade_no, refund_no, payment.amount_fen,
                                                     payment.amount_fen, reason[:80])
                await self._store.mark_refunding(payment.out_trade_no, refund_no, self._clock())
                if refund.status is RefundStatus.SUCCESS:
                    await self._refunded(payment)

    async def settle(self, limit: int = 100) -> int:
        """Query orders whose notification may have been lost: paid ones are recorded, expired ones closed,
        pending refunds confirmed. Returns how many changed."""
        now, changed = self._clock(), 0
        before = now - timedelta(minutes=self._settings.settle_after_minutes)
        for payment in (await self._store.in_status([PaymentStatus.created], before))[:limit]:
            remote = await self._remote(payment)
            if remote is not None and remote.trade_state in PAID_AT_PROVIDER:
                self._log.warning("payment %s was paid but not notified; recorded from a query", payment.out_trade_no)
                await self._paid(remote)
                changed += 1
            elif payment.expires_at <= now:
                await self._close(payment, remote)
                changed += 1
        for payment in (await self._store.in_status([PaymentStatus.refunding], before))[:limit]:
            refund = await self._provider.query_refund(payment.refund_no or "")
            if refund is not None and refund.status is RefundStatus.SUCCESS:
                await self._refunded(payment)
                changed += 1
        return changed

    async def reconcile(self, day: date) -> list[Mismatch]:
        """Compare the orders made on `day` (China time) with the provider's records."""
        start = datetime.combine(day, time(), CHINA)
        mismatches = []
        for payment in await self._store.created_between(start, start + timedelta(days=1)):
            mismatches.extend(_compare(payment, await self._remote(payment)))
        for m in mismatches:
            self._log.warning("reconciliation %s: %s %s (ours %s, provider %s)", day, m.out_trade_no, m.kind,
                              m.ours, m.theirs)
        return mismatches

    async def forget_deliveries(self, window: timedelta) -> int:
        """Drop replay fingerprints older than twice the timestamp window (older deliveries are stale anyway)."""
        return await self._store.forget_deliveries(self._clock() - 2 * window)


def _compare(payment: Payment, remote: ProviderOrder | None) -> list[Mismatch]:
    state, amount = (remote.trade_state, remote.amount_fen) if remote else (None, None)
    ours, theirs = payment.status.value, state.value if state else "-"

    def mismatch(kind: str) -> Mismatch:
        return Mismatch(payment.out_trade_no, payment.case_number, kind, ours, theirs)

    found = [mismatch("flagged")] if payment.problem else []
    if state is None:
        return found + ([mismatch("missing_at_provider")] if payment.prepared_at else [])
    if amount != payment.amount_fen:
        found.append(Mismatch(payment.out_trade_no, payment.case_number, "amount", str(payment.amount_fen),
                              str(amount)))
    paid_there = state in PAID_AT_PROVIDER
    paid_here = payment.status in PAID_STATES
    if paid_there and not paid_here:
        found.append(mismatch("paid_at_provider_only"))
    elif paid_here and not paid_there:
        found.append(mismatch("paid_here_only"))
    elif (state is TradeState.REFUND) != (payment.status is PaymentStatus.refunded):
        found.append(mismatch("refund"))
    return found


class RefundOnEnd:
    """Outbox handler: when a case is refused or withdrawn, its orders are closed or refunded. Never given up:
    a provider outage delays the refund (retried with back-off) but never loses it; supervisors of the case's
    department are told once after `alert_after` failed attempts."""

    name = "refund"

    def __init__(self, payments: Payments, cases: CaseRepository, content: Callable[[], Content],
                 alert_after: int) -> None:
        self._payments, self._cases, self._content, self._alert_after = payments, cases, content, alert_after
        self.retry = Retry(give_up_after=None, alert=Alert(after=alert_after, notice=self._stuck))

    async def handle(self, event: OutboxEvent) -> None:
        if event.type == "case.status_changed" and event.payload.get("to") in ENDED_WITHOUT_RESULT:
            await self._payments.end_case(event.case_number, str(event.payload.get("reason") or "办件终止"))

    async def _stuck(self, event: OutboxEvent, error: str, now: datetime) -> StaffNotice:
        case = await self._cases.get(event.case_number)
        item = self._content().catalog.items.get(case.item_codes[0]) if case and case.item_codes else None
        return StaffNotice(department=item.department if item else "未知部门", role=Role.supervisor,
                           kind="refund.stuck", case_number=event.case_number, created_at=now,
                           text=REFUND_STUCK.format(number=event.case_number, attempts=self._alert_after,
                                                    error=error[:200]))
