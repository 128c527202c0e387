"""Callback signatures and the "safe mode" AES payload, exactly as WeChat's WXBizMsgCrypt.

- URL / message signature: SHA1 of the sorted, concatenated [token, timestamp, nonce];
  msg_signature: the same over [token, timestamp, nonce, Encrypt].
- Safe mode: key = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16]; PKCS#7 padding
  to blocks of 32; plaintext = 16 random bytes + 4-byte big-endian length + message + appid.
No I/O, no state beyond the key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_PAD_BLOCK = 32


class CallbackRejected(Exception):
    """Base of every reason to refuse a callback request."""


class SignatureInvalid(CallbackRejected):
    """signature or msg_signature missing or not matching."""


class StaleTimestamp(CallbackRejected):
    """The request's timestamp is outside the accepted window (or not a number)."""


class DecryptError(CallbackRejected):
    """The Encrypt payload is not valid base64/AES/padding, or was made for another appid."""


def signature(token: str, *parts: str) -> str:
    """SHA1 hex of the token and parts, sorted and concatenated (WeChat's signature and msg_signature)."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def check_signature(token: str, timestamp: str, nonce: str, given: str | None) -> None:
    """Raise SignatureInvalid unless `given` is the signature of [token, timestamp, nonce]."""
    if not given or not hmac.compare_digest(signature(token, timestamp, nonce), given.lower()):
        raise SignatureInvalid("signature does not match")


def check_msg_signature(token: str, timestamp: str, nonce: str, encrypt: str, given: str | None) -> None:
    """Raise SignatureInvalid unless `given` is the msg_signature of [token, timestamp, nonce, encrypt]."""
    if not given or not hmac.compare_digest(signature(token, timestamp, nonce, encrypt), given.lower()):
        raise SignatureInvalid("msg_signature does not match")


def check_timestamp(timestamp: str | int, window_seconds: float, now: float | None = None) -> None:
    """Raise StaleTimestamp unless the timestamp (Unix seconds) is within window_seconds of now, either way."""
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        raise StaleTimestamp("timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - value) > window_seconds:
        raise StaleTimestamp(f"timestamp is {current - value:.0f} s away from now (window {window_seconds} s)")


class MessageCipher:
    """AES-256-CBC of safe-mode payloads for one mini-program (EncodingAESKey + appid)."""

    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        self._appid = appid.encode()

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str | bytes, random_prefix: bytes | None = None) -> str:
        """The base64 Encrypt value of a message; random_prefix (16 bytes) only for known-answer tests."""
        body = message.encode() if isinstance(message, str) else message
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise ValueError("random_prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(body)) + body + self._appid
        pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside an Encrypt value; DecryptError if malformed or made for another appid."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("Encrypt is not base64") from None
        if not raw or len(raw) % 16:
            raise DecryptError("Encrypt length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding (wrong EncodingAESKey?)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise DecryptError("payload too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise DecryptError("declared length exceeds the payload")
        message, appid = content[4:4 + length], content[4 + length:]
        if not hmac.compare_digest(appid, self._appid):
            raise DecryptError("payload was encrypted for another appid")
        return message
