"""Every exception the WeChat API client raises, and the mapping from WeChat's errcode to them."""
from __future__ import annotations


class WeChatError(Exception):
    """Base of everything the WeChat client raises."""


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached (network error, timeout, 5xx) after the retries, or answered garbage."""

    def __init__(self, api: str, reason: str) -> None:
        super().__init__(f"{api}: {reason}")
        self.api, self.reason = api, reason


class WeChatApiError(WeChatError):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, api: str = "") -> None:
        super().__init__(f"{api or 'wechat'}: errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg, self.api = errcode, errmsg, api


class TokenInvalid(WeChatApiError):
    """40001 / 40014 / 42001: the access_token is wrong or expired."""


class WindowExpired(WeChatApiError):
    """45015: more than 48 h since the user's last message (or the user never wrote)."""


class QuotaExceeded(WeChatApiError):
    """45047: too many customer-service messages since the user's last message."""


class NoSubscribeConsent(WeChatApiError):
    """43101: the user has no (remaining) consent for this subscribe-message template."""


class ContentRisky(WeChatApiError):
    """87014: the content was refused by WeChat's content security check."""


class InvalidCode(WeChatApiError):
    """40029 / 40163: a login or phone code that is unknown, expired or already used."""


class RateLimited(WeChatApiError):
    """45009 / 45011: the app's API quota or frequency limit was reached."""


class MediaTooLarge(WeChatError):
    """A downloaded media file is bigger than the caller's limit."""

    def __init__(self, media_id: str, max_bytes: int) -> None:
        super().__init__(f"media {media_id} exceeds {max_bytes} bytes")
        self.media_id, self.max_bytes = media_id, max_bytes


class TokenUnavailable(WeChatError):
    """No access_token could be obtained within the wait (another instance holds the refresh lock)."""


ERRCODES: dict[int, type[WeChatApiError]] = {
    40001: TokenInvalid, 40014: TokenInvalid, 42001: TokenInvalid,
    45015: WindowExpired,
    45047: QuotaExceeded,
    43101: NoSubscribeConsent,
    87014: ContentRisky,
    40029: InvalidCode, 40163: InvalidCode,
    45009: RateLimited, 45011: RateLimited,
}


def error_for(errcode: int, errmsg: str, api: str = "") -> WeChatApiError:
    """The exception for an errcode: its mapped subclass, or WeChatApiError itself."""
    return ERRCODES.get(errcode, WeChatApiError)(errcode, errmsg, api)
