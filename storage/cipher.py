"""Encryption at rest for personal data (AES-256-GCM, keys from config/env, never committed).

Every ciphertext starts with the 4-byte id of its key, so keys can be rotated: the new key encrypts,
old keys (ZWB_FIELD_OLD_KEYS) still decrypt until `python -m bot rotate-keys` has re-encrypted the rows.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v2:"


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"zwb-field-key" + key).digest()[:4]


class FieldCipher:
    """Encrypts text or bytes; text form is 'v2:' + base64(key id + nonce + ciphertext + tag)."""

    def __init__(self, key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        for k in (key, *old_keys):
            if len(k) != 32:
                raise ValueError("field keys must be 32 bytes (base64-encode them in ZWB_FIELD_KEY)")
        self._current = _key_id(key)
        self._aeads = {_key_id(k): AESGCM(k) for k in (*old_keys, key)}

    def encrypt_bytes(self, plain: bytes) -> bytes:
        nonce = os.urandom(12)
        return self._current + nonce + self._aeads[self._current].encrypt(nonce, plain, None)

    def decrypt_bytes(self, stored: bytes) -> bytes:
        aead = self._aeads.get(stored[:4])
        if aead is None:
            raise ValueError("encrypted with a key that is not configured")
        return aead.decrypt(stored[4:16], stored[16:], None)

    def encrypt(self, plain: str) -> str:
        return _PREFIX + base64.b64encode(self.encrypt_bytes(plain.encode())).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            raise ValueError("unknown ciphertext format")
        return self.decrypt_bytes(base64.b64decode(stored[len(_PREFIX):])).decode()

    def key_id(self, stored: bytes) -> str:
        """The id (hex) of the key that encrypted these bytes."""
        return stored[:4].hex()

    @property
    def current_key_id(self) -> str:
        return self._current.hex()

    def is_current(self, stored: str) -> bool:
        """Whether a stored text was encrypted with the current key (else rotation still has to rewrite it)."""
        return base64.b64decode(stored[len(_PREFIX):])[:4] == self._current

    @classmethod
    def from_config(cls, configured: str, old: Sequence[str], dev_key_file: Path) -> "FieldCipher":
        """Use the configured keys; in development create one key in an untracked file once."""
        olds = [base64.b64decode(k) for k in old]
        return cls(base64.b64decode(configured or _dev_key(dev_key_file)), olds)


class KeyedHash:
    """HMAC-SHA256 of a value, so rows can be found by 身份证号 without storing or decrypting it.

    Its key is separate from the field keys and never rotates with them (the hashes would all change).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("search key must be at least 32 bytes")
        self._key = key

    def digest(self, value: str) -> str:
        """The hash of the value's NFKC form (full-width １ and Ｘ hash as 1 and X), stripped, in upper case."""
        return hmac.new(self._key, unicodedata.normalize("NFKC", value).strip().upper().encode(),
                        hashlib.sha256).hexdigest()

    def digest_bytes(self, value: bytes) -> str:
        """The hash of raw bytes, as they are (no normalisation)."""
        return hmac.new(self._key, value, hashlib.sha256).hexdigest()

    @classmethod
    def from_config(cls, configured: str, dev_key_file: Path) -> "KeyedHash":
        if configured:
            return cls(base64.b64decode(configured))
        return cls(base64.b64decode(_dev_key(dev_key_file)))


def secret_key(configured: str, dev_key_file: Path) -> bytes:
    """The configured key (base64), or in development one generated once into an untracked file."""
    return base64.b64decode(configured or _dev_key(dev_key_file))


def _dev_key(path: Path) -> str:
    """A random key kept in an untracked file, created on first use (development only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
        path.chmod(0o600)
    return path.read_text().strip()
