"""WeChat login API and the request authentication every citizen API uses.

POST /api/v1/auth/wechat/login {code} → {token, expires_at}; POST /api/v1/auth/logout (revokes the token);
POST /api/v1/auth/wechat/phone {code} (logged in) → {phone} masked.
"""
from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.accounts import Accounts, LoginRefused, LoginUnavailable, PhoneNotSupported, SessionClaims, Sessions
from bot.privacy import mask_value
from handlers.problems import dumps, problem, validation_problem
from handlers.routes import Param, Route

USER_PATTERN = r"^[A-Za-z0-9_\-.:]{1,128}$"
_USER = re.compile(USER_PATTERN)
USER_PARAM = Param("user", description="the citizen's id when no session token is sent (refused with require_login)")


class CodeRequest(BaseModel):
    """A one-time code from wx.login or a getPhoneNumber button."""

    code: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    """Our session token for the WeChat user, for `Authorization: Bearer`."""

    token: str
    expires_at: str = Field(description="ISO 8601, UTC")


class PhoneResponse(BaseModel):
    phone: str = Field(description="the bound number, masked (138****8000)")


def _unauthorized(detail: str) -> web.HTTPUnauthorized:
    body = dumps({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail})
    return web.HTTPUnauthorized(text=body, content_type="application/problem+json",
                                headers={"WWW-Authenticate": "Bearer"})


class RequestAuth:
    """Who is asking. With `Authorization: Bearer <token>` the user is the token's openid (a `user` sent along is
    ignored); a token that is invalid, expired or revoked is always a 401, never a silent fallback. Without a
    token the claimed `user` is trusted, unless `require_login` (production), which makes it a 401."""

    def __init__(self, sessions: Sessions, require_login: bool) -> None:
        self._sessions, self._require_login = sessions, require_login

    async def session(self, request: web.Request) -> SessionClaims | None:
        """The claims of the request's bearer token; None without one; raises 401 for a bad one."""
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        claims = await self._sessions.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            raise _unauthorized("登录已失效，请重新进入小程序。")
        return claims

    async def logged_in(self, request: web.Request) -> SessionClaims:
        """The session of a request that must be logged in, whatever require_login says; raises 401."""
        claims = await self.session(request)
        if claims is None:
            raise _unauthorized("请先登录。")
        return claims

    async def user(self, request: web.Request, claimed: str | None) -> str | None:
        """The user id of the request: the token's, else the claimed one (None if malformed or missing)."""
        claims = await self.session(request)
        if claims is not None:
            return claims.user
        if self._require_login:
            raise _unauthorized("请先登录。")
        return claimed if claimed is not None and _USER.fullmatch(claimed) else None


class AuthHandlers:
    """Routed only when WeChat is configured (without it nobody can hold a token)."""

    def __init__(self, accounts: Accounts, sessions: Sessions, auth: RequestAuth) -> None:
        self._accounts, self._sessions, self._auth = accounts, sessions, auth

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = CodeRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        try:
            token, claims = await self._accounts.login(body.code)
        except LoginRefused:
            return problem(401, "Login refused", "登录凭证无效或已使用，请重新进入小程序。")
        except LoginUnavailable:
            return _busy()
        return web.json_response(LoginResponse(token=token, expires_at=claims.expires_at.isoformat()).model_dump(),
                                 dumps=dumps)

    async def logout(self, request: web.Request) -> web.Response:
        await self._sessions.revoke(await self._auth.logged_in(request))
        return web.Response(status=204)

    async def bind_phone(self, request: web.Request) -> web.Response:
        claims = await self._auth.logged_in(request)
        try:
            body = CodeRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        try:
            phone = await self._accounts.bind_phone(claims.user, body.code)
        except LoginRefused:
            return problem(422, "Invalid code", "手机号授权已失效，请重新点击获取手机号。")
        except PhoneNotSupported:
            return problem(422, "Phone not supported", "暂时只支持中国大陆手机号，办事时可以手动填写。")
        except LoginUnavailable:
            return _busy()
        return web.json_response(PhoneResponse(phone=mask_value(phone)).model_dump(), dumps=dumps)


def _busy() -> web.Response:
    response = problem(503, "WeChat unavailable", "微信服务暂时连不上，请稍后再试。")
    response.headers["Retry-After"] = "5"
    return response


def routes(auth: AuthHandlers) -> list[Route]:
    return [
        Route("POST", "/api/v1/auth/wechat/login", auth.login,
              "Log in with a wx.login code: a session token (citizen APIs) for the WeChat user",
              request=CodeRequest, response=LoginResponse, ok=(200, "logged in"), problems=(401, 422, 503)),
        Route("POST", "/api/v1/auth/logout", auth.logout, "Revoke the session token of the request",
              security="session", ok=(204, "revoked"), problems=(401,)),
        Route("POST", "/api/v1/auth/wechat/phone", auth.bind_phone,
              "Bind the phone number of a getPhoneNumber code to the profile (stored encrypted, offered in forms)",
              security="session", request=CodeRequest, response=PhoneResponse, ok=(200, "bound"),
              problems=(401, 422, 503)),
    ]
