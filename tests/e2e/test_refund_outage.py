"""A payment-provider outage when a paid case is refused, on SQLite and PostgreSQL, over HTTP against the WeChat
Pay simulator answering 500 and the WeChat simulator taking subscribe messages: the citizen's messages (in the
chat and the subscribe message) go out at the first dispatch anyway, the refund is retried past the limit at
which a message is given up and is never a dead letter, supervisors are told once, and the refund succeeds once
the provider is back."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config import Settings
from bot.outbox.events import MAX_ATTEMPTS
from sim.wechat import WeChatSimulator
from sim.wechatpay import WeChatPaySimulator
from sim.wechatpay_keys import SimKeys, generate_test_keys
from tests.clock import Clock
from tests.chat import ROOT
from tests.e2e.casework import auth, deliver, move, new_messages
from tests.e2e.miniprogram.session import TEMPLATES, SessionChat, bearer, login
from tests.e2e.wechatpay import app_on_simulator, fee_state, ordered

FAILURES = MAX_ATTEMPTS + 4  # refund requests the provider answers with 500 before it is back
OPENID = "oOutage1"


@pytest.fixture
def wechat() -> WeChatSimulator:
    return WeChatSimulator()


@pytest.fixture
async def wechat_url(wechat: WeChatSimulator) -> AsyncIterator[str]:
    async with wechat.serve() as base:
        yield base


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, wechat: WeChatSimulator, wechat_url: str) -> Settings:
    """The app with WeChat (subscribe messages), on SQLite or PostgreSQL."""
    database = (request.getfixturevalue("postgres_url") if request.param == "postgres"
                else f"sqlite+aiosqlite:///{tmp_path}/t.db")
    return Settings.load(None, database_url=database, blob_dir=tmp_path / "blobs", intents_dir=ROOT / "intents",
                         field_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", uploads={"max_bytes": 200_000},
                         wechat_appid=wechat.appid, wechat_secret=wechat.secret, wechat_token=wechat.token,
                         wechat_api_base=wechat_url, wechat_templates=TEMPLATES)


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return generate_test_keys()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture
def sim(keys: SimKeys, clock: Clock) -> WeChatPaySimulator:
    """On our settable clock (its notifications stay fresh as the test moves time); our requests carry the real
    time, so its window for them is wide."""
    return WeChatPaySimulator.from_keys(keys, time_scale=0.001, clock=lambda: clock().timestamp(),
                                        request_window_seconds=7 * 86400)


@pytest.fixture
async def client(aiohttp_client, aiohttp_server, settings, content, clock, keys, sim, tmp_path: Path):
    """Our app with WeChat (subscribe messages) and WeChat Pay pointed at their simulators."""
    return await app_on_simulator(aiohttp_client, aiohttp_server, settings, content, clock, keys, sim, tmp_path)


async def staff_get(client, token: str, path: str) -> dict:
    response = await client.get(path, headers=auth(token))
    assert response.status == 200
    return await response.json()


async def test_refund_outage_delays_neither_the_message_nor_loses_the_refund(client, tokens, sim, wechat,
                                                                             clock) -> None:
    token = await login(client, wechat, OPENID)
    citizen = SessionChat(client, OPENID, token)
    number, payment = await ordered(client, citizen, tokens)
    sim.pay(payment["out_trade_no"])
    await sim.drain()
    assert await fee_state(citizen, number) == "paid"
    await deliver(client)
    await new_messages(client, citizen.user)  # the messages so far (accepted, paid), read

    consented = await client.post("/api/v1/wechat/subscriptions", json={"results": {"tpl-progress": "accept"}},
                                  headers=bearer(token))
    assert consented.status == 200
    wechat.grant_subscription(OPENID, "tpl-progress")
    sim.inject_fault("server_error", times=FAILURES)
    assert (await move(client, tokens["approver"], number, to="refused", reason="不符合申领条件"))[0] == 200
    await deliver(client)
    [refusal, invitation] = await new_messages(client, citizen.user)
    assert number in refusal and "不予受理" in refusal and "不符合申领条件" in refusal
    assert "评价" in invitation  # the rating invitation, a message of its own
    [pushed] = wechat.subscribe_sent  # before, it waited behind the refund
    assert pushed["data"]["character_string2"] == number and pushed["data"]["phrase3"] == "不予受理"
    assert await fee_state(citizen, number) == "paid"

    for attempt in range(2, FAILURES + 1):
        clock.now += timedelta(hours=1, seconds=1)  # past the back-off, which stops growing at an hour
        await deliver(client)
        notices = [n for n in (await staff_get(client, tokens["supervisor"], "/api/v1/staff/notifications"))
                   ["notifications"] if n["kind"] == "refund.stuck"]
        assert len(notices) == (attempt >= MAX_ATTEMPTS), attempt
        dead = await staff_get(client, tokens["supervisor"], "/api/v1/staff/outbox/dead")
        assert dead == {"dead_letters": []}
    assert notices[0]["case_number"] == number and number in notices[0]["text"]
    assert "PaymentUnavailable" in notices[0]["text"]
    assert await fee_state(citizen, number) == "paid" and await new_messages(client, citizen.user) == []
    assert len(wechat.subscribe_sent) == 1  # neither message was sent again

    clock.now += timedelta(hours=1, seconds=1)  # the provider is back
    await deliver(client)
    await sim.drain()  # the REFUND.SUCCESS notification
    assert await fee_state(citizen, number) == "refunded"
    await deliver(client)
    assert ["20.00 元已原路退回" in text for text in await new_messages(client, citizen.user)] == [True]
    assert await staff_get(client, tokens["supervisor"], "/api/v1/staff/outbox/dead") == {"dead_letters": []}
