"""How a session store keeps a conversation at rest: the state's JSON, zlib-compressed when long, encrypted."""
from __future__ import annotations

import zlib

from bot.dialogue.state import Conversation, decode, encode
from storage.cipher import FieldCipher

COMPRESS_FROM = 512  # bytes of JSON; below, zlib's set-up (~9 µs) costs more than the few bytes it saves


def pack_state(state: Conversation) -> bytes:
    """The state's JSON, zlib-compressed when it is long (a zlib stream never starts with "{")."""
    data = encode(state)
    return zlib.compress(data, 6) if len(data) >= COMPRESS_FROM else data


def seal_state(cipher: FieldCipher, state: Conversation) -> bytes:
    """The state packed and encrypted, as it is stored."""
    return cipher.encrypt_bytes(pack_state(state))


def open_state(cipher: FieldCipher, stored: bytes) -> Conversation:
    """The state `seal_state` stored (or one stored uncompressed by an earlier release)."""
    plain = cipher.decrypt_bytes(stored)
    return decode(plain if plain.startswith(b"{") else zlib.decompress(plain))
