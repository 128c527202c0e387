"""WeChat login for the mini-program: our own short-lived, signed, revocable session tokens, and phone binding.

A token is `v1.<payload>.<signature>`: the payload is base64url of compact JSON
{"sub": openid, "uid": unionid (when WeChat gives one), "iat": issued, "exp": expiry (Unix seconds), "jti": token id},
the signature base64url of HMAC-SHA256 over "v1." + payload with the session key. Nothing is stored at login;
logout stores the token id until the token would have expired anyway (RevocationStore).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from bot.ports import ProfileStore

_VERSION = "v1"
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class LoginRefused(Exception):
    """WeChat does not know the code: unknown, expired or already used."""


class LoginUnavailable(Exception):
    """WeChat could not be reached; the client may try again shortly."""


class PhoneNotSupported(Exception):
    """The number WeChat gave is not a mainland mobile number, which the forms ask for."""


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None = None


@dataclass(frozen=True)
class PhoneNumber:
    number: str        # without country code
    country_code: str


class LoginProvider(Protocol):
    """The platform's login (WeChat's code2session and getPhoneNumber); raises LoginRefused or LoginUnavailable."""

    async def identify(self, code: str) -> WeChatIdentity: ...
    async def phone_number(self, code: str) -> PhoneNumber: ...


@dataclass(frozen=True)
class SessionClaims:
    """Who a valid session token speaks for."""

    user: str  # the openid: every citizen API uses it as the user id
    unionid: str | None
    issued_at: datetime
    expires_at: datetime
    token_id: str


class RevocationStore(Protocol):
    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None: ...
    async def is_revoked(self, token_id: str) -> bool: ...
    async def purge(self, now: datetime) -> int:
        """Forget revocations of tokens that have expired anyway; returns how many."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Issues and checks the signature and expiry of session tokens (revocation is the Sessions' job)."""

    def __init__(self, key: bytes, lifetime: timedelta, clock: Callable[[], datetime]) -> None:
        if len(key) < 32:
            raise ValueError("the session key must have at least 32 bytes")
        self._key, self._lifetime, self._clock = key, lifetime, clock

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{_VERSION}.{payload}".encode(), hashlib.sha256).digest())

    def issue(self, identity: WeChatIdentity) -> tuple[str, SessionClaims]:
        """A new token for the identity, with its claims."""
        now = int(self._clock().timestamp())
        expires = now + int(self._lifetime.total_seconds())
        claims = {"sub": identity.openid, **({"uid": identity.unionid} if identity.unionid else {}),
                  "iat": now, "exp": expires, "jti": secrets.token_hex(8)}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{_VERSION}.{payload}.{self._sign(payload)}", self._claims(claims)

    def verify(self, token: str) -> SessionClaims | None:
        """The claims of a token signed with our key and not expired; None otherwise."""
        version, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        expected = self._sign(payload).encode()
        if version != _VERSION or not payload or not hmac.compare_digest(signature.encode(), expected):
            return None
        try:
            claims = json.loads(_unb64(payload))
            parsed = self._claims(claims) if isinstance(claims, dict) else None
        except (ValueError, binascii.Error, KeyError, TypeError, OverflowError, OSError):
            return None
        return parsed if parsed is not None and parsed.expires_at > self._clock() else None

    @staticmethod
    def _claims(raw: dict[str, object]) -> SessionClaims:
        def at(name: str) -> datetime:
            return datetime.fromtimestamp(int(str(raw[name])), timezone.utc)

        unionid = raw.get("uid")
        return SessionClaims(user=str(raw["sub"]), unionid=str(unionid) if unionid else None,
                             issued_at=at("iat"), expires_at=at("exp"), token_id=str(raw["jti"]))


class Sessions:
    """Session tokens with revocation: issue at login, authenticate every request, revoke at logout."""

    def __init__(self, tokens: SessionTokens, revoked: RevocationStore) -> None:
        self._tokens, self._revoked = tokens, revoked

    def issue(self, identity: WeChatIdentity) -> tuple[str, SessionClaims]:
        return self._tokens.issue(identity)

    async def authenticate(self, token: str) -> SessionClaims | None:
        """The claims of a valid token: well signed, not expired, not revoked; else None."""
        claims = self._tokens.verify(token)
        if claims is None or await self._revoked.is_revoked(claims.token_id):
            return None
        return claims

    async def revoke(self, claims: SessionClaims) -> None:
        """Log out: the token is refused from now on (by every instance)."""
        await self._revoked.revoke(claims.token_id, claims.user, claims.expires_at)

    async def purge(self, now: datetime) -> int:
        return await self._revoked.purge(now)


class Accounts:
    """Login with a wx.login code, and binding the phone number of a getPhoneNumber code to the profile."""

    def __init__(self, login: LoginProvider, sessions: Sessions, profiles: ProfileStore) -> None:
        self._login, self._sessions, self._profiles = login, sessions, profiles

    async def login(self, code: str) -> tuple[str, SessionClaims]:
        """A session token for the WeChat user behind the code; LoginRefused / LoginUnavailable."""
        return self._sessions.issue(await self._login.identify(code))

    async def bind_phone(self, user: str, code: str) -> str:
        """Store the user's phone number (encrypted, in the profile) so the forms offer it for reuse; returns it.
        PhoneNotSupported for a number outside mainland China; LoginRefused / LoginUnavailable as for login."""
        phone = await self._login.phone_number(code)
        if phone.country_code not in ("86", "") or not _MAINLAND_MOBILE.match(phone.number):
            raise PhoneNotSupported(phone.country_code)
        profile = await self._profiles.load(user)
        await self._profiles.save(user, profile.model_copy(update={"fields": {**profile.fields,
                                                                             "phone": phone.number}}))
        return phone.number
