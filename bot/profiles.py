"""What a citizen gave before, kept to be offered again."""
from __future__ import annotations

from pydantic import BaseModel

from bot.dialogue.state import MaterialEntry


class Profile(BaseModel):
    """What a user gave in earlier applications, offered again (with consent) instead of re-asking."""

    fields: dict[str, str] = {}
    materials: dict[str, MaterialEntry] = {}
