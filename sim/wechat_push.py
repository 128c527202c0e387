"""WeChat pushing a user's message to our callback URL: completed with WeChat's defaults, signed, AES-encrypted in
safe mode, JSON or XML, and retried when the answer is not a 200 "success" within the timeout; and WeChat's check
of the callback URL."""
from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from providers.wechat.crypto import CallbackRejected, MessageCipher, signature
from providers.wechat.messages import encrypted_field, parse_fields, serialize


@dataclass
class Delivery:
    """One copy of a pushed callback: the attempts made and the final outcome."""

    url: str
    attempts: int = 0
    result: int | str = "unreachable"
    outcomes: list[int | str] = field(default_factory=list)


class CallbackPusher:
    """Pushes for one mini-program (`username`, `token`, `cipher`); records every copy in `deliveries` and the
    chats our server handed to the agents in `transfers`."""

    def __init__(self, *, username: str, token: str, cipher: MessageCipher, clock: Callable[[], float],
                 msg_ids: Iterator[int], timeout: float, retries: int, retry_delay: float) -> None:
        self._username, self._token, self._cipher, self._clock = username, token, cipher, clock
        self._timeout, self._retries, self._retry_delay = timeout, retries, retry_delay
        self.deliveries: list[Delivery] = []
        self.transfers: list[str] = []
        self._msg_ids = msg_ids

    def complete_message(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The message with WeChat's defaults: ToUserName, CreateTime and (for non-events) a new MsgId."""
        if not message.get("FromUserName") or not message.get("MsgType"):
            raise ValueError("a pushed message needs FromUserName and MsgType")
        full = {"ToUserName": self._username, "FromUserName": message["FromUserName"],
                "CreateTime": int(self._clock()), "MsgType": message["MsgType"], **message}
        if full["MsgType"] != "event":
            full.setdefault("MsgId", next(self._msg_ids))
        return full

    def signed_request(self, message: Mapping[str, Any], *, mode: str = "safe",
                       fmt: str = "json") -> tuple[dict[str, str], bytes, str]:
        """(query, body, content_type) of one callback carrying `message` (already complete)."""
        if mode not in ("safe", "plain"):
            raise ValueError(f"mode must be safe or plain, not {mode!r}")
        timestamp, nonce = str(int(self._clock())), str(secrets.randbelow(10**10))
        query = {"signature": signature(self._token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        payload = serialize(message, fmt)
        if mode == "safe":
            encrypt = self._cipher.encrypt(payload)
            payload = serialize({"ToUserName": self._username, "Encrypt": encrypt}, fmt)
            query |= {"encrypt_type": "aes", "msg_signature": signature(self._token, timestamp, nonce, encrypt)}
        return query, payload.encode(), "application/json" if fmt == "json" else "text/xml"

    async def push(self, url: str, message: Mapping[str, Any], *, mode: str = "safe", fmt: str = "json",
                   duplicates: int = 0) -> list[int | str]:
        """Deliver a complete message to our callback URL; one result per copy sent (1 + duplicates):
        "success", or the last failure (an HTTP status, "timeout" or "unreachable") after the retries."""
        query, body, content_type = self.signed_request(message, mode=mode, fmt=fmt)
        results: list[int | str] = []
        async with aiohttp.ClientSession() as session:
            for _ in range(1 + duplicates):
                delivery = await self._deliver(session, url, query, body, content_type)
                self.deliveries.append(delivery)
                results.append(delivery.result)
        return results

    async def _deliver(self, session: aiohttp.ClientSession, url: str, query: Mapping[str, str], body: bytes,
                       content_type: str) -> Delivery:
        delivery = Delivery(url)
        for attempt in range(1 + self._retries):
            if attempt and self._retry_delay:
                await asyncio.sleep(self._retry_delay)
            delivery.attempts += 1
            outcome: int | str
            try:
                async with session.post(url, params=query, data=body, headers={"Content-Type": content_type},
                                        timeout=aiohttp.ClientTimeout(total=self._timeout)) as response:
                    text = await response.text()
                    outcome = self._outcome(response.status, text)
            except asyncio.TimeoutError:
                outcome = "timeout"
            except aiohttp.ClientError:
                outcome = "unreachable"
            delivery.outcomes.append(outcome)
            delivery.result = outcome
            if outcome in ("success", "transfer"):
                break
        return delivery

    def _outcome(self, status: int, text: str) -> int | str:
        """"success"; "transfer" for a valid transfer_customer_service reply (recorded in `transfers`); else
        the HTTP status (a failure WeChat retries)."""
        if status != 200:
            return status
        if text.strip() == "success":
            return "success"
        try:
            fields = parse_fields(text.encode())
            encrypt = encrypted_field(fields)
            if encrypt is not None:
                fields = parse_fields(self._cipher.decrypt(encrypt))
        except CallbackRejected:
            return status
        if fields.get("MsgType") != "transfer_customer_service":
            return status
        self.transfers.append(str(fields.get("ToUserName")))
        return "transfer"

    async def verify_url(self, url: str) -> bool:
        """WeChat's URL check: a signed GET with an echostr; True when the answer is that echostr."""
        timestamp, nonce, echostr = str(int(self._clock())), str(secrets.randbelow(10**10)), secrets.token_hex(8)
        query = {"signature": signature(self._token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                 "echostr": echostr}
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get(url, params=query,
                                       timeout=aiohttp.ClientTimeout(total=self._timeout)) as response:
                    return response.status == 200 and (await response.text()) == echostr
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return False
