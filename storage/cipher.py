"""Encryption at rest for personal data (AES-256-GCM, keys from config/env, never committed).

Every ciphertext starts with the 4-byte id of its key, so keys can be rotated: the new key encrypts,
old keys (ZWB_FIELD_OLD_KEYS) still decrypt until `python -m bot rotate-keys` has re-encrypted the rows.
"""
from __future__ import annotations

import base64
import hashlib
import os
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

    def is_current(self, stored: str) -> bool:
        """Whether a stored text was encrypted with the current key (else rotation still has to rewrite it)."""
        return base64.b64decode(stored[len(_PREFIX):])[:4] == self._current

    @classmethod
    def from_config(cls, configured: str, old: Sequence[str], dev_key_file: Path) -> "FieldCipher":
        """Use the configured keys; in development create one key in an untracked file once."""
        olds = [base64.b64decode(k) for k in old]
        if configured:
            return cls(base64.b64decode(configured), olds)
        if not dev_key_file.exists():
            dev_key_file.parent.mkdir(parents=True, exist_ok=True)
            dev_key_file.write_text(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
            dev_key_file.chmod(0o600)
        return cls(base64.b64decode(dev_key_file.read_text().strip()), olds)
