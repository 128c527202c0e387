"""`WeChatApi`: one async client for every WeChat server API the mini-program uses.

Over a caller-owned aiohttp.ClientSession, with a configurable base URL (tests and development point it
at sim.wechat). Each call has a timeout; network errors, timeouts and 5xx answers are retried (`retries`
times, short linear back-off), an errcode never is: it is raised as its mapped WeChatApiError subclass
(providers/wechat/errors.py). A call refused with TokenInvalid (40001/40014/42001) invalidates the token
and is made exactly once more with a fresh one. Note that a customer-service send retried after a timeout
may reach the user twice (WeChat has no idempotency key for it): set retries=0 if that matters more.

The access_token, the app secret and login codes travel in the query string and are never logged: logs
name the URL path only, and network errors are reported with those values redacted.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr

from bot.token_cache import TokenCache
from providers.wechat.errors import (ContentRisky, InvalidCode, MediaTooLarge, NoSubscribeConsent, QuotaExceeded,
                                     RateLimited, TokenInvalid, TokenUnavailable, WeChatApiError, WeChatError,
                                     WeChatUnavailable, WindowExpired, error_for)
from providers.wechat.tokens import AccessTokens, IssuedToken, TokenProvider, TokenTiming

log = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_JSON_BYTES = 1024 * 1024
_SECRET_PARAMS = ("access_token", "secret", "js_code")


class LoginSession(BaseModel):
    """code2session's answer. session_key is secret (it decrypts the user's wx.getUserInfo data)."""

    openid: str
    session_key: SecretStr
    unionid: str | None = None


class PhoneNumber(BaseModel):
    phone_number: str           # with country code for foreign numbers
    pure_phone_number: str      # without
    country_code: str


class SecCheckResult(BaseModel):
    """msg_sec_check (version 2): suggest is "pass", "review" or "risky"; label 100 is normal content."""

    suggest: str
    label: int
    trace_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.suggest == "pass"


class TempMedia(BaseModel):
    data: bytes
    content_type: str
    filename: str | None = None


class _Retryable(Exception):
    """An answer worth retrying like a network error (5xx)."""


class _Metrics:
    """Counts per API name: calls, retries (network), token_retries, errors by errcode (or "network")."""

    def __init__(self) -> None:
        self._by_api: dict[str, dict[str, Any]] = {}

    def _api(self, api: str) -> dict[str, Any]:
        return self._by_api.setdefault(api, {"calls": 0, "retries": 0, "token_retries": 0, "errors": {}})

    def count(self, api: str, what: str) -> None:
        self._api(api)[what] += 1

    def error(self, api: str, code: int | str) -> None:
        errors = self._api(api)["errors"]
        errors[str(code)] = errors.get(str(code), 0) + 1

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._by_api)


class WeChatApi:
    """Every WeChat server API for one mini-program (appid + secret).

    session: owned by the caller (closed by it); token_cache: where the access_token is shared (MemoryTokenCache
    for one instance, RedisTokenCache with several; there is no default, so wiring cannot forget it);
    timeout: seconds per attempt; retries: extra attempts after a network error, timeout or 5xx; retry_delay:
    seconds, multiplied by the attempt number."""

    def __init__(self, session: aiohttp.ClientSession, appid: str, secret: str, *, token_cache: TokenCache,
                 api_base: str = "https://api.weixin.qq.com", timeout: float = 5.0, retries: int = 1,
                 retry_delay: float = 0.2, token_timing: TokenTiming = TokenTiming()) -> None:
        self._session, self._appid, self._secret = session, appid, secret
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries, self._retry_delay = retries, retry_delay
        self._metrics = _Metrics()
        self.tokens: TokenProvider = AccessTokens(self.stable_token, token_cache, token_timing)

    @property
    def appid(self) -> str:
        return self._appid

    def metrics(self) -> dict[str, dict[str, Any]]:
        """A copy of the counters: {api: {"calls", "retries", "token_retries", "errors": {errcode: n}}}."""
        return self._metrics.snapshot()

    # ---- transport -------------------------------------------------------------------------------------

    def _check(self, api: str, data: Any) -> dict[str, Any]:
        """The answer if errcode is 0 (or absent); else the mapped exception, counted."""
        if not isinstance(data, dict):
            self._metrics.error(api, "malformed")
            raise WeChatUnavailable(api, "answer is not a JSON object")
        errcode = data.get("errcode", 0)
        if errcode in (0, None, "0"):
            return data
        try:
            code = int(errcode)
        except (TypeError, ValueError):
            code = -1
        self._metrics.error(api, code)
        raise error_for(code, str(data.get("errmsg", "")), api)

    async def _read_json(self, api: str, response: aiohttp.ClientResponse) -> dict[str, Any]:
        raw = await response.content.read(_MAX_JSON_BYTES + 1)
        if len(raw) > _MAX_JSON_BYTES:
            raise WeChatUnavailable(api, "answer too large")
        try:
            data = json.loads(raw)
        except ValueError:
            self._metrics.error(api, "malformed")
            raise WeChatUnavailable(api, f"answer is not JSON (HTTP {response.status})") from None
        return self._check(api, data)

    @staticmethod
    def _redact(text: str, params: Mapping[str, str]) -> str:
        for name in _SECRET_PARAMS:
            if params.get(name):
                text = text.replace(params[name], "***")
        return text

    async def _request(self, api: str, method: str, path: str, params: Mapping[str, str],
                       reader: Callable[[aiohttp.ClientResponse], Awaitable[T]], *,
                       json_body: Any = None, form: Callable[[], aiohttp.FormData] | None = None) -> T:
        """One logical request, retried on network errors, timeouts and 5xx; `reader` turns the answer
        into the result (raising WeChatApiError for an errcode)."""
        headers: dict[str, str] = {}
        data: bytes | None = None
        if json_body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(json_body, ensure_ascii=False).encode()
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                async with self._session.request(method, self._base + path, params=params, headers=headers,
                                                 data=form() if form else data, timeout=self._timeout) as resp:
                    log.debug("wechat %s %s -> HTTP %s in %.0f ms", method, path, resp.status,
                              (time.monotonic() - started) * 1000)
                    if resp.status >= 500:
                        raise _Retryable(f"HTTP {resp.status}")
                    return await reader(resp)
            except (aiohttp.ClientError, asyncio.TimeoutError, _Retryable) as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}".rstrip(": "), params)
                if attempt >= self._retries:
                    self._metrics.error(api, "network")
                    log.warning("wechat %s %s failed after %d attempt(s): %s", method, path, attempt + 1, reason)
                    raise WeChatUnavailable(api, reason) from None
                attempt += 1
                self._metrics.count(api, "retries")
                log.warning("wechat %s %s: %s; retry %d of %d", method, path, reason, attempt, self._retries)
                await asyncio.sleep(self._retry_delay * attempt)

    async def _call(self, api: str, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json_body: Any = None, form: Callable[[], aiohttp.FormData] | None = None,
                    reader: Callable[[aiohttp.ClientResponse], Awaitable[T]] | None = None,
                    with_token: bool = True) -> Any:
        """A counted call; with_token adds the access_token and retries once with a fresh one on TokenInvalid."""
        self._metrics.count(api, "calls")
        read: Callable[[aiohttp.ClientResponse], Awaitable[Any]] = reader or partial(self._read_json, api)
        base = dict(params or {})
        if not with_token:
            return await self._request(api, method, path, base, read, json_body=json_body, form=form)
        token = await self.tokens.get()
        try:
            return await self._request(api, method, path, {**base, "access_token": token}, read,
                                       json_body=json_body, form=form)
        except TokenInvalid:
            self._metrics.count(api, "token_retries")
            await self.tokens.invalidate(token)
        token = await self.tokens.get()
        return await self._request(api, method, path, {**base, "access_token": token}, read,
                                   json_body=json_body, form=form)

    # ---- access token ----------------------------------------------------------------------------------

    async def stable_token(self, force_refresh: bool = False) -> IssuedToken:
        """POST /cgi-bin/stable_token: the app's access_token (the same one for every caller until it is
        within 5 minutes of expiry, unless force_refresh). Used by AccessTokens; call tokens.get() instead."""
        data = await self._call("stable_token", "POST", "/cgi-bin/stable_token", with_token=False,
                                json_body={"grant_type": "client_credential", "appid": self._appid,
                                           "secret": self._secret, "force_refresh": force_refresh})
        try:
            return IssuedToken(str(data["access_token"]), float(data["expires_in"]))
        except (KeyError, TypeError, ValueError):
            raise WeChatUnavailable("stable_token", "answer without access_token/expires_in") from None

    # ---- login and phone -------------------------------------------------------------------------------

    async def code2session(self, code: str) -> LoginSession:
        """GET /sns/jscode2session: the openid (and unionid, session_key) behind a wx.login code.
        InvalidCode for an unknown, expired or reused code."""
        data = await self._call("code2session", "GET", "/sns/jscode2session", with_token=False,
                                params={"appid": self._appid, "secret": self._secret, "js_code": code,
                                        "grant_type": "authorization_code"})
        return LoginSession.model_validate(data)

    async def get_phone_number(self, code: str) -> PhoneNumber:
        """POST /wxa/business/getuserphonenumber: the phone number behind a getPhoneNumber button code."""
        data = await self._call("getuserphonenumber", "POST", "/wxa/business/getuserphonenumber",
                                json_body={"code": code})
        info = data.get("phone_info") or {}
        return PhoneNumber(phone_number=str(info.get("phoneNumber", "")),
                           pure_phone_number=str(info.get("purePhoneNumber", "")),
                           country_code=str(info.get("countryCode", "")))

    # ---- customer-service messages ---------------------------------------------------------------------

    async def _custom_send(self, openid: str, msgtype: str, content: dict[str, str]) -> None:
        await self._call("custom_send", "POST", "/cgi-bin/message/custom/send",
                         json_body={"touser": openid, "msgtype": msgtype, msgtype: content})

    async def send_text(self, openid: str, text: str) -> None:
        """A text customer-service message. WindowExpired after 48 h of silence, QuotaExceeded beyond the
        number of messages allowed per user message."""
        await self._custom_send(openid, "text", {"content": text})

    async def send_image(self, openid: str, media_id: str) -> None:
        """An image previously uploaded with upload_temp_media."""
        await self._custom_send(openid, "image", {"media_id": media_id})

    async def send_miniprogram_page(self, openid: str, title: str, pagepath: str, thumb_media_id: str) -> None:
        """A card that opens a page of this mini-program."""
        await self._custom_send(openid, "miniprogrampage",
                                {"title": title, "pagepath": pagepath, "thumb_media_id": thumb_media_id})

    async def send_link(self, openid: str, title: str, description: str, url: str, thumb_url: str) -> None:
        """A link card (an H5 page)."""
        await self._custom_send(openid, "link",
                                {"title": title, "description": description, "url": url, "thumb_url": thumb_url})

    # ---- subscribe messages ----------------------------------------------------------------------------

    async def send_subscribe(self, openid: str, template_id: str, page: str, data: Mapping[str, str], *,
                             miniprogram_state: str = "formal", lang: str = "zh_CN") -> None:
        """POST /cgi-bin/message/subscribe/send; data maps the template's keys (e.g. "thing1") to values.
        NoSubscribeConsent when the user has no consent left for the template."""
        await self._call("subscribe_send", "POST", "/cgi-bin/message/subscribe/send",
                         json_body={"touser": openid, "template_id": template_id, "page": page,
                                    "data": {key: {"value": value} for key, value in data.items()},
                                    "miniprogram_state": miniprogram_state, "lang": lang})

    # ---- media -----------------------------------------------------------------------------------------

    async def get_temp_media(self, media_id: str, max_bytes: int) -> TempMedia:
        """GET /cgi-bin/media/get: a temporary media file (e.g. an image the user sent), streamed and
        refused with MediaTooLarge as soon as it exceeds max_bytes."""

        async def read(response: aiohttp.ClientResponse) -> TempMedia:
            content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
            if content_type in ("application/json", "text/plain"):
                await self._read_json("media_get", response)  # raises for an errcode
                raise WeChatUnavailable("media_get", "JSON answer without media")
            if response.content_length is not None and response.content_length > max_bytes:
                raise MediaTooLarge(media_id, max_bytes)
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(media_id, max_bytes)
                chunks.append(chunk)
            disposition = response.content_disposition
            return TempMedia(data=b"".join(chunks), content_type=content_type,
                             filename=disposition.filename if disposition else None)

        try:
            media: TempMedia = await self._call("media_get", "GET", "/cgi-bin/media/get", params={"media_id": media_id},
                                                reader=read)
            return media
        except MediaTooLarge:
            self._metrics.error("media_get", "too_large")
            raise

    async def upload_temp_media(self, data: bytes, filename: str, mime: str) -> str:
        """POST /cgi-bin/media/upload?type=image: the media_id (valid 3 days) of an image to send."""

        def form() -> aiohttp.FormData:
            made = aiohttp.FormData()
            made.add_field("media", data, filename=filename, content_type=mime)
            return made

        answer = await self._call("media_upload", "POST", "/cgi-bin/media/upload", params={"type": "image"},
                                  form=form)
        if not answer.get("media_id"):
            raise WeChatUnavailable("media_upload", "answer without media_id")
        return str(answer["media_id"])

    # ---- content security ------------------------------------------------------------------------------

    async def msg_sec_check(self, openid: str, content: str) -> SecCheckResult:
        """POST /wxa/msg_sec_check (version 2, scene 1 = profile): WeChat's verdict on a user's text."""
        data = await self._call("msg_sec_check", "POST", "/wxa/msg_sec_check",
                                json_body={"openid": openid, "content": content, "version": 2, "scene": 1})
        result = data.get("result") or {}
        return SecCheckResult(suggest=str(result.get("suggest", "review")), label=int(result.get("label", 0)),
                              trace_id=data.get("trace_id"))


__all__ = ["WeChatApi", "LoginSession", "PhoneNumber", "SecCheckResult", "TempMedia",
           # the exceptions, re-exported so that callers need one import
           "WeChatError", "WeChatApiError", "WeChatUnavailable", "TokenInvalid", "WindowExpired", "QuotaExceeded",
           "NoSubscribeConsent", "ContentRisky", "InvalidCode", "RateLimited", "MediaTooLarge", "TokenUnavailable"]
