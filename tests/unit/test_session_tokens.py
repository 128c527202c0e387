"""Session tokens: signed, expiring, tamper-evident; revocation through Sessions."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
from datetime import datetime, timedelta, timezone

import pytest

from bot.accounts import Sessions, SessionTokens, WeChatIdentity
from bot.config import Settings
from bot.revocations import RevokedTokens

KEY = os.urandom(32)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class MemoryRecord:
    """The revocation record (SQL in the app: tests/contract/test_wechat_stores.py); `unexpired` waits for `gate`."""

    def __init__(self) -> None:
        self.revoked: dict[str, datetime] = {}
        self.gate = asyncio.Event()
        self.gate.set()

    async def revoke(self, token_id: str, user: str, expires_at: datetime) -> None:
        self.revoked[token_id] = expires_at

    async def unexpired(self, now: datetime) -> dict[str, datetime]:
        snapshot = {t: at for t, at in self.revoked.items() if at > now}
        await self.gate.wait()
        return snapshot

    async def purge(self, now: datetime) -> int:
        return 0


def revoked_tokens(record: MemoryRecord, clock: Clock) -> RevokedTokens:
    return RevokedTokens(record, lambda: None, clock, logging.getLogger("test.sessions"))


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
    clock = Clock()
    sessions = Sessions(SessionTokens(KEY, timedelta(hours=2), clock), revoked_tokens(MemoryRecord(), clock))
    token, claims = sessions.issue(WeChatIdentity("oUser1"))
    other, _ = sessions.issue(WeChatIdentity("oUser1"))
    assert await sessions.authenticate(token) == claims
    await sessions.revoke(claims)
    assert await sessions.authenticate(token) is None
    assert await sessions.authenticate(other) is not None
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")) == {
        "sub": "oUser1", "iat": int(claims.issued_at.timestamp()), "exp": int(claims.expires_at.timestamp()),
        "jti": claims.token_id}


async def test_a_reload_under_way_keeps_a_logout_made_meanwhile() -> None:
    """The record was read before the logout was written: what the reload brings back must not drop it."""
    clock, record = Clock(), MemoryRecord()
    sessions = Sessions(SessionTokens(KEY, timedelta(hours=2), clock), revoked := revoked_tokens(record, clock))
    token, claims = sessions.issue(WeChatIdentity("oUser1"))
    record.gate.clear()
    reload = asyncio.create_task(revoked.load())
    await asyncio.sleep(0)  # the reload has read the record
    await sessions.revoke(claims)
    record.gate.set()
    await reload
    assert await sessions.authenticate(token) is None
    clock.now = claims.expires_at + timedelta(seconds=1)
    await revoked.load()  # past its expiry the signature check refuses the token: memory forgets it
    assert not await revoked.is_revoked(claims.token_id) and await sessions.authenticate(token) is None


def test_settings_check_the_login_configuration() -> None:
    with pytest.raises(ValueError, match="require_login needs wechat_appid"):
        Settings.load(None, require_login=True)
    with pytest.raises(ValueError, match="session_token_key"):
        Settings.load(None, session_token_key="c2hvcnQ=")
    key = base64.b64encode(os.urandom(32)).decode()
    assert Settings.load(None, session_token_key=key).session_token_hours == 2
