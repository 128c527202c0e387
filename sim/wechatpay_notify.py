"""The WeChat Pay simulator's notifications: resources encrypted with the APIv3 key, signed with the platform key,
POSTed to the merchant's notify_url with WeChat's retry schedule, every attempt recorded."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from providers import wechatpay_crypto as crypto

log = logging.getLogger(__name__)

RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                                             10800, 10800, 10800, 21600, 21600)
"""Waits before each of the 15 retries of a notification (about 24 h in all), scaled by time_scale."""

_SUMMARY = {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功", "REFUND.ABNORMAL": "退款异常",
            "REFUND.CLOSED": "退款关闭"}


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


class Notifier:
    """Builds, signs and delivers notifications; also runs the simulator's other background work (`spawn`)."""

    def __init__(self, *, platform_key: rsa.RSAPrivateKey, platform_public_key_id: str, api_v3_key: str,
                 clock: Callable[[], float], time_scale: float, timeout_seconds: float) -> None:
        self._platform_key, self._platform_public_key_id = platform_key, platform_public_key_id
        self._api_v3_key, self._clock, self._time_scale = api_v3_key, clock, time_scale
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._deliveries: list[DeliveryAttempt] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Every delivery attempt so far, oldest first."""
        return list(self._deliveries)

    def build(self, event_type: str, resource: Mapping[str, Any], *, timestamp: int | None = None,
              nonce: str | None = None, sign_with: str | rsa.RSAPrivateKey | None = None,
              serial: str | None = None, event_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """Headers and body of a notification carrying `resource` (see WeChatPaySimulator.build_notification)."""
        body = self._event_body(event_type, resource, event_id or str(uuid4()))
        return self.sign(body, timestamp=timestamp, nonce=nonce, sign_with=sign_with, serial=serial), body

    def sign(self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None,
             sign_with: str | rsa.RSAPrivateKey | None = None, serial: str | None = None) -> dict[str, str]:
        """Fresh Wechatpay-* headers for a notification body (by default a new timestamp and nonce, signed
        with the platform key)."""
        if isinstance(sign_with, str):
            key = crypto.load_private_key(sign_with, validate=False)  # a test's forger key
        else:
            key = sign_with or self._platform_key
        stamp, nonce = str(int(self._clock()) if timestamp is None else timestamp), nonce or crypto.new_nonce()
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": crypto.sign(key, crypto.response_message(stamp, nonce, body)),
                "Wechatpay-Serial": serial or self._platform_public_key_id,
                "Wechatpay-Signature-Type": crypto.AUTH_SCHEME}

    def send(self, url: str, event_type: str, resource: Mapping[str, Any]) -> str:
        """Deliver a notification in the background, retrying on failure; returns its event id."""
        event_id = str(uuid4())
        self.spawn(self._deliver(url, event_id, event_type, self._event_body(event_type, resource, event_id)))
        return event_id

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background; `drain` waits for it, `aclose` cancels it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> None:
        """Wait until every background task has finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} background tasks still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def aclose(self) -> None:
        """Cancel background work and close the HTTP session."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _event_body(self, event_type: str, resource: Mapping[str, Any], event_id: str) -> bytes:
        original_type = "transaction" if event_type.startswith("TRANSACTION.") else "refund"
        nonce = crypto.new_nonce(12)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        now = datetime.fromtimestamp(self._clock(), crypto.CHINA_TZ)
        event = {"id": event_id, "create_time": crypto.format_time(now), "resource_type": "encrypt-resource",
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
            headers = self.sign(body)
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
            async with self._session.post(url, data=body, headers=headers, timeout=self._timeout) as resp:
                await resp.read()
                return resp.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, type(exc).__name__
