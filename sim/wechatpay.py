"""A local WeChat Pay v3 (JSAPI) simulator that signs and encrypts like the real one.

It holds its own platform key pair ("WeChat Pay public key" mode), verifies the merchant's Authorization
signatures, keeps orders and refunds in memory, signs every response and POSTs AES-256-GCM encrypted
notifications with WeChat's retry schedule. Control endpoints under /sim/ play the payer and inject faults:

    POST /sim/pay/{out_trade_no}   {"amount": 1}?   the payer pays (amount overrides what WeChat reports)
    GET  /sim/notifications                          every delivery attempt so far
    POST /sim/faults   {"kind": "server_error"|"tamper"|"disconnect"|"slow", "times": 1, "delay_seconds": 1}

Run it standalone with `python -m sim.wechatpay --port 8090`; the keys and a client configuration are
written to --keys-dir (default var/wechatpay-sim/). It never imports the client in providers/."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args
from uuid import uuid4

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from providers import wechatpay_crypto as crypto

log = logging.getLogger(__name__)

RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                                             10800, 10800, 10800, 21600, 21600)
"""Waits before each of the 15 retries of a notification (about 24 h in all), scaled by time_scale."""

FaultKind = Literal["server_error", "tamper", "disconnect", "slow"]
_OUT_TRADE_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "转入退款"}
_SUMMARY = {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功", "REFUND.ABNORMAL": "退款异常",
            "REFUND.CLOSED": "退款关闭"}
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- keys -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimKeys:
    """Everything both sides need: the merchant's key pair and serial, the platform key pair and id, the
    APIv3 key, appid and mchid. Private material is kept out of repr()."""

    appid: str
    mchid: str
    merchant_serial: str
    platform_public_key_id: str
    merchant_private_key_pem: str = field(repr=False)
    merchant_public_key_pem: str = field(repr=False)
    platform_private_key_pem: str = field(repr=False)
    platform_public_key_pem: str = field(repr=False)
    api_v3_key: str = field(repr=False)

    def client_config(self, base_url: str, notify_url: str) -> dict[str, Any]:
        """The fields of providers.wechatpay.WeChatPayConfig for a client of this simulator."""
        return {"base_url": base_url, "appid": self.appid, "mchid": self.mchid,
                "merchant_serial": self.merchant_serial, "merchant_private_key_pem": self.merchant_private_key_pem,
                "platform_public_key_pem": self.platform_public_key_pem,
                "platform_public_key_id": self.platform_public_key_id, "api_v3_key": self.api_v3_key,
                "notify_url": notify_url}


def generate_test_keys(*, appid: str = "wx8888888888888888", mchid: str = "1900000109") -> SimKeys:
    """Fresh merchant and platform RSA-2048 key pairs, a merchant serial, a PUB_KEY_ID_ and an APIv3 key."""
    merchant, platform = crypto.generate_private_key_pem(), crypto.generate_private_key_pem()
    alphabet = string.ascii_letters + string.digits
    return SimKeys(appid=appid, mchid=mchid, merchant_serial=secrets.token_hex(20).upper(),
                   platform_public_key_id="PUB_KEY_ID_01" + "".join(secrets.choice(string.digits) for _ in range(26)),
                   merchant_private_key_pem=merchant, merchant_public_key_pem=crypto.public_key_pem(merchant),
                   platform_private_key_pem=platform, platform_public_key_pem=crypto.public_key_pem(platform),
                   api_v3_key="".join(secrets.choice(alphabet) for _ in range(32)))


def load_or_create_keys(folder: Path) -> SimKeys:
    """The keys saved in folder/keys.json, or new ones saved there (private key files readable by the owner only)."""
    path = folder / "keys.json"
    if path.exists():
        return SimKeys(**json.loads(path.read_text()))
    keys = generate_test_keys()
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(path, json.dumps(asdict(keys), indent=2))
    _write_private(folder / "merchant_private_key.pem", keys.merchant_private_key_pem)
    (folder / "platform_public_key.pem").write_text(keys.platform_public_key_pem)
    return keys


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o600)


# --- records ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of a notification to a merchant's notify_url; status is None when it did not answer."""

    event_id: str
    event_type: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    nonce: str
    timestamp: str
    at: float


@dataclass
class _Order:
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
class _Refund:
    out_refund_no: str
    out_trade_no: str
    refund_id: str
    amount: int
    notify_url: str
    create_time: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    delay_seconds: float


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --- the simulator ----------------------------------------------------------------------------------

class WeChatPaySimulator:
    """WeChat Pay v3 JSAPI in one process. All state lives in the instance; `app()` serves it."""

    def __init__(self, *, appid: str, mchid: str, merchant_serial: str, merchant_public_key_pem: str,
                 platform_private_key_pem: str, platform_public_key_id: str, api_v3_key: str,
                 time_scale: float = 1.0, refund_delay_seconds: float = 0.0, notify_timeout_seconds: float = 5.0,
                 request_window_seconds: int = 300, clock: Callable[[], float] = time.time) -> None:
        self.appid, self.mchid, self.platform_public_key_id = appid, mchid, platform_public_key_id
        self._merchant_serial = merchant_serial
        self._merchant_key = crypto.load_public_key(merchant_public_key_pem)
        self._platform_key = crypto.load_private_key(platform_private_key_pem, validate=False)  # its own key
        self._api_v3_key = api_v3_key
        self._time_scale, self._refund_delay = time_scale, refund_delay_seconds
        self._notify_timeout = aiohttp.ClientTimeout(total=notify_timeout_seconds)
        self._request_window, self._clock = request_window_seconds, clock
        self._orders: dict[str, _Order] = {}
        self._refunds: dict[str, _Refund] = {}
        self._faults: list[_Fault] = []
        self._deliveries: list[DeliveryAttempt] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_keys(cls, keys: SimKeys, **options: Any) -> WeChatPaySimulator:
        """A simulator for the merchant and platform of `keys`; options as in the constructor."""
        return cls(appid=keys.appid, mchid=keys.mchid, merchant_serial=keys.merchant_serial,
                   merchant_public_key_pem=keys.merchant_public_key_pem,
                   platform_private_key_pem=keys.platform_private_key_pem,
                   platform_public_key_id=keys.platform_public_key_id, api_v3_key=keys.api_v3_key, **options)

    def app(self) -> web.Application:
        """The aiohttp application: the /v3/ API and the /sim/ control endpoints."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/v3/pay/transactions/jsapi", self._create_jsapi)
        app.router.add_get("/v3/pay/transactions/out-trade-no/{no}", self._query_order)
        app.router.add_post("/v3/pay/transactions/out-trade-no/{no}/close", self._close_order)
        app.router.add_post("/v3/refund/domestic/refunds", self._create_refund)
        app.router.add_get("/v3/refund/domestic/refunds/{no}", self._query_refund)
        app.router.add_post("/sim/pay/{no}", self._sim_pay)
        app.router.add_get("/sim/notifications", self._sim_notifications)
        app.router.add_post("/sim/faults", self._sim_faults)
        app.on_cleanup.append(self._cleanup)
        return app

    # --- test and development API ---------------------------------------------------------------------

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Every notification delivery attempt so far, oldest first."""
        return list(self._deliveries)

    def inject_fault(self, kind: FaultKind, times: int = 1, delay_seconds: float = 1.0) -> None:
        """Make the next `times` /v3/ requests fail: 500 SYSTEM_ERROR, a body changed after signing, a
        dropped connection, or an answer delayed by delay_seconds."""
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault {kind!r}")
        self._faults.append(_Fault(kind, times, delay_seconds))

    def pay(self, out_trade_no: str, amount: int | None = None) -> dict[str, Any]:
        """The payer pays: the order turns SUCCESS and a TRANSACTION.SUCCESS notification goes out in the
        background. `amount` makes WeChat report another total (a tampered amount). Returns the transaction."""
        order = self._order_or_404(out_trade_no)
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "ORDERPAID", "该订单已支付")
        if order.trade_state == "CLOSED":
            raise _ApiError(400, "ORDERCLOSED", "该订单已关闭")
        if self._now() > order.time_expire:
            raise _ApiError(400, "ORDERCLOSED", "订单已过期")
        order.trade_state, order.success_time = "SUCCESS", self._now()
        order.transaction_id = "4200" + _digits(24)
        order.reported_total = order.total if amount is None else amount
        transaction = self.transaction_resource(out_trade_no)
        self.send_notification(order.notify_url, "TRANSACTION.SUCCESS", transaction)
        return transaction

    def transaction_resource(self, out_trade_no: str) -> dict[str, Any]:
        """The transaction object of an order, as queries answer and notifications carry it."""
        order = self._order_or_404(out_trade_no)
        amount: dict[str, Any] = {"total": order.reported_total or order.total, "currency": "CNY"}
        data: dict[str, Any] = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": order.out_trade_no,
                                "trade_type": "JSAPI", "trade_state": order.trade_state,
                                "trade_state_desc": _TRADE_STATE_DESC[order.trade_state],
                                "payer": {"openid": order.openid}, "amount": amount}
        if order.transaction_id and order.success_time:
            data.update(transaction_id=order.transaction_id, bank_type="OTHERS", attach="",
                        success_time=crypto.format_time(order.success_time))
            amount.update(payer_total=order.reported_total, payer_currency="CNY")
        return data

    def refund_resource(self, out_refund_no: str) -> dict[str, Any]:
        """The refund object as a REFUND.* notification carries it (`refund_status`)."""
        refund = self._refund_or_404(out_refund_no)
        order = self._orders[refund.out_trade_no]
        data: dict[str, Any] = {"mchid": self.mchid, "transaction_id": order.transaction_id,
                                "out_trade_no": refund.out_trade_no, "refund_id": refund.refund_id,
                                "out_refund_no": refund.out_refund_no, "refund_status": refund.status,
                                "user_received_account": "支付用户零钱",
                                "amount": {"total": order.total, "refund": refund.amount,
                                           "payer_total": order.total, "payer_refund": refund.amount}}
        if refund.success_time:
            data["success_time"] = crypto.format_time(refund.success_time)
        return data

    def build_notification(self, event_type: str, resource: Mapping[str, Any], *, timestamp: int | None = None,
                           nonce: str | None = None, sign_with: str | rsa.RSAPrivateKey | None = None,
                           serial: str | None = None, event_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification carrying `resource` (encrypted with the APIv3 key). Tests pass
        an old timestamp, another signing key or another serial to forge one; sending the same bytes twice
        is a replay."""
        body = self._event_body(event_type, resource, event_id or str(uuid4()))
        return self.sign_notification(body, timestamp=timestamp, nonce=nonce, sign_with=sign_with,
                                      serial=serial), body

    def sign_notification(self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None,
                          sign_with: str | rsa.RSAPrivateKey | None = None,
                          serial: str | None = None) -> dict[str, str]:
        """Fresh Wechatpay-* headers for a notification body (by default a new timestamp and nonce, signed
        with the platform key)."""
        if isinstance(sign_with, str):
            key = crypto.load_private_key(sign_with, validate=False)  # a test's forger key
        else:
            key = sign_with or self._platform_key
        stamp, nonce = str(int(self._clock()) if timestamp is None else timestamp), nonce or crypto.new_nonce()
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": crypto.sign(key, crypto.response_message(stamp, nonce, body)),
                "Wechatpay-Serial": serial or self.platform_public_key_id,
                "Wechatpay-Signature-Type": crypto.AUTH_SCHEME}

    def send_notification(self, url: str, event_type: str, resource: Mapping[str, Any]) -> str:
        """Deliver a notification in the background, retrying on failure; returns its event id."""
        event_id = str(uuid4())
        self._spawn(self._deliver(url, event_id, event_type, self._event_body(event_type, resource, event_id)))
        return event_id

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every background delivery and delayed refund has finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} background tasks still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def aclose(self) -> None:
        """Cancel background work and close the notification HTTP session (also done on app cleanup)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- HTTP plumbing --------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        fault: _Fault | None = None
        try:
            if request.path.startswith("/v3/"):
                await self._authenticate(request)
                fault = self._take_fault()
            response = await self._handle(request, handler, fault)
        except _ApiError as exc:
            response = _error(exc.status, exc.code, exc.message)
        except web.HTTPException as exc:
            response = _error(exc.status, "NOT_FOUND" if exc.status == 404 else "PARAM_ERROR", exc.reason)
        return self._sign_response(response, tamper=fault is not None and fault.kind == "tamper")

    async def _handle(self, request: web.Request, handler: _Handler, fault: _Fault | None) -> web.StreamResponse:
        if fault is None or fault.kind == "tamper":
            return await handler(request)
        if fault.kind == "server_error":
            return _error(500, "SYSTEM_ERROR", "系统错误")
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_seconds)
            return await handler(request)
        if request.transport is not None:  # disconnect: the client sees the connection drop
            request.transport.abort()
        raise asyncio.CancelledError

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.pop(0)
        return fault

    async def _authenticate(self, request: web.Request) -> None:
        """Check the merchant's Authorization header against the merchant public key (401 SIGN_ERROR)."""
        try:
            auth = crypto.parse_authorization(request.headers.get("Authorization", ""))
        except ValueError as exc:
            raise _ApiError(401, "SIGN_ERROR", f"Authorization 格式错误: {exc}") from exc
        if auth["mchid"] != self.mchid:
            raise _ApiError(401, "SIGN_ERROR", "商户号与签名不符")
        if auth["serial_no"] != self._merchant_serial:
            raise _ApiError(401, "SIGN_ERROR", "商户证书序列号有误")
        if not auth["timestamp"].isdigit() or abs(self._clock() - int(auth["timestamp"])) > self._request_window:
            raise _ApiError(401, "SIGN_ERROR", "签名时间戳已过期")
        message = crypto.request_message(request.method, request.raw_path, auth["timestamp"], auth["nonce_str"],
                                         await request.read())
        if not crypto.verify(self._merchant_key, message, auth["signature"]):
            raise _ApiError(401, "SIGN_ERROR", "签名错误")

    def _sign_response(self, response: web.StreamResponse, *, tamper: bool) -> web.StreamResponse:
        body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
        stamp, nonce = str(int(self._clock())), crypto.new_nonce()
        signature = crypto.sign(self._platform_key, crypto.response_message(stamp, nonce, body))
        response.headers.update({"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                                 "Wechatpay-Signature": signature, "Wechatpay-Serial": self.platform_public_key_id,
                                 "Request-ID": str(uuid4())})
        if tamper and body and isinstance(response, web.Response):
            response.body = body + b" "   # the same JSON in other bytes: the signature no longer matches
        elif tamper:
            response.headers["Wechatpay-Signature"] = crypto.sign(self._platform_key, b"something else")
        return response

    # --- /v3/ handlers --------------------------------------------------------------------------------

    async def _create_jsapi(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        order = self._new_order(data)
        existing = self._orders.get(order.out_trade_no)
        if existing is not None:
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise _ApiError(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise _ApiError(400, "ORDERCLOSED", "该订单已关闭")
            if existing.params != data:
                raise _ApiError(400, "INVALID_REQUEST", "商户订单号重复")
        else:
            self._orders[order.out_trade_no] = order
        return _json(200, {"prepay_id": f"wx{self._now():%d%H%M%S}{secrets.token_hex(13)}"})

    async def _query_order(self, request: web.Request) -> web.Response:
        if request.query.get("mchid") != self.mchid:
            raise _ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        return _json(200, self.transaction_resource(request.match_info["no"]))

    async def _close_order(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        if data.get("mchid") != self.mchid:
            raise _ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        order = self._order_or_404(request.match_info["no"])
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"
        return web.Response(status=204)

    async def _create_refund(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        out_refund_no, out_trade_no = _get(data, "out_refund_no", kind=str), _get(data, "out_trade_no", kind=str)
        amount, total = _get(data, "amount", "refund", kind=int), _get(data, "amount", "total", kind=int)
        if _get(data, "amount", "currency", kind=str) != "CNY" or amount < 1 or len(out_refund_no) > 64:
            raise _ApiError(400, "PARAM_ERROR", "参数错误")
        existing = self._refunds.get(out_refund_no)
        if existing is not None:
            if (existing.out_trade_no, existing.amount) != (out_trade_no, amount):
                raise _ApiError(400, "INVALID_REQUEST", "退款单号重复")
            return _json(200, self._refund_json(existing))
        order = self._orders.get(out_trade_no)
        if order is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        self._check_refundable(order, amount, total)
        refund = _Refund(out_refund_no, out_trade_no, "5030" + _digits(25), amount,
                         str(data.get("notify_url") or order.notify_url), self._now())
        self._refunds[out_refund_no] = refund
        order.refunded += amount
        order.trade_state = "REFUND"
        if self._refund_delay <= 0:
            self._complete_refund(refund)
        else:
            self._spawn(self._complete_refund_later(refund))
        return _json(200, self._refund_json(refund))

    async def _query_refund(self, request: web.Request) -> web.Response:
        return _json(200, self._refund_json(self._refund_or_404(request.match_info["no"])))

    # --- /sim/ handlers -------------------------------------------------------------------------------

    async def _sim_pay(self, request: web.Request) -> web.Response:
        data = await _json_body(request) if await request.read() else {}
        amount = data.get("amount")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
            raise _ApiError(400, "PARAM_ERROR", "amount must be an integer (fen)")
        return _json(200, self.pay(request.match_info["no"], amount))

    async def _sim_notifications(self, request: web.Request) -> web.Response:
        return _json(200, {"deliveries": [asdict(attempt) for attempt in self._deliveries]})

    async def _sim_faults(self, request: web.Request) -> web.Response:
        data = await _json_body(request)
        try:
            self.inject_fault(str(data.get("kind")), int(data.get("times", 1)),  # type: ignore[arg-type]  # checked
                              float(data.get("delay_seconds", 1.0)))
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, "PARAM_ERROR", str(exc)) from exc
        return _json(200, {"faults": len(self._faults)})

    # --- orders and refunds ---------------------------------------------------------------------------

    def _new_order(self, data: dict[str, Any]) -> _Order:
        """Validate a JSAPI order request the way WeChat does (400 PARAM_ERROR / APPID_MCHID_NOT_MATCH)."""
        appid, mchid = _get(data, "appid", kind=str), _get(data, "mchid", kind=str)
        if mchid != self.mchid:
            raise _ApiError(400, "PARAM_ERROR", "mchid 与签名商户号不一致")
        if appid != self.appid:
            raise _ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        description, out_trade_no = _get(data, "description", kind=str), _get(data, "out_trade_no", kind=str)
        notify_url, total = _get(data, "notify_url", kind=str), _get(data, "amount", "total", kind=int)
        openid = _get(data, "payer", "openid", kind=str)
        if len(description) > 127 or not _OUT_TRADE_NO.match(out_trade_no) or total < 1:
            raise _ApiError(400, "PARAM_ERROR", "参数格式校验错误")
        if data["amount"].get("currency", "CNY") != "CNY" or not notify_url.startswith(("https://", "http://")):
            raise _ApiError(400, "PARAM_ERROR", "参数格式校验错误")
        try:
            time_expire = crypto.parse_time(_get(data, "time_expire", kind=str))
        except ValueError as exc:
            raise _ApiError(400, "PARAM_ERROR", "time_expire 格式错误") from exc
        return _Order(out_trade_no, data, openid, total, notify_url, time_expire)

    def _check_refundable(self, order: _Order, amount: int, total: int) -> None:
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise _ApiError(400, "INVALID_REQUEST", "订单金额与实际不符")
        if order.refunded + amount > order.total:
            raise _ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")

    def _complete_refund(self, refund: _Refund) -> None:
        refund.status, refund.success_time = "SUCCESS", self._now()
        self.send_notification(refund.notify_url, "REFUND.SUCCESS", self.refund_resource(refund.out_refund_no))

    async def _complete_refund_later(self, refund: _Refund) -> None:
        await asyncio.sleep(self._refund_delay)
        self._complete_refund(refund)

    def _refund_json(self, refund: _Refund) -> dict[str, Any]:
        order = self._orders[refund.out_trade_no]
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

    def _order_or_404(self, out_trade_no: str) -> _Order:
        order = self._orders.get(out_trade_no)
        if order is None:
            raise _ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def _refund_or_404(self, out_refund_no: str) -> _Refund:
        refund = self._refunds.get(out_refund_no)
        if refund is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    # --- notifications --------------------------------------------------------------------------------

    def _event_body(self, event_type: str, resource: Mapping[str, Any], event_id: str) -> bytes:
        original_type = "transaction" if event_type.startswith("TRANSACTION.") else "refund"
        nonce = crypto.new_nonce(12)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        event = {"id": event_id, "create_time": crypto.format_time(self._now()), "resource_type": "encrypt-resource",
                 "event_type": event_type, "summary": _SUMMARY.get(event_type, "通知"),
                 "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                              "ciphertext": crypto.encrypt_resource(self._api_v3_key, plaintext, nonce, original_type),
                              "associated_data": original_type, "nonce": nonce}}
        return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()

    async def _deliver(self, url: str, event_id: str, event_type: str, body: bytes) -> None:
        """POST until a 2xx answer: once, then after each wait of RETRY_SCHEDULE_SECONDS, freshly signed."""
        for attempt, wait in enumerate((0.0, *RETRY_SCHEDULE_SECONDS), start=1):
            if wait:
                await asyncio.sleep(wait * self._time_scale)
            headers = self.sign_notification(body)
            status, error = await self._post(url, headers, body)
            self._deliveries.append(DeliveryAttempt(event_id, event_type, url, attempt, status, error,
                                                    headers["Wechatpay-Nonce"], headers["Wechatpay-Timestamp"],
                                                    self._clock()))
            if status is not None and 200 <= status < 300:
                return
            log.info("notification %s attempt %d to %s failed: %s", event_id, attempt, url, error or status)
        log.warning("notification %s given up after %d attempts", event_id, len(RETRY_SCHEDULE_SECONDS) + 1)

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int | None, str | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=self._notify_timeout) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, type(exc).__name__

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cleanup(self, app: web.Application) -> None:
        await self.aclose()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), crypto.CHINA_TZ)


# --- small helpers ----------------------------------------------------------------------------------

def _json(status: int, data: Mapping[str, Any]) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def _error(status: int, code: str, message: str) -> web.Response:
    return _json(status, {"code": code, "message": message})


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except ValueError as exc:
        raise _ApiError(400, "PARAM_ERROR", "请求体不是合法的JSON") from exc
    if not isinstance(data, dict):
        raise _ApiError(400, "PARAM_ERROR", "请求体不是JSON对象")
    return data


def _get(data: Mapping[str, Any], *path: str, kind: type) -> Any:
    """data[path…] when present, non-empty and of type kind, else 400 PARAM_ERROR naming the field."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise _ApiError(400, "PARAM_ERROR", f"输入源“/body/{'/'.join(path)}”校验失败，此字段为必填项或格式错误")
    return value


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


# --- standalone -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    """Serve the simulator; keys and a client configuration (WeChatPayConfig fields) go to --keys-dir."""
    parser = argparse.ArgumentParser(prog="python -m sim.wechatpay", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--keys-dir", type=Path, default=Path("var/wechatpay-sim"))
    parser.add_argument("--notify-url", default="http://127.0.0.1:8080/api/v1/payments/wechat/notify",
                        help="notify_url written into the client configuration")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies the notification retry waits")
    parser.add_argument("--refund-delay", type=float, default=0.0, help="seconds before a refund turns SUCCESS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    folder = args.keys_dir.resolve()
    keys = load_or_create_keys(folder)
    base_url = f"http://{args.host}:{args.port}"
    _write_private(folder / "client-config.json",
                   json.dumps(keys.client_config(base_url, args.notify_url), indent=2, ensure_ascii=False))
    _write_private(folder / "app.env", _app_env(keys, folder, base_url, args.notify_url))
    print(f"WeChat Pay simulator on {base_url}\n"
          f"  app settings (ZWB_PAYMENTS__*): {folder / 'app.env'}  (set -a; . {folder / 'app.env'}; set +a)\n"
          f"  WeChatPayConfig fields as JSON: {folder / 'client-config.json'}\n"
          f"  merchant private key: {folder / 'merchant_private_key.pem'}\n"
          f"  platform public key:  {folder / 'platform_public_key.pem'} ({keys.platform_public_key_id})\n"
          f"  all keys: {folder / 'keys.json'}\n"
          f"  pay an order: curl -X POST {base_url}/sim/pay/<out_trade_no>", flush=True)
    simulator = WeChatPaySimulator.from_keys(keys, time_scale=args.time_scale, refund_delay_seconds=args.refund_delay)
    web.run_app(simulator.app(), host=args.host, port=args.port, print=None)


def _app_env(keys: SimKeys, folder: Path, base_url: str, notify_url: str) -> str:
    """Environment overrides that point the app (bot/config.py, payments.wechatpay) at this simulator."""
    values = {"PROVIDER": "wechatpay", "WECHATPAY__BASE_URL": base_url, "WECHATPAY__APPID": keys.appid,
              "WECHATPAY__MCHID": keys.mchid, "WECHATPAY__MERCHANT_SERIAL": keys.merchant_serial,
              "WECHATPAY__MERCHANT_PRIVATE_KEY_PATH": str(folder / "merchant_private_key.pem"),
              "WECHATPAY__PLATFORM_PUBLIC_KEY_PATH": str(folder / "platform_public_key.pem"),
              "WECHATPAY__PLATFORM_PUBLIC_KEY_ID": keys.platform_public_key_id,
              "WECHATPAY__API_V3_KEY": keys.api_v3_key, "WECHATPAY__NOTIFY_URL": notify_url}
    return "".join(f"ZWB_PAYMENTS__{name}={value}\n" for name, value in values.items())


if __name__ == "__main__":
    main()
