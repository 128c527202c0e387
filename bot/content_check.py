"""Content security (内容安全) of free text citizens write for staff to read, e.g. rating comments.

`ContentCheck` is the port; providers/wechat/content_check.py asks WeChat's msg_sec_check (the mini-program
platform requires it for user-written text), `PermissiveContentCheck` is the embedded default without WeChat.
A refused text is not stored: the citizen is asked to put it differently.
"""
from __future__ import annotations

from typing import Protocol


class ContentCheck(Protocol):
    async def acceptable(self, user: str, text: str) -> bool:
        """False only when the text was judged risky; never raises for a checker outage."""


class PermissiveContentCheck:
    """Accepts everything (development, the H5 page without WeChat)."""

    async def acceptable(self, user: str, text: str) -> bool:
        return True
