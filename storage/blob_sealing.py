"""Envelope encryption and private addresses of uploaded materials.

Each blob has its own random AES-256-GCM data key; the object holds `ZWB1` + nonce + ciphertext + tag (the blob
id is the associated data, so an object moved to another address does not open), and the data key is stored in
the blob's row wrapped with the field key (FieldCipher: key id first, so rotation re-wraps rows, never objects).
A blob's address is HMAC(search key, owner + sha256 of the content): one citizen's upload is stored once however
often they send it, but two citizens sending the same file get two addresses, so neither can learn the other has
it. Objects without the `ZWB1` prefix are from before encryption (a JPEG, PNG or PDF never starts with it).
"""
from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.cipher import FieldCipher, KeyedHash

SEALED = b"ZWB1"


class BlobSealer:
    def __init__(self, cipher: FieldCipher, hasher: KeyedHash) -> None:
        self._cipher, self._hasher = cipher, hasher

    def address(self, owner: str, data: bytes) -> str:
        """The blob id (64 hex) of `data` uploaded by `owner`."""
        return self._hasher.digest_bytes(b"blob\0" + owner.encode() + b"\0" + hashlib.sha256(data).digest())

    def new_key(self) -> bytes:
        """A fresh data key, wrapped with the current field key."""
        return self._cipher.encrypt_bytes(AESGCM.generate_key(bit_length=256))

    def key_id(self, wrapped: bytes) -> str:
        return self._cipher.key_id(wrapped)

    @property
    def current_key_id(self) -> str:
        return self._cipher.current_key_id

    def rewrap(self, wrapped: bytes) -> bytes:
        """The same data key, wrapped with the current field key."""
        return self._cipher.encrypt_bytes(self._cipher.decrypt_bytes(wrapped))

    def seal(self, wrapped: bytes, blob_id: str, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return SEALED + nonce + AESGCM(self._cipher.decrypt_bytes(wrapped)).encrypt(nonce, data, blob_id.encode())

    def open(self, wrapped: bytes | None, blob_id: str, stored: bytes) -> bytes:
        """The content of a stored object: decrypted when sealed, as it is when stored before encryption."""
        if not is_sealed(stored):
            return stored
        if wrapped is None:
            raise ValueError(f"blob {blob_id} is sealed but its row has no data key")
        return AESGCM(self._cipher.decrypt_bytes(wrapped)).decrypt(stored[4:16], stored[16:], blob_id.encode())


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(SEALED)
