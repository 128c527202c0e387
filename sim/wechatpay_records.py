"""The WeChat Pay simulator's orders and refunds, and the JSON shapes the v3 API gives them (queries, refund
answers and the resources notifications carry)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers import wechatpay_crypto as crypto

_TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "转入退款"}


@dataclass
class Order:
    """A JSAPI order as the simulator keeps it."""


    out_trade_no: str
    params: dict[str, Any]            # the create request as received, for the duplicate check
    openid: str
    total: int
    notify_url: str
    time_expire: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    reported_total: int | None = None  # what WeChat reports once paid (the /sim/pay amount override)
    refunded: int = 0


@dataclass
class Refund:
    """A refund of an order as the simulator keeps it."""


    out_refund_no: str
    out_trade_no: str
    refund_id: str
    amount: int
    notify_url: str
    create_time: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


def transaction_json(order: Order, appid: str, mchid: str) -> dict[str, Any]:
    """The transaction object of an order, as queries answer and notifications carry it."""
    amount: dict[str, Any] = {"total": order.reported_total or order.total, "currency": "CNY"}
    data: dict[str, Any] = {"appid": appid, "mchid": mchid, "out_trade_no": order.out_trade_no,
                            "trade_type": "JSAPI", "trade_state": order.trade_state,
                            "trade_state_desc": _TRADE_STATE_DESC[order.trade_state],
                            "payer": {"openid": order.openid}, "amount": amount}
    if order.transaction_id and order.success_time:
        data.update(transaction_id=order.transaction_id, bank_type="OTHERS", attach="",
                    success_time=crypto.format_time(order.success_time))
        amount.update(payer_total=order.reported_total, payer_currency="CNY")
    return data


def refund_notice_json(refund: Refund, order: Order, mchid: str) -> dict[str, Any]:
    """The refund object as a REFUND.* notification carries it (`refund_status`)."""
    data: dict[str, Any] = {"mchid": mchid, "transaction_id": order.transaction_id,
                            "out_trade_no": refund.out_trade_no, "refund_id": refund.refund_id,
                            "out_refund_no": refund.out_refund_no, "refund_status": refund.status,
                            "user_received_account": "支付用户零钱",
                            "amount": {"total": order.total, "refund": refund.amount,
                                       "payer_total": order.total, "payer_refund": refund.amount}}
    if refund.success_time:
        data["success_time"] = crypto.format_time(refund.success_time)
    return data


def refund_json(refund: Refund, order: Order) -> dict[str, Any]:
    """The refund as the refund API answers it (create and query)."""
    data: dict[str, Any] = {
        "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
        "transaction_id": order.transaction_id, "out_trade_no": refund.out_trade_no, "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱", "create_time": crypto.format_time(refund.create_time),
        "status": refund.status, "funds_account": "AVAILABLE",
        "amount": {"total": order.total, "refund": refund.amount, "payer_total": order.total,
                   "payer_refund": refund.amount, "settlement_total": order.total,
                   "settlement_refund": refund.amount, "discount_refund": 0, "currency": "CNY", "refund_fee": 0},
        "promotion_detail": []}
    if refund.success_time:
        data["success_time"] = crypto.format_time(refund.success_time)
    return data
