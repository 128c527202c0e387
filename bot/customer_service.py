"""客服消息: a citizen's message pushed by WeChat is taken once (WeChat retries and may reach any instance),
handled in the background (WeChat wants its answer within 5 s), and the replies go back as text through the
customer-service send API: retried while WeChat is unreachable, and left in the in-chat message list when
WeChat refuses them (48 h window passed, quota used up) so nothing the bot said is lost."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, Literal, Protocol

from bot.content import Content
from bot.dialogue.commands import Command, Invocation
from bot.dialogue.engine import Engine, Inbound, TryAgain
from bot.dialogue.plain import as_text
from bot.dialogue.replies import PaymentReply, Reply, TextReply
from bot.notify import Inbox
from bot.ports import Dedupe, TooManyMessages
from bot.uploads import Upload

MAX_SENDS = 5  # WeChat allows a few customer-service messages per user message


class SendRefused(Exception):
    """WeChat will not deliver this now (window expired, quota used): retrying does not help."""


class ChannelUnavailable(Exception):
    """WeChat could not be reached or answered with a server error: retry later."""


class CustomerServiceChannel(Protocol):
    async def send_text(self, openid: str, text: str) -> None:
        """Raises SendRefused or ChannelUnavailable."""
    async def send_page(self, openid: str, title: str, pagepath: str) -> None:
        """A card that opens a page of the mini-program. Raises SendRefused or ChannelUnavailable."""
    async def fetch_image(self, media_id: str, max_bytes: int) -> bytes | None:
        """The image the user sent; None when it is larger than max_bytes. Raises ChannelUnavailable."""


@dataclass(frozen=True)
class OutOfTurn:
    """Messages to a WeChat user that answer no message of theirs (a staff member's, during a handoff), through the
    send API: allowed 48 h after the citizen's last message; refused or unreachable, it stays in the chat list."""

    channel: CustomerServiceChannel
    log: logging.Logger

    async def __call__(self, openid: str, text: str) -> bool:
        try:
            await self.channel.send_text(openid, text)
        except (SendRefused, ChannelUnavailable) as exc:
            self.log.info("message out of turn to a WeChat user not sent (%s): left in the chat list", exc)
            return False
        return True


@dataclass(frozen=True)
class ServiceMessage:
    """One pushed message, already verified and decoded by the handler."""

    openid: str
    dedupe_key: str
    kind: Literal["text", "image", "enter", "other"]
    text: str = ""
    media_id: str = ""


class CustomerService:
    def __init__(self, engine: Engine, channel: CustomerServiceChannel, dedupe: Dedupe, inbox: Inbox,
                 content: Callable[[], Content], clock: Callable[[], datetime], log: logging.Logger,
                 max_upload_bytes: int, pay_page: str, retry_seconds: tuple[float, ...] = (2, 10),
                 transfer: bool = False) -> None:
        self._engine, self._channel, self._dedupe, self._inbox = engine, channel, dedupe, inbox
        self._content, self._clock, self._log = content, clock, log
        self._max_upload, self._pay_page, self._retry_seconds = max_upload_bytes, pay_page, retry_seconds
        self._running: set[asyncio.Task[None]] = set()
        self._transfer = transfer

    def wants_human(self, message: ServiceMessage) -> bool:
        """The citizen asks for a person (转人工) and the chat goes to WeChat's agent console (setting
        handoff.transfer_customer_service; otherwise the engine hands it to the staff console)."""
        return (self._transfer and message.kind == "text"
                and self._content().words.means(message.text, Command.human))


    async def first_delivery(self, message: ServiceMessage) -> bool:
        """False for a retry or duplicate of a message already taken (any instance). Raises SessionUnavailable
        when the shared store is down (the handler answers 503 and WeChat retries)."""
        return await self._dedupe.first(message.dedupe_key)

    def start(self, message: ServiceMessage) -> None:
        """Handle the message in the background; the handler has already answered WeChat."""
        task = asyncio.get_running_loop().create_task(self._handle(message))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        """Wait for messages being handled (tests; graceful shutdown)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _handle(self, message: ServiceMessage) -> None:
        try:
            replies = await self._reply(message)
            await self._send(message, as_text(replies, self._content().prompts))
            for payment in (r for r in replies if isinstance(r, PaymentReply)):
                await self._send_card(message, payment)
        except Exception:  # a background task has nobody to raise to: log it with the message key
            self._log.exception("customer-service message %s failed", message.dedupe_key)

    async def _reply(self, message: ServiceMessage) -> list[Reply]:
        prompts = self._content().prompts
        if message.kind == "other":
            return [TextReply(text=prompts.plain_unsupported)]
        if message.kind == "enter":
            inbound = Inbound(text=Invocation(Command.hello).value)
        elif message.kind == "image":
            data = await self._channel.fetch_image(message.media_id, self._max_upload)
            upload = Upload(filename="wechat-image.jpg", data=data or b"", truncated=data is None)
            inbound = Inbound(upload=upload)
        else:
            inbound = Inbound(text=message.text[:500], numbered=True, channel="wechat")
        try:
            return await self._engine.handle(message.openid, inbound)
        except TryAgain as exc:
            return [TextReply(text=exc.message)]
        except TooManyMessages:  # a flood: answering each message would only add to it
            self._log.info("customer-service message %s over the rate limit: not answered", message.dedupe_key)
            return []

    async def _send(self, message: ServiceMessage, texts: list[str]) -> None:
        """Send in order; what cannot be sent (refused, unreachable after retries, over the per-message quota)
        goes to the in-chat list the mini-program shows when opened."""
        for index, text in enumerate(texts):
            try:
                if index >= MAX_SENDS:
                    raise SendRefused(f"more than {MAX_SENDS} messages for one user message")
                await self._send_one(message.openid, text)
            except (SendRefused, ChannelUnavailable) as exc:
                self._log.warning("customer-service reply to %s not sent (%s): %d message(s) left in the chat list",
                                  message.dedupe_key, exc, len(texts) - index)
                for n, rest in enumerate(texts[index:], start=index):
                    await self._inbox.put(message.openid, None, rest, f"wx:{message.dedupe_key}:{n}"[:64],
                                          self._clock())
                return

    async def _send_card(self, message: ServiceMessage, payment: PaymentReply) -> None:
        """Paying needs the mini-program (wx.requestPayment): a card opens its payment page for this order."""
        title = self._content().prompts.pay_card.format(amount=payment.amount, number=payment.case_number)
        try:
            await self._retrying(self._channel.send_page, message.openid, title,
                                 f"{self._pay_page}?out_trade_no={payment.out_trade_no}")
        except (SendRefused, ChannelUnavailable) as exc:  # the text already said how to pay
            self._log.warning("payment card for %s not sent: %s", message.dedupe_key, exc)

    async def _send_one(self, openid: str, text: str) -> None:
        await self._retrying(self._channel.send_text, openid, text)

    async def _retrying(self, send: Callable[..., Awaitable[None]], *args: str) -> None:
        for wait in (*self._retry_seconds, None):
            try:
                await send(*args)
                return
            except ChannelUnavailable:
                if wait is None:
                    raise
                await asyncio.sleep(wait)
