"""WeChat, played locally for one mini-program: the server APIs we call and the callbacks WeChat pushes.

`WeChatSimulator(...).app` is an aiohttp application answering like api.weixin.qq.com: login codes
(/sns/jscode2session), access tokens (/cgi-bin/stable_token, /cgi-bin/token) that expire, customer-service
sends with the 48 h window and the per-message quota, subscribe messages with per-template consent,
temporary media, msg_sec_check and phone numbers. Tests drive it through methods (issue_code,
grant_subscription, put_media, expire_tokens, fail_next, drop_next, push …) and read what it recorded
(`sent`, `subscribe_sent`, `token_fetches`, `deliveries`); the same is exposed under /sim/ for manual use.

`push()` delivers a user message to our callback URL the way WeChat does: signed, AES-encrypted in safe
mode, JSON or XML, retried when the answer is not a 200 "success" within the timeout.

Run standalone: `python -m sim.wechat --port 8091`.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from providers.wechat.crypto import MessageCipher
from sim.wechat_push import CallbackPusher, Delivery

DEFAULT_AES_KEY = base64.b64encode(b"zhengwu-bot wechat simulator key").decode().rstrip("=")
TOKEN_LIFETIME = 7200
STABLE_RENEW_BEFORE = 300       # the stable token is renewed when fewer seconds are left
MAX_IMAGE_BYTES = 10 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """An errcode answer."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


@dataclass
class _Code:
    value: str            # openid for login codes, phone number for phone codes
    unionid: str | None
    expires_at: float
    used: bool = False


@dataclass
class _Media:
    data: bytes
    mime: str
    declare_length: bool = True


@dataclass(frozen=True)
class _Fault:
    errcode: int | None = None     # answer this errcode
    errmsg: str = ""
    drop_after: float | None = None  # or drop the connection after this many seconds


class WeChatSimulator:
    """WeChat for one mini-program. All state is per instance; `clock` drives every expiry."""

    def __init__(self, appid: str = "wx5f0c1e2d3b4a6978", secret: str = "sim-app-secret",
                 token: str = "sim-push-token", encoding_aes_key: str = DEFAULT_AES_KEY, *,
                 username: str = "gh_5f0c1e2d3b4a", clock: Callable[[], float] = time.time,
                 risky_words: Mapping[str, int] | None = None, token_latency: float = 0.0,
                 sends_per_message: int = 5, window_seconds: float = 48 * 3600, code_ttl: float = 300,
                 push_timeout: float = 5.0, push_retries: int = 3, push_retry_delay: float = 0.0) -> None:
        self.appid, self.secret, self.token, self.username = appid, secret, token, username
        self.cipher = MessageCipher(encoding_aes_key, appid)
        self._clock = clock
        self.risky_words: dict[str, int] = dict(risky_words if risky_words is not None
                                                else {"赌博": 20006, "代开发票": 20008})
        self.token_latency = token_latency
        self.sends_per_message, self.window_seconds, self.code_ttl = sends_per_message, window_seconds, code_ttl
        self._msg_ids = itertools.count(24_000_000_000_000_001)  # pushed messages' MsgId and subscribe msgid
        self._pusher = CallbackPusher(username=username, token=token, cipher=self.cipher, clock=clock,
                                      msg_ids=self._msg_ids, timeout=push_timeout, retries=push_retries,
                                      retry_delay=push_retry_delay)
        self.deliveries: list[Delivery] = self._pusher.deliveries  # every pushed copy: attempts and outcome
        self.transfers: list[str] = self._pusher.transfers  # openids whose chat our server handed to the agents
        self.token_fetches = 0
        self.sent: list[dict[str, Any]] = []
        self.subscribe_sent: list[dict[str, Any]] = []
        self._codes: dict[str, _Code] = {}
        self._phone_codes: dict[str, _Code] = {}
        self._tokens: dict[str, float] = {}
        self._stable: str | None = None
        self._last_message: dict[str, float] = {}
        self._sends_left: dict[str, int] = {}
        self._consents: dict[tuple[str, str], int] = {}
        self._media: dict[str, _Media] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self.app = self._build_app()

    # ---- test controls ---------------------------------------------------------------------------------

    def issue_code(self, openid: str, unionid: str | None = None) -> str:
        """A single-use wx.login code for openid, valid code_ttl seconds."""
        code = secrets.token_hex(16)
        self._codes[code] = _Code(openid, unionid, self._clock() + self.code_ttl)
        return code

    def issue_phone_code(self, phone: str) -> str:
        """A single-use getPhoneNumber code for a phone number."""
        code = secrets.token_hex(16)
        self._phone_codes[code] = _Code(phone, None, self._clock() + self.code_ttl)
        return code

    def expire_tokens(self) -> None:
        """Every access_token issued so far expires now (42001 on use)."""
        for token in self._tokens:
            self._tokens[token] = self._clock() - 1

    def grant_subscription(self, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted `count` more subscribe messages of this template."""
        key = (openid, template_id)
        self._consents[key] = self._consents.get(key, 0) + count

    def put_media(self, media_id: str, data: bytes, mime: str, *, declare_length: bool = True) -> None:
        """Serve data at /cgi-bin/media/get; declare_length=False streams it chunked, without Content-Length."""
        self._media[media_id] = _Media(data, mime, declare_length)

    def note_user_message(self, openid: str, at: float | None = None) -> None:
        """The user wrote at `at` (default now): opens the 48 h window and resets the send quota."""
        self._last_message[openid] = self._clock() if at is None else at
        self._sends_left[openid] = self.sends_per_message

    def fail_next(self, path: str, errcode: int, errmsg: str = "simulated failure") -> None:
        """The next request to `path` (e.g. "/cgi-bin/message/custom/send") answers this errcode."""
        self._faults.setdefault(path, deque()).append(_Fault(errcode=errcode, errmsg=errmsg))

    def drop_next(self, path: str, *, after: float = 0.0) -> None:
        """The next request to `path` gets its connection dropped, after `after` seconds (a timeout
        when longer than the client's), without being processed."""
        self._faults.setdefault(path, deque()).append(_Fault(drop_after=after))

    def add_risky_word(self, word: str, label: int = 20006) -> None:
        """msg_sec_check answers "risky" with this label for content containing word."""
        self.risky_words[word] = label

    # ---- app -------------------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors_and_faults], client_max_size=MAX_IMAGE_BYTES + 64 * 1024)
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_get("/cgi-bin/token", self._plain_token)
        app.router.add_get("/sns/jscode2session", self._jscode2session)
        app.router.add_post("/wxa/business/getuserphonenumber", self._phone_number)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/subscribe/send", self._subscribe_send)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_post("/wxa/msg_sec_check", self._msg_sec_check)
        app.router.add_post("/sim/codes", self._sim_codes)
        app.router.add_post("/sim/phone_codes", self._sim_phone_codes)
        app.router.add_post("/sim/subscriptions", self._sim_subscriptions)
        app.router.add_post("/sim/expire_tokens", self._sim_expire_tokens)
        app.router.add_post("/sim/push", self._sim_push)
        app.router.add_get("/sim/sent", self._sim_sent)
        return app

    @web.middleware
    async def _errors_and_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        queued = self._faults.get(request.path)
        if queued:
            fault = queued.popleft()
            if fault.drop_after is not None:
                if fault.drop_after:
                    await asyncio.sleep(fault.drop_after)
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)  # never reaches the client
            return self._error(fault.errcode or -1, fault.errmsg)
        try:
            return await handler(request)
        except Refused as refused:
            return self._error(refused.errcode, refused.errmsg)

    @staticmethod
    def _ok(data: Mapping[str, Any] | None = None) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "ok", **(data or {})},
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))

    @staticmethod
    def _error(errcode: int, errmsg: str) -> web.Response:
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.read())
        except ValueError:
            raise Refused(47001, "data format error") from None
        if not isinstance(data, dict):
            raise Refused(47001, "data format error")
        return data

    def _check_app(self, appid: Any, secret: Any) -> None:
        if appid != self.appid:
            raise Refused(40013, "invalid appid")
        if secret != self.secret:
            raise Refused(40125, "invalid appsecret")

    def _check_token(self, request: web.Request) -> None:
        token = request.query.get("access_token")
        if not token:
            raise Refused(41001, "access_token missing")
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise Refused(40001, "invalid credential, access_token is invalid or not latest")
        if expires_at <= self._clock():
            raise Refused(42001, "access_token expired")

    def _new_token(self) -> str:
        token = secrets.token_urlsafe(96)
        self._tokens[token] = self._clock() + TOKEN_LIFETIME
        return token

    # ---- tokens ----------------------------------------------------------------------------------------

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if body.get("grant_type") != "client_credential":
            raise Refused(40002, "invalid grant_type")
        self._check_app(body.get("appid"), body.get("secret"))
        self.token_fetches += 1
        if self.token_latency:
            await asyncio.sleep(self.token_latency)
        now = self._clock()
        current = self._stable
        left = self._tokens.get(current, 0) - now if current else 0
        if body.get("force_refresh") or left <= STABLE_RENEW_BEFORE:
            current, left = self._new_token(), TOKEN_LIFETIME
            self._stable = current
        return web.json_response({"access_token": current, "expires_in": int(left)})

    async def _plain_token(self, request: web.Request) -> web.Response:
        if request.query.get("grant_type") != "client_credential":
            raise Refused(40002, "invalid grant_type")
        self._check_app(request.query.get("appid"), request.query.get("secret"))
        self.token_fetches += 1
        return web.json_response({"access_token": self._new_token(), "expires_in": TOKEN_LIFETIME})

    # ---- login and phone -------------------------------------------------------------------------------

    def _redeem(self, codes: dict[str, _Code], code: str | None) -> _Code:
        found = codes.get(code or "")
        if found is None or found.expires_at <= self._clock():
            raise Refused(40029, "invalid code")
        if found.used:
            raise Refused(40163, "code been used")
        found.used = True
        return found

    async def _jscode2session(self, request: web.Request) -> web.Response:
        query = request.query
        self._check_app(query.get("appid"), query.get("secret"))
        if query.get("grant_type") != "authorization_code":
            raise Refused(40002, "invalid grant_type")
        found = self._redeem(self._codes, query.get("js_code"))
        answer: dict[str, Any] = {"openid": found.value,
                                  "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if found.unionid:
            answer["unionid"] = found.unionid
        return web.json_response(answer)  # no errcode on success, like WeChat

    async def _phone_number(self, request: web.Request) -> web.Response:
        self._check_token(request)
        found = self._redeem(self._phone_codes, (await self._json(request)).get("code"))
        return self._ok({"phone_info": {"phoneNumber": found.value, "purePhoneNumber": found.value,
                                        "countryCode": "86",
                                        "watermark": {"timestamp": int(self._clock()), "appid": self.appid}}})

    # ---- customer-service messages ---------------------------------------------------------------------

    def _custom_content(self, msgtype: Any, content: Any) -> dict[str, Any]:
        if not isinstance(content, dict):
            raise Refused(47001, "data format error")
        required = {"text": ("content",), "image": ("media_id",), "link": ("title", "url"),
                    "miniprogrampage": ("title", "pagepath", "thumb_media_id")}.get(msgtype)
        if required is None:
            raise Refused(40008, "invalid message type")
        if any(not isinstance(content.get(name), str) or not content[name] for name in required):
            raise Refused(47001, "data format error")
        media_id = content.get("media_id") or content.get("thumb_media_id")
        if msgtype in ("image", "miniprogrampage") and media_id not in self._media:
            raise Refused(40007, "invalid media_id")
        return content

    async def _custom_send(self, request: web.Request) -> web.Response:
        self._check_token(request)
        body = await self._json(request)
        openid, msgtype = body.get("touser"), body.get("msgtype")
        if not isinstance(openid, str) or not openid:
            raise Refused(40003, "invalid openid")
        content = self._custom_content(msgtype, body.get(msgtype) if isinstance(msgtype, str) else None)
        assert isinstance(msgtype, str)  # _custom_content refused any other
        last = self._last_message.get(openid)
        if last is None or self._clock() - last > self.window_seconds:
            raise Refused(45015, "response out of time limit or subscription is canceled")
        if self._sends_left.get(openid, 0) <= 0:
            raise Refused(45047, "out of response count limit")
        self._sends_left[openid] -= 1
        self.sent.append({"touser": openid, "msgtype": msgtype, msgtype: content, "at": self._clock()})
        return self._ok()

    async def _subscribe_send(self, request: web.Request) -> web.Response:
        self._check_token(request)
        body = await self._json(request)
        openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(openid, str) or not openid:
            raise Refused(40003, "invalid openid")
        if not isinstance(template_id, str) or not template_id:
            raise Refused(40037, "invalid template_id")
        if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("value"), str)
                                                 for v in data.values()):
            raise Refused(47003, "argument invalid! data.value invalid")
        key = (openid, template_id)
        if self._consents.get(key, 0) <= 0:
            raise Refused(43101, "user refuse to accept the msg")
        self._consents[key] -= 1
        self.subscribe_sent.append({"touser": openid, "template_id": template_id, "page": body.get("page"),
                                    "data": {k: v["value"] for k, v in data.items()}, "at": self._clock()})
        return self._ok({"msgid": next(self._msg_ids)})

    # ---- media -----------------------------------------------------------------------------------------

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        self._check_token(request)
        media_id = request.query.get("media_id", "")
        media = self._media.get(media_id)
        if media is None:
            raise Refused(40007, "invalid media_id")
        extension = media.mime.split("/")[-1]
        headers = {"Content-Disposition": f'attachment; filename="{media_id}.{extension}"'}
        if media.declare_length:
            return web.Response(body=media.data, content_type=media.mime, headers=headers)
        response = web.StreamResponse(headers={**headers, "Content-Type": media.mime})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(media.data), 16 * 1024):
            await response.write(media.data[start:start + 16 * 1024])
        await response.write_eof()
        return response

    async def _media_upload(self, request: web.Request) -> web.Response:
        self._check_token(request)
        if request.query.get("type") != "image":
            raise Refused(40004, "invalid media type")
        data, mime = None, ""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, aiohttp.BodyPartReader) and part.name == "media":
                    mime = part.headers.get("Content-Type", "")
                    data = await part.read()
        if data is None:
            raise Refused(41005, "media data missing")
        if not mime.startswith("image/"):
            raise Refused(40005, "invalid file type")
        if len(data) > MAX_IMAGE_BYTES:
            raise Refused(40009, "invalid image size")
        media_id = secrets.token_urlsafe(48)
        self._media[media_id] = _Media(bytes(data), mime)
        return web.json_response({"type": "image", "media_id": media_id, "created_at": int(self._clock())})

    # ---- content security ------------------------------------------------------------------------------

    async def _msg_sec_check(self, request: web.Request) -> web.Response:
        self._check_token(request)
        body = await self._json(request)
        if body.get("version") != 2 or body.get("scene") not in (1, 2, 3, 4) or not body.get("openid"):
            raise Refused(47003, "argument invalid!")
        content = body.get("content")
        if not isinstance(content, str):
            raise Refused(47001, "data format error")
        hits = [(word, label) for word, label in self.risky_words.items() if word in content]
        suggest, label = ("risky", hits[0][1]) if hits else ("pass", 100)
        detail = [{"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label,
                   **({"keyword": hits[0][0]} if hits else {})}]
        return self._ok({"result": {"suggest": suggest, "label": label}, "detail": detail,
                         "trace_id": secrets.token_hex(12)})

    # ---- /sim controls over HTTP -----------------------------------------------------------------------

    async def _sim_codes(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not body.get("openid"):
            raise Refused(47003, "openid missing")
        return web.json_response({"code": self.issue_code(str(body["openid"]), body.get("unionid"))})

    async def _sim_phone_codes(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not body.get("phone"):
            raise Refused(47003, "phone missing")
        return web.json_response({"code": self.issue_phone_code(str(body["phone"]))})

    async def _sim_subscriptions(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not body.get("openid") or not body.get("template_id"):
            raise Refused(47003, "openid and template_id required")
        self.grant_subscription(str(body["openid"]), str(body["template_id"]), int(body.get("count", 1)))
        return self._ok()

    async def _sim_expire_tokens(self, request: web.Request) -> web.Response:
        self.expire_tokens()
        return self._ok()

    async def _sim_push(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body.get("url"), str) or not isinstance(body.get("message"), dict):
            raise Refused(47003, "url and message required")
        results = await self.push(body["url"], body["message"], mode=body.get("mode", "safe"),
                                  fmt=body.get("fmt", "json"), duplicates=int(body.get("duplicates", 0)))
        return self._ok({"results": results})

    async def _sim_sent(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": self.sent, "subscribe_sent": self.subscribe_sent},
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))

    # ---- pushing callbacks (sim.wechat_push) ----------------------------------------------------------

    def complete_message(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The message with WeChat's defaults: ToUserName, CreateTime and (for non-events) a new MsgId."""
        return self._pusher.complete_message(message)

    def signed_request(self, message: Mapping[str, Any], *, mode: str = "safe",
                       fmt: str = "json") -> tuple[dict[str, str], bytes, str]:
        """(query, body, content_type) of one callback carrying `message` (already complete)."""
        return self._pusher.signed_request(message, mode=mode, fmt=fmt)

    async def push(self, url: str, message: Mapping[str, Any], *, mode: str = "safe", fmt: str = "json",
                   duplicates: int = 0) -> list[int | str]:
        """Deliver a user message to our callback URL like WeChat; one result per copy sent (1 + duplicates):
        "success", or the last failure (an HTTP status, "timeout" or "unreachable") after the retries. The
        message opens the user's 48 h customer-service window, as on WeChat."""
        full = self._pusher.complete_message(message)
        self.note_user_message(str(full["FromUserName"]))
        return await self._pusher.push(url, full, mode=mode, fmt=fmt, duplicates=duplicates)

    async def verify_url(self, url: str) -> bool:
        """WeChat's URL check: a signed GET with an echostr; True when the answer is that echostr."""
        return await self._pusher.verify_url(url)

    # ---- serving ---------------------------------------------------------------------------------------

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve the simulator while the block runs; yields its base URL (use it as WeChatApi's api_base)."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        try:
            yield f"http://{bound_host}:{bound_port}"
        finally:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """python -m sim.wechat [--port 8091] [--appid … --secret … --token … --aes-key …]"""
    parser = argparse.ArgumentParser(description="Local WeChat simulator for one mini-program.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--appid", default="wx5f0c1e2d3b4a6978")
    parser.add_argument("--secret", default="sim-app-secret")
    parser.add_argument("--token", default="sim-push-token")
    parser.add_argument("--aes-key", default=DEFAULT_AES_KEY, help="EncodingAESKey (43 characters)")
    args = parser.parse_args(argv)
    simulator = WeChatSimulator(args.appid, args.secret, args.token, args.aes_key)
    print(f"WeChat simulator for {args.appid} on http://{args.host}:{args.port} "
          f"(push token {args.token!r}, EncodingAESKey {args.aes_key})", flush=True)
    web.run_app(simulator.app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
