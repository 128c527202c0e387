"""What a staff-facing service refuses, as exceptions mapped once to HTTP statuses (handlers/problems.py):
NotFound 404, Forbidden 403, Conflict 409, Invalid 422. Each subclass names its Chinese `detail`, the text a client shows;
the optional `reason` says why, in English, and is passed on to the client as is."""
from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    detail: ClassVar[str] = "无法完成这个操作。"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.detail)
        self.reason = reason


class NotFound(DomainError):
    """The thing does not exist, or lies outside what the caller may see (existence is not disclosed)."""

    detail = "没有找到。"


class Forbidden(DomainError):
    """The caller may see the thing but their role may not do this to it."""

    detail = "您的岗位不能执行这个操作。"


class Conflict(DomainError):
    """The thing's current state does not allow this."""

    detail = "当前状态不允许这个操作。"


class Invalid(DomainError):
    """The request names something the thing does not have (e.g. a material the case does not include)."""

    detail = "请求内容不对。"
