"""The whole check of one customer-service callback request: signature, freshness, decryption, parsing.

Query parameters as WeChat sends them: `signature`, `timestamp`, `nonce` (+ `echostr` on the URL check);
in safe mode also `encrypt_type=aes` and `msg_signature` (over the body's Encrypt value). Every refusal
is a `CallbackRejected` subclass: SignatureInvalid, StaleTimestamp, DecryptError, ParseError
(BodyTooLarge).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from providers.wechat.crypto import (MessageCipher, SignatureInvalid, check_msg_signature, check_signature,
                                     check_timestamp, signature)
from providers.wechat.messages import (DEFAULT_MAX_BYTES, IncomingMessage, ParseError, encrypted_field,
                                       message_from_fields, open_envelope, parse_fields, serialize)


class CallbackDecoder:
    """Verifies and decodes callback requests for one mini-program.

    token: the message-push Token; cipher: the safe-mode cipher (None when only plain mode is configured);
    require_encryption: refuse plain bodies (set it once the push is switched to safe mode);
    timestamp_window: seconds a request's timestamp may differ from now (WeChat retries within ~15 s)."""

    def __init__(self, token: str, cipher: MessageCipher | None = None, *, require_encryption: bool = False,
                 max_bytes: int = DEFAULT_MAX_BYTES, timestamp_window: float = 300,
                 clock: Callable[[], float] = time.time) -> None:
        if require_encryption and cipher is None:
            raise ValueError("require_encryption needs a cipher")
        self._token, self._cipher, self._require_encryption = token, cipher, require_encryption
        self._max_bytes, self._window, self._clock = max_bytes, timestamp_window, clock

    def _fresh(self, query: Mapping[str, str]) -> tuple[str, str]:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not nonce:
            raise SignatureInvalid("nonce missing")
        check_timestamp(timestamp, self._window, self._clock())
        return timestamp, nonce

    @property
    def replay_window(self) -> float:
        """Seconds a signed query stays acceptable: its timestamp may be up to the window either side of now."""
        return 2 * self._window

    @staticmethod
    def signed_key(query: Mapping[str, str]) -> str:
        """What identifies one signed delivery: timestamp, nonce and its signature (msg_signature in safe mode)."""
        signed = query.get("msg_signature") or query.get("signature", "")
        return f"{query.get('timestamp', '')}:{query.get('nonce', '')}:{signed}"[:200]

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The echostr to answer to WeChat's URL check (GET), after checking its signature and timestamp."""
        timestamp, nonce = self._fresh(query)
        check_signature(self._token, timestamp, nonce, query.get("signature"))
        return query.get("echostr", "")

    def decode(self, query: Mapping[str, str], body: bytes, content_type: str | None = None) -> IncomingMessage:
        """The message of a POST callback; raises a CallbackRejected subclass when it must be refused."""
        timestamp, nonce = self._fresh(query)
        signed = "signature" in query or "msg_signature" not in query
        if signed:  # `signature` covers no body: an unsigned request is refused before anything is parsed
            check_signature(self._token, timestamp, nonce, query.get("signature"))
        fields = parse_fields(body, content_type, max_bytes=self._max_bytes)
        encrypt = encrypted_field(fields)
        if encrypt is None:
            if self._require_encryption:
                raise ParseError("plain message refused: safe mode is required")
            if not signed:
                raise SignatureInvalid("a plain message needs its signature")
            return message_from_fields(fields)
        if self._cipher is None:
            raise ParseError("encrypted message but no EncodingAESKey configured")
        check_msg_signature(self._token, timestamp, nonce, encrypt, query.get("msg_signature"))
        return open_envelope(encrypt, self._cipher, max_bytes=self._max_bytes)

    def transfer_reply(self, message: IncomingMessage, query: Mapping[str, str], body: bytes) -> tuple[str, str]:
        """(body, content type) of the one passive reply a mini-program may give: hand the chat to the
        customer-service agents (转人工). Same format (JSON or XML) and mode (plain or safe) as the request."""
        fmt = "json" if body.lstrip()[:1] == b"{" else "xml"
        now = str(int(self._clock()))
        reply = serialize({"ToUserName": message.FromUserName, "FromUserName": message.ToUserName,
                           "CreateTime": int(now), "MsgType": "transfer_customer_service"}, fmt)
        if query.get("encrypt_type") == "aes" and self._cipher is not None:
            nonce = query.get("nonce", "")
            encrypt = self._cipher.encrypt(reply)
            reply = serialize({"Encrypt": encrypt, "MsgSignature": signature(self._token, now, nonce, encrypt),
                               "TimeStamp": int(now), "Nonce": nonce}, fmt)
        return reply, "application/json" if fmt == "json" else "text/xml"
