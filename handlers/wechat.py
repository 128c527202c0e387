"""GET/POST /wechat/callback: WeChat's customer-service message push. Verified and decoded by the provider,
deduplicated, answered with "success" at once (or with a transfer to the agents for 转人工); the dialogue
runs in the background and replies through the send API."""
from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from aiohttp import web

from bot.customer_service import CustomerService, ServiceMessage
from bot.ports import SessionUnavailable
from handlers.routes import Param, Route
from providers.wechat.callback import CallbackDecoder
from providers.wechat.crypto import CallbackRejected
from providers.wechat.messages import (BodyTooLarge, ImageMessage, IncomingMessage, MiniProgramPageMessage,
                                       SessionEnterEvent, TextMessage)

PATH = "/wechat/callback"
_SIGNED = tuple(Param(name, required=True) for name in ("signature", "timestamp", "nonce"))
_MESSAGE = {"required": True, "description": "a message push, plain or encrypted (安全模式), XML or JSON, at most 64 KB",
            "content": {"text/xml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
log = logging.getLogger(__name__)


def service_message(message: IncomingMessage) -> ServiceMessage:
    """The provider's message as the domain takes it."""
    if isinstance(message, TextMessage):
        return ServiceMessage(message.openid, message.dedupe_key, "text", text=message.Content)
    if isinstance(message, ImageMessage):
        return ServiceMessage(message.openid, message.dedupe_key, "image", media_id=message.MediaId)
    if isinstance(message, MiniProgramPageMessage):  # a shared service page: its title says what is wanted
        return ServiceMessage(message.openid, message.dedupe_key, "text", text=message.Title)
    if isinstance(message, SessionEnterEvent):
        return ServiceMessage(message.openid, message.dedupe_key, "enter")
    return ServiceMessage(message.openid, message.dedupe_key, "other")


class SignedDeliveries(Protocol):
    async def admit(self, signed: str, body_digest: str) -> bool:
        """True the first time a signed query is seen, or again with the same body; False with another body.
        Raises SessionUnavailable when the store cannot be reached."""


class WeChatHandlers:
    def __init__(self, decoder: CallbackDecoder, service: CustomerService, signed: SignedDeliveries) -> None:
        self._decoder, self._service, self._signed = decoder, service, signed

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: echo `echostr` when the signature and timestamp are right."""
        try:
            return web.Response(text=self._decoder.verify_url(request.query))
        except CallbackRejected:
            return web.Response(status=403, text="forbidden")

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            message = self._decoder.decode(request.query, body, request.content_type)
        except BodyTooLarge:
            return web.Response(status=413, text="too large")
        except CallbackRejected as exc:
            log.info("wechat callback refused: %s: %s", type(exc).__name__, exc)
            return web.Response(status=400, text="rejected")
        incoming = service_message(message)
        try:
            if not await self._signed.admit(self._decoder.signed_key(request.query), hashlib.sha256(body).hexdigest()):
                log.info("wechat callback refused: a signature already used with another body (replay)")
                return web.Response(status=400, text="rejected")
            if not await self._service.first_delivery(incoming):
                return web.Response(text="success")  # a retry of a message already taken
        except SessionUnavailable:
            return web.Response(status=503, text="try later")  # WeChat retries
        if self._service.wants_human(incoming):
            reply, content_type = self._decoder.transfer_reply(message, request.query, body)
            return web.Response(text=reply, content_type=content_type)
        self._service.start(incoming)
        return web.Response(text="success")


def routes(wechat: WeChatHandlers) -> list[Route]:
    """WeChat's own protocol: plain-text answers, not problem details."""
    return [
        Route("GET", PATH, wechat.verify, "WeChat's URL check: echoes echostr when the signature and timestamp are "
              "right", params=(*_SIGNED, Param("echostr", required=True)), ok=(200, "the echostr"),
              responses={"403": {"description": "forbidden", **_TEXT}}),
        Route("POST", PATH, wechat.receive, "A customer-service message push: answered at once with success (or a "
              "transfer to the agents for 转人工), the dialogue replies through the send API",
              params=(*_SIGNED, Param("msg_signature"), Param("encrypt_type")), request_body=_MESSAGE,
              ok=(200, "success, or the transfer_customer_service reply"),
              responses={"400": {"description": "rejected (signature, time, replay or body)", **_TEXT},
                         "413": {"description": "too large", **_TEXT}, "503": {"description": "try later", **_TEXT}}),
    ]
