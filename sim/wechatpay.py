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
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args
from uuid import uuid4

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from providers import wechatpay_crypto as crypto
from sim.wechatpay_keys import SimKeys, load_or_create_keys, write_client_files
from sim.wechatpay_http import ApiError, digits, error, field, json_body, json_response
from sim.wechatpay_notify import DeliveryAttempt, Notifier
from sim.wechatpay_records import Order, Refund, refund_json, refund_notice_json, transaction_json

FaultKind = Literal["server_error", "tamper", "disconnect", "slow"]
_OUT_TRADE_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- records ----------------------------------------------------------------------------------------

@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    delay_seconds: float


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
        self._refund_delay = refund_delay_seconds
        self._request_window, self._clock = request_window_seconds, clock
        self._notifier = Notifier(platform_key=self._platform_key, platform_public_key_id=platform_public_key_id,
                                  api_v3_key=api_v3_key, clock=clock, time_scale=time_scale,
                                  timeout_seconds=notify_timeout_seconds)
        self._orders: dict[str, Order] = {}
        self._refunds: dict[str, Refund] = {}
        self._faults: list[_Fault] = []

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
        return self._notifier.deliveries

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
            raise ApiError(400, "ORDERPAID", "该订单已支付")
        if order.trade_state == "CLOSED":
            raise ApiError(400, "ORDERCLOSED", "该订单已关闭")
        if self._now() > order.time_expire:
            raise ApiError(400, "ORDERCLOSED", "订单已过期")
        order.trade_state, order.success_time = "SUCCESS", self._now()
        order.transaction_id = "4200" + digits(24)
        order.reported_total = order.total if amount is None else amount
        transaction = self.transaction_resource(out_trade_no)
        self.send_notification(order.notify_url, "TRANSACTION.SUCCESS", transaction)
        return transaction

    def transaction_resource(self, out_trade_no: str) -> dict[str, Any]:
        """The transaction object of an order, as queries answer and notifications carry it."""
        return transaction_json(self._order_or_404(out_trade_no), self.appid, self.mchid)

    def refund_resource(self, out_refund_no: str) -> dict[str, Any]:
        """The refund object as a REFUND.* notification carries it (`refund_status`)."""
        refund = self._refund_or_404(out_refund_no)
        return refund_notice_json(refund, self._orders[refund.out_trade_no], self.mchid)

    def build_notification(self, event_type: str, resource: Mapping[str, Any], *, timestamp: int | None = None,
                           nonce: str | None = None, sign_with: str | rsa.RSAPrivateKey | None = None,
                           serial: str | None = None, event_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification carrying `resource` (encrypted with the APIv3 key). Tests pass
        an old timestamp, another signing key or another serial to forge one; sending the same bytes twice
        is a replay."""
        return self._notifier.build(event_type, resource, timestamp=timestamp, nonce=nonce, sign_with=sign_with,
                                    serial=serial, event_id=event_id)

    def sign_notification(self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None,
                          sign_with: str | rsa.RSAPrivateKey | None = None,
                          serial: str | None = None) -> dict[str, str]:
        """Fresh Wechatpay-* headers for a notification body (by default a new timestamp and nonce, signed
        with the platform key)."""
        return self._notifier.sign(body, timestamp=timestamp, nonce=nonce, sign_with=sign_with, serial=serial)

    def send_notification(self, url: str, event_type: str, resource: Mapping[str, Any]) -> str:
        """Deliver a notification in the background, retrying on failure; returns its event id."""
        return self._notifier.send(url, event_type, resource)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every background delivery and delayed refund has finished."""
        await self._notifier.drain(timeout)

    async def aclose(self) -> None:
        """Cancel background work and close the notification HTTP session (also done on app cleanup)."""
        await self._notifier.aclose()

    # --- HTTP plumbing --------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        fault: _Fault | None = None
        try:
            if request.path.startswith("/v3/"):
                await self._authenticate(request)
                fault = self._take_fault()
            response = await self._handle(request, handler, fault)
        except ApiError as exc:
            response = error(exc.status, exc.code, exc.message)
        except web.HTTPException as exc:
            response = error(exc.status, "NOT_FOUND" if exc.status == 404 else "PARAM_ERROR", exc.reason)
        return self._sign_response(response, tamper=fault is not None and fault.kind == "tamper")

    async def _handle(self, request: web.Request, handler: _Handler, fault: _Fault | None) -> web.StreamResponse:
        if fault is None or fault.kind == "tamper":
            return await handler(request)
        if fault.kind == "server_error":
            return error(500, "SYSTEM_ERROR", "系统错误")
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
            raise ApiError(401, "SIGN_ERROR", f"Authorization 格式错误: {exc}") from exc
        if auth["mchid"] != self.mchid:
            raise ApiError(401, "SIGN_ERROR", "商户号与签名不符")
        if auth["serial_no"] != self._merchant_serial:
            raise ApiError(401, "SIGN_ERROR", "商户证书序列号有误")
        if not auth["timestamp"].isdigit() or abs(self._clock() - int(auth["timestamp"])) > self._request_window:
            raise ApiError(401, "SIGN_ERROR", "签名时间戳已过期")
        message = crypto.request_message(request.method, request.raw_path, auth["timestamp"], auth["nonce_str"],
                                         await request.read())
        if not crypto.verify(self._merchant_key, message, auth["signature"]):
            raise ApiError(401, "SIGN_ERROR", "签名错误")

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
        data = await json_body(request)
        order = self._new_order(data)
        existing = self._orders.get(order.out_trade_no)
        if existing is not None:
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise ApiError(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise ApiError(400, "ORDERCLOSED", "该订单已关闭")
            if existing.params != data:
                raise ApiError(400, "INVALID_REQUEST", "商户订单号重复")
        else:
            self._orders[order.out_trade_no] = order
        return json_response(200, {"prepay_id": f"wx{self._now():%d%H%M%S}{secrets.token_hex(13)}"})

    async def _query_order(self, request: web.Request) -> web.Response:
        if request.query.get("mchid") != self.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        return json_response(200, self.transaction_resource(request.match_info["no"]))

    async def _close_order(self, request: web.Request) -> web.Response:
        data = await json_body(request)
        if data.get("mchid") != self.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        order = self._order_or_404(request.match_info["no"])
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise ApiError(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"
        return web.Response(status=204)

    async def _create_refund(self, request: web.Request) -> web.Response:
        data = await json_body(request)
        out_refund_no, out_trade_no = field(data, "out_refund_no", kind=str), field(data, "out_trade_no", kind=str)
        amount, total = field(data, "amount", "refund", kind=int), field(data, "amount", "total", kind=int)
        if field(data, "amount", "currency", kind=str) != "CNY" or amount < 1 or len(out_refund_no) > 64:
            raise ApiError(400, "PARAM_ERROR", "参数错误")
        existing = self._refunds.get(out_refund_no)
        if existing is not None:
            if (existing.out_trade_no, existing.amount) != (out_trade_no, amount):
                raise ApiError(400, "INVALID_REQUEST", "退款单号重复")
            return json_response(200, self._refund_json(existing))
        order = self._orders.get(out_trade_no)
        if order is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        self._check_refundable(order, amount, total)
        refund = Refund(out_refund_no, out_trade_no, "5030" + digits(25), amount,
                         str(data.get("notify_url") or order.notify_url), self._now())
        self._refunds[out_refund_no] = refund
        order.refunded += amount
        order.trade_state = "REFUND"
        if self._refund_delay <= 0:
            self._complete_refund(refund)
        else:
            self._notifier.spawn(self._complete_refund_later(refund))
        return json_response(200, self._refund_json(refund))

    async def _query_refund(self, request: web.Request) -> web.Response:
        return json_response(200, self._refund_json(self._refund_or_404(request.match_info["no"])))

    # --- /sim/ handlers -------------------------------------------------------------------------------

    async def _sim_pay(self, request: web.Request) -> web.Response:
        data = await json_body(request) if await request.read() else {}
        amount = data.get("amount")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
            raise ApiError(400, "PARAM_ERROR", "amount must be an integer (fen)")
        return json_response(200, self.pay(request.match_info["no"], amount))

    async def _sim_notifications(self, request: web.Request) -> web.Response:
        return json_response(200, {"deliveries": [asdict(attempt) for attempt in self.deliveries]})

    async def _sim_faults(self, request: web.Request) -> web.Response:
        data = await json_body(request)
        try:
            self.inject_fault(str(data.get("kind")), int(data.get("times", 1)),  # type: ignore[arg-type]  # checked
                              float(data.get("delay_seconds", 1.0)))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "PARAM_ERROR", str(exc)) from exc
        return json_response(200, {"faults": len(self._faults)})

    # --- orders and refunds ---------------------------------------------------------------------------

    def _new_order(self, data: dict[str, Any]) -> Order:
        """Validate a JSAPI order request the way WeChat does (400 PARAM_ERROR / APPID_MCHID_NOT_MATCH)."""
        appid, mchid = field(data, "appid", kind=str), field(data, "mchid", kind=str)
        if mchid != self.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 与签名商户号不一致")
        if appid != self.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        description, out_trade_no = field(data, "description", kind=str), field(data, "out_trade_no", kind=str)
        notify_url, total = field(data, "notify_url", kind=str), field(data, "amount", "total", kind=int)
        openid = field(data, "payer", "openid", kind=str)
        if len(description) > 127 or not _OUT_TRADE_NO.match(out_trade_no) or total < 1:
            raise ApiError(400, "PARAM_ERROR", "参数格式校验错误")
        if data["amount"].get("currency", "CNY") != "CNY" or not notify_url.startswith(("https://", "http://")):
            raise ApiError(400, "PARAM_ERROR", "参数格式校验错误")
        try:
            time_expire = crypto.parse_time(field(data, "time_expire", kind=str))
        except ValueError as exc:
            raise ApiError(400, "PARAM_ERROR", "time_expire 格式错误") from exc
        return Order(out_trade_no, data, openid, total, notify_url, time_expire)

    def _check_refundable(self, order: Order, amount: int, total: int) -> None:
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise ApiError(400, "INVALID_REQUEST", "订单金额与实际不符")
        if order.refunded + amount > order.total:
            raise ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")

    def _complete_refund(self, refund: Refund) -> None:
        refund.status, refund.success_time = "SUCCESS", self._now()
        self.send_notification(refund.notify_url, "REFUND.SUCCESS", self.refund_resource(refund.out_refund_no))

    async def _complete_refund_later(self, refund: Refund) -> None:
        await asyncio.sleep(self._refund_delay)
        self._complete_refund(refund)

    def _refund_json(self, refund: Refund) -> dict[str, Any]:
        return refund_json(refund, self._orders[refund.out_trade_no])

    def _order_or_404(self, out_trade_no: str) -> Order:
        order = self._orders.get(out_trade_no)
        if order is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def _refund_or_404(self, out_refund_no: str) -> Refund:
        refund = self._refunds.get(out_refund_no)
        if refund is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    async def _cleanup(self, app: web.Application) -> None:
        await self.aclose()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), crypto.CHINA_TZ)


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
    write_client_files(folder, keys, base_url, args.notify_url)
    print(f"WeChat Pay simulator on {base_url}\n"
          f"  app settings (ZWB_PAYMENTS__*): {folder / 'app.env'}  (set -a; . {folder / 'app.env'}; set +a)\n"
          f"  WeChatPayConfig fields as JSON: {folder / 'client-config.json'}\n"
          f"  merchant private key: {folder / 'merchant_private_key.pem'}\n"
          f"  platform public key:  {folder / 'platform_public_key.pem'} ({keys.platform_public_key_id})\n"
          f"  all keys: {folder / 'keys.json'}\n"
          f"  pay an order: curl -X POST {base_url}/sim/pay/<out_trade_no>", flush=True)
    simulator = WeChatPaySimulator.from_keys(keys, time_scale=args.time_scale, refund_delay_seconds=args.refund_delay)
    web.run_app(simulator.app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
