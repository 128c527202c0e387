"""Encryption at rest for personal data (AES-256-GCM, key from config/env, never committed)."""
from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"


class FieldCipher:
    """Encrypts text; the stored form is 'v1:' + base64(nonce + ciphertext + tag)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("field key must be 32 bytes (base64-encode it in ZWB_FIELD_KEY)")
        self._aead = AESGCM(key)

    def encrypt(self, plain: str) -> str:
        nonce = os.urandom(12)
        return _PREFIX + base64.b64encode(nonce + self._aead.encrypt(nonce, plain.encode(), None)).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            raise ValueError("unknown ciphertext format")
        raw = base64.b64decode(stored[len(_PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()

    @classmethod
    def from_config(cls, configured: str, dev_key_file: Path) -> "FieldCipher":
        """Use the configured key; in development create one in an untracked file once."""
        if configured:
            return cls(base64.b64decode(configured))
        if not dev_key_file.exists():
            dev_key_file.parent.mkdir(parents=True, exist_ok=True)
            dev_key_file.write_text(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
            dev_key_file.chmod(0o600)
        return cls(base64.b64decode(dev_key_file.read_text().strip()))
