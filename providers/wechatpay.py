"""WeChat Pay v3 JSAPI, as a `PaymentProvider`: a thin client on aiohttp and `cryptography` in "WeChat Pay
public key" mode (the platform public key and its id PUB_KEY_ID_… are configured; no certificate download).

The base URL is configurable so that tests and development run against `sim.wechatpay`. Request bodies
and keys are never logged: openids and amounts stay out of the log, only method, path, status and code."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yarl import URL

from bot.payments.ports import (Notification, NotificationRejected, OrderRequest, PaymentRefused,
                                PaymentUnavailable, Prepay, ProviderOrder, ProviderRefund)
from providers import wechatpay_crypto as crypto

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_SIGNATURE_HEADERS = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial")
_NOT_FOUND_CODES = frozenset({"ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"})


class WeChatPayConfig(BaseModel):
    """Merchant settings. Keys are PEM text; they never appear in repr() or validation errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    base_url: str = "https://api.mch.weixin.qq.com"
    appid: str
    mchid: str
    merchant_serial: str                                   # serial number of the merchant API certificate
    merchant_private_key_pem: str = Field(repr=False)
    platform_public_key_pem: str = Field(repr=False)       # the "WeChat Pay public key"
    platform_public_key_id: str                            # PUB_KEY_ID_…
    api_v3_key: str = Field(repr=False)
    notify_url: str
    timestamp_window_seconds: int = Field(default=300, gt=0)
    timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("api_v3_key")
    @classmethod
    def _key_is_32_bytes(cls, value: str) -> str:
        if len(value.encode()) != 32:
            raise ValueError("the APIv3 key must be 32 ASCII characters")
        return value


class WeChatPayError(PaymentRefused):
    """WeChat Pay refused the request (4xx): `code` is WeChat's error code, e.g. PARAM_ERROR, ORDERPAID."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class InvalidResponseSignature(PaymentUnavailable):
    """A response whose signature does not verify: its body is not trusted. Being a PaymentUnavailable, the
    domain retries later (and the query-before-trusting rule still holds)."""


@dataclass(frozen=True)
class _Reply:
    status: int
    data: dict[str, Any]


class WeChatPayV3:
    """PaymentProvider for WeChat Pay v3 JSAPI (mini-program payments). The caller owns `session`."""

    name = "wechatpay"

    def __init__(self, config: WeChatPayConfig, session: aiohttp.ClientSession) -> None:
        self._config = config
        self._session = session
        self._merchant_key = crypto.load_private_key(config.merchant_private_key_pem)
        self._platform_key = crypto.load_public_key(config.platform_public_key_pem)
        self._base_url = config.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)

    # --- PaymentProvider ------------------------------------------------------------------------------

    async def create_order(self, order: OrderRequest) -> Prepay:
        """Place a JSAPI order and return the signed wx.requestPayment arguments."""
        cfg = self._config
        payload = {
            "appid": cfg.appid, "mchid": cfg.mchid, "description": order.description,
            "out_trade_no": order.out_trade_no, "time_expire": crypto.format_time(order.expires_at),
            "notify_url": cfg.notify_url, "amount": {"total": order.amount_fen, "currency": "CNY"},
            "payer": {"openid": order.payer_openid},
        }
        reply = await self._call("POST", "/v3/pay/transactions/jsapi", payload)
        prepay_id = reply.data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise PaymentUnavailable("WeChat Pay answered without a prepay_id")
        return Prepay(prepay_id=prepay_id, client_params=self.request_payment_params(prepay_id))

    async def query(self, out_trade_no: str) -> ProviderOrder | None:
        """The order as WeChat Pay knows it, None when it does not exist."""
        path = f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}?mchid={quote(self._config.mchid)}"
        try:
            reply = await self._call("GET", path, None)
        except WeChatPayError as exc:
            if exc.status == 404 and exc.code in _NOT_FOUND_CODES:
                return None
            raise
        return _parse_response(order_from_json, reply.data)

    async def close(self, out_trade_no: str) -> None:
        """Close an unpaid order. An order WeChat Pay never saw counts as closed; a paid one raises
        WeChatPayError(400, "ORDERPAID")."""
        path = f"/v3/pay/transactions/out-trade-no/{_segment(out_trade_no)}/close"
        try:
            await self._call("POST", path, {"mchid": self._config.mchid})
        except WeChatPayError as exc:
            if not (exc.status == 404 and exc.code in _NOT_FOUND_CODES):
                raise

    async def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
                     reason: str) -> ProviderRefund:
        """Ask for a refund; idempotent by out_refund_no."""
        payload = {
            "out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "reason": reason,
            "notify_url": self._config.notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        reply = await self._call("POST", "/v3/refund/domestic/refunds", payload)
        return _parse_response(refund_from_json, reply.data)

    async def query_refund(self, out_refund_no: str) -> ProviderRefund | None:
        """The refund as WeChat Pay knows it, None when it does not exist."""
        try:
            reply = await self._call("GET", f"/v3/refund/domestic/refunds/{_segment(out_refund_no)}", None)
        except WeChatPayError as exc:
            if exc.status == 404 and exc.code in _NOT_FOUND_CODES:
                return None
            raise
        return _parse_response(refund_from_json, reply.data)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Check serial, timestamp window and signature, decrypt the resource; raises NotificationRejected.
        Stateless: replays (the same nonce and signature again) are for the caller to detect."""
        fields = _signature_fields(headers)
        if fields["Wechatpay-Serial"] != self._config.platform_public_key_id:
            raise NotificationRejected("unknown Wechatpay-Serial")
        timestamp = self._check_fresh(fields["Wechatpay-Timestamp"], now)
        message = crypto.response_message(fields["Wechatpay-Timestamp"], fields["Wechatpay-Nonce"], body)
        if not crypto.verify(self._platform_key, message, fields["Wechatpay-Signature"]):
            raise NotificationRejected("bad signature")
        event = _load_event(body)
        resource = self._open_resource(event)
        try:
            return _notification(event, resource, fields, timestamp)
        except (ValidationError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise NotificationRejected("malformed resource") from exc

    # --- helpers ---------------------------------------------------------------------------------------

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        """The arguments of wx.requestPayment for a prepay_id, signed with the merchant key."""
        timestamp, nonce, package = str(int(time.time())), crypto.new_nonce(), f"prepay_id={prepay_id}"
        message = crypto.pay_sign_message(self._config.appid, timestamp, nonce, package)
        return {"appId": self._config.appid, "timeStamp": timestamp, "nonceStr": nonce, "package": package,
                "signType": "RSA", "paySign": crypto.sign(self._merchant_key, message)}

    def _check_fresh(self, raw_timestamp: str, now: datetime) -> datetime:
        try:
            seconds = int(raw_timestamp)
        except ValueError as exc:
            raise NotificationRejected("bad Wechatpay-Timestamp") from exc
        current = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        if abs(current.timestamp() - seconds) > self._config.timestamp_window_seconds:
            raise NotificationRejected("stale Wechatpay-Timestamp")
        return datetime.fromtimestamp(seconds, timezone.utc)

    def _open_resource(self, event: dict[str, Any]) -> dict[str, Any]:
        resource = event.get("resource")
        if not isinstance(resource, dict):
            raise NotificationRejected("notification without resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("unsupported resource algorithm")
        try:
            plaintext = crypto.decrypt_resource(self._config.api_v3_key, str(resource["ciphertext"]),
                                                str(resource["nonce"]), str(resource.get("associated_data") or ""))
        except (KeyError, ValueError) as exc:
            raise NotificationRejected("resource cannot be decrypted") from exc
        try:
            opened = json.loads(plaintext)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise NotificationRejected("decrypted resource is not JSON") from exc
        if not isinstance(opened, dict):
            raise NotificationRejected("decrypted resource is not an object")
        if opened.get("mchid", self._config.mchid) != self._config.mchid:
            raise NotificationRejected("resource for another merchant")
        return opened

    async def _call(self, method: str, path_qs: str, payload: dict[str, Any] | None) -> _Reply:
        """One signed request; network errors are retried once for GET only."""
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        url = URL(self._base_url + path_qs, encoded=True)
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.request(method, url, data=body or None, timeout=self._timeout,
                                                 headers=self._headers(method, url.raw_path_qs, body)) as resp:
                    raw = await resp.read()
                    return self._check(method, url.path, resp.status, resp.headers, raw)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("wechatpay %s %s: %s (attempt %d/%d)", method, url.path, type(exc).__name__,
                            attempt, attempts)
                if attempt == attempts:
                    raise PaymentUnavailable(f"WeChat Pay unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def _headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        cfg = self._config
        auth = crypto.authorization_header(self._merchant_key, mchid=cfg.mchid, serial_no=cfg.merchant_serial,
                                           method=method, url=url, body=body, timestamp=str(int(time.time())),
                                           nonce=crypto.new_nonce())
        headers = {"Authorization": auth, "Accept": "application/json",
                   "Wechatpay-Serial": cfg.platform_public_key_id, "User-Agent": "zhengwu-bot/wechatpay-v3"}
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def _check(self, method: str, path: str, status: int, headers: Mapping[str, str], raw: bytes) -> _Reply:
        """Classify a response: 2xx (signature required), 4xx → WeChatPayError, anything else unavailable."""
        if status >= 500 or status < 200 or 300 <= status < 400:
            log.warning("wechatpay %s %s -> %d", method, path, status)
            raise PaymentUnavailable(f"WeChat Pay answered {status}")
        signed = all(name in headers for name in _SIGNATURE_HEADERS)
        if status < 300 or signed:
            self._verify_response(headers, raw, path)
        if status >= 400:
            data = _error_object(raw)
            code, message = str(data.get("code", "UNKNOWN")), str(data.get("message", ""))[:200]
            log.warning("wechatpay %s %s -> %d %s", method, path, status, code)
            raise WeChatPayError(status, code, message)
        log.debug("wechatpay %s %s -> %d", method, path, status)
        return _Reply(status, _json_object(raw))

    def _verify_response(self, headers: Mapping[str, str], raw: bytes, path: str) -> None:
        missing = [name for name in _SIGNATURE_HEADERS if name not in headers]
        if missing:
            raise InvalidResponseSignature(f"response of {path} is not signed ({', '.join(missing)} missing)")
        if headers["Wechatpay-Serial"] != self._config.platform_public_key_id:
            raise InvalidResponseSignature(f"response of {path} signed with an unknown key")
        message = crypto.response_message(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], raw)
        if not crypto.verify(self._platform_key, message, headers["Wechatpay-Signature"]):
            log.error("wechatpay %s: response signature does not verify", path)
            raise InvalidResponseSignature(f"response of {path} has a bad signature")


# --- parsing ------------------------------------------------------------------------------------------

def order_from_json(data: Mapping[str, Any]) -> ProviderOrder:
    """A ProviderOrder from a WeChat Pay transaction object (query answer or notification resource)."""
    amount = data.get("amount") or {}
    success_time = data.get("success_time")
    return ProviderOrder(out_trade_no=data["out_trade_no"], trade_state=data["trade_state"],
                         amount_fen=amount["total"], payer_total_fen=amount.get("payer_total"),
                         transaction_id=data.get("transaction_id") or None,
                         success_time=crypto.parse_time(success_time) if success_time else None)


def refund_from_json(data: Mapping[str, Any]) -> ProviderRefund:
    """A ProviderRefund from a refund object (`status` in answers, `refund_status` in notifications)."""
    return ProviderRefund(out_refund_no=data["out_refund_no"], out_trade_no=data["out_trade_no"],
                          refund_id=data.get("refund_id") or None,
                          status=data.get("status") or data["refund_status"], amount_fen=data["amount"]["refund"])


def _parse_response(parse: Callable[[Mapping[str, Any]], _T], data: Mapping[str, Any]) -> _T:
    try:
        return parse(data)
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        raise PaymentUnavailable("WeChat Pay answered an unexpected object") from exc


def _notification(event: dict[str, Any], resource: dict[str, Any], fields: dict[str, str],
                  timestamp: datetime) -> Notification:
    event_type = str(event.get("event_type", ""))
    original_type = (event.get("resource") or {}).get("original_type")
    if event_type.startswith("TRANSACTION.") and original_type in (None, "transaction"):
        order, refund = order_from_json(resource), None
    elif event_type.startswith("REFUND.") and original_type in (None, "refund"):
        order, refund = None, refund_from_json(resource)
    else:
        raise NotificationRejected(f"unsupported event type {event_type[:40]!r}")
    return Notification(id=str(event["id"]), event_type=event_type, nonce=fields["Wechatpay-Nonce"],
                        signature=fields["Wechatpay-Signature"], timestamp=timestamp, order=order, refund=refund)


def _signature_fields(headers: Mapping[str, str]) -> dict[str, str]:
    """The four Wechatpay-* headers, looked up case-insensitively in a plain dict or a CIMultiDict."""
    lowered: dict[str, str] = {}
    for key, value in headers.items():
        lowered.setdefault(key.lower(), value)
    fields = {name: lowered.get(name.lower(), "") for name in _SIGNATURE_HEADERS}
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise NotificationRejected(f"missing {', '.join(missing)}")
    return fields


def _load_event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise NotificationRejected("body is not JSON") from exc
    if not isinstance(event, dict) or "id" not in event:
        raise NotificationRejected("body is not a notification")
    return event


def _error_object(raw: bytes) -> dict[str, Any]:
    try:
        return _json_object(raw)
    except PaymentUnavailable:
        return {}


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PaymentUnavailable("WeChat Pay answered something that is not JSON") from exc
    if not isinstance(data, dict):
        raise PaymentUnavailable("WeChat Pay answered JSON that is not an object")
    return data


def _segment(value: str) -> str:
    """A path segment, percent-encoded exactly once (the signed URL must be the sent one)."""
    return quote(value, safe="")
