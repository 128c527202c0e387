"""Session tokens: signed, expiring, tamper-evident; revocation through Sessions."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from bot.accounts import Sessions, SessionTokens, WeChatIdentity
from bot.config import Settings

KEY = os.urandom(32)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class MemoryRevocations:
    def __init__(self) -> None:
        self.revoked: dict[str, datetime] = {}

    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None:
        self.revoked[token_id] = expires_at

    async def is_revoked(self, token_id: str) -> bool:
        return token_id in self.revoked

    async def purge(self, now: datetime) -> int:
        return 0


def test_a_token_carries_the_identity_until_it_expires() -> None:
    clock = Clock()
    tokens = SessionTokens(KEY, timedelta(hours=2), clock)
    token, claims = tokens.issue(WeChatIdentity("oUser1", "uUnion1"))
    assert tokens.verify(token) == claims
    assert (claims.user, claims.unionid, claims.expires_at) == ("oUser1", "uUnion1", clock.now + timedelta(hours=2))
    assert len(token) < 200  # compact enough for a header
    assert tokens.issue(WeChatIdentity("oUser1"))[1].unionid is None
    assert tokens.issue(WeChatIdentity("oUser1"))[1].token_id != claims.token_id
    clock.now += timedelta(hours=2)
    assert tokens.verify(token) is None


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("v1.", "v2.", 1),
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: t.rsplit(".", 1)[0] + ".",
    lambda t: "v1." + base64.urlsafe_b64encode(b'{"sub":"oOther","iat":1,"exp":9999999999,"jti":"x"}').decode()
    + "." + t.rsplit(".", 1)[1],
    lambda t: t + "é",
    lambda t: "",
])
def test_tampered_tokens_are_refused(mutate) -> None:
    tokens = SessionTokens(KEY, timedelta(hours=2), Clock())
    token, _ = tokens.issue(WeChatIdentity("oUser1"))
    assert tokens.verify(mutate(token)) is None


def test_another_key_or_a_malformed_payload_is_refused() -> None:
    token, _ = SessionTokens(KEY, timedelta(hours=2), Clock()).issue(WeChatIdentity("oUser1"))
    assert SessionTokens(os.urandom(32), timedelta(hours=2), Clock()).verify(token) is None
    tokens = SessionTokens(KEY, timedelta(hours=2), Clock())
    huge = b'{"sub":"x","iat":1,"exp":100000000000000000000,"jti":"j"}'
    for payload in (b"[]", b'{"sub":"x"}', b"not json", huge):
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()  # signed with our key, bad claims
        signature = base64.urlsafe_b64encode(hmac.new(KEY, f"v1.{encoded}".encode(), hashlib.sha256).digest())
        assert tokens.verify(f"v1.{encoded}.{signature.rstrip(b'=').decode()}") is None
    with pytest.raises(ValueError):
        SessionTokens(b"short", timedelta(hours=2), Clock())


async def test_a_revoked_token_is_refused() -> None:
    sessions = Sessions(SessionTokens(KEY, timedelta(hours=2), Clock()), MemoryRevocations())
    token, claims = sessions.issue(WeChatIdentity("oUser1"))
    other, _ = sessions.issue(WeChatIdentity("oUser1"))
    assert await sessions.authenticate(token) == claims
    await sessions.revoke(claims)
    assert await sessions.authenticate(token) is None
    assert await sessions.authenticate(other) is not None
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == {
        "sub": "oUser1", "iat": int(claims.issued_at.timestamp()), "exp": int(claims.expires_at.timestamp()),
        "jti": claims.token_id}


def test_settings_check_the_login_configuration() -> None:
    with pytest.raises(ValueError, match="require_login needs wechat_appid"):
        Settings.load(None, require_login=True)
    with pytest.raises(ValueError, match="session_token_key"):
        Settings.load(None, session_token_key="c2hvcnQ=")
    key = base64.b64encode(os.urandom(32)).decode()
    assert Settings.load(None, session_token_key=key).session_token_hours == 2
