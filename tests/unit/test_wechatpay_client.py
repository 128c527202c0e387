"""WeChatPayV3 against the local WeChat Pay simulator, over real HTTP (no mocks)."""
from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from bot.payments.ports import (NotificationRejected, OrderRequest, PaymentProvider, PaymentUnavailable,
                                RefundStatus, TradeState)
from providers import wechatpay_crypto as crypto
from providers.wechatpay import InvalidResponseSignature, WeChatPayConfig, WeChatPayError, WeChatPayV3
from sim.wechatpay import WeChatPaySimulator
from sim.wechatpay_keys import SimKeys, generate_test_keys

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return generate_test_keys()


@pytest.fixture(scope="module")
def other_key_pem() -> str:
    return crypto.generate_private_key_pem()


class Receiver:
    """Our notify_url: records every delivery and answers the queued statuses, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[CIMultiDict[str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((CIMultiDict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
def sim(keys: SimKeys) -> WeChatPaySimulator:
    return WeChatPaySimulator.from_keys(keys, time_scale=0.001)


@pytest.fixture
async def sim_server(sim: WeChatPaySimulator, aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(sim.app())


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[Receiver, str]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/notify", recv.handle)
    server = await aiohttp_server(app)
    return recv, str(server.make_url("/notify"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def make_client(keys: SimKeys, sim_server: TestServer, receiver: tuple[Receiver, str],
                session: aiohttp.ClientSession) -> Callable[..., WeChatPayV3]:
    def make(**overrides: Any) -> WeChatPayV3:
        fields = keys.client_config(str(sim_server.make_url("")), receiver[1]) | overrides
        return WeChatPayV3(WeChatPayConfig(**fields), session)
    return make


@pytest.fixture
def client(make_client: Callable[..., WeChatPayV3]) -> WeChatPayV3:
    return make_client()


def order(no: str = "DLH2026112700001", amount: int = 2500, description: str = "德令哈市 不动产登记费") -> OrderRequest:
    return OrderRequest(out_trade_no=no, description=description, amount_fen=amount, payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                        expires_at=datetime.now(timezone.utc) + timedelta(minutes=30))


async def sim_pay(session: aiohttp.ClientSession, sim_server: TestServer, no: str, **body: Any) -> dict[str, Any]:
    async with session.post(sim_server.make_url(f"/sim/pay/{no}"), json=body or None) as resp:
        assert resp.status == 200, await resp.text()
        paid: dict[str, Any] = await resp.json()
        return paid


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- orders -------------------------------------------------------------------------------------------

async def test_order_returns_prepay_id_and_a_pay_sign_the_merchant_key_verifies(client: WeChatPayV3,
                                                                                 keys: SimKeys) -> None:
    provider: PaymentProvider = client
    prepay = await provider.create_order(order())
    params = prepay.client_params
    assert prepay.prepay_id.startswith("wx")
    assert params["package"] == f"prepay_id={prepay.prepay_id}"
    assert params["appId"] == keys.appid and params["signType"] == "RSA"
    message = crypto.pay_sign_message(params["appId"], params["timeStamp"], params["nonceStr"], params["package"])
    assert crypto.verify(crypto.load_public_key(keys.merchant_public_key_pem), message, params["paySign"])


async def test_query_is_notpay_then_success_after_the_payer_pays(client: WeChatPayV3, session: aiohttp.ClientSession,
                                                                 sim_server: TestServer, sim: WeChatPaySimulator) -> None:
    await client.create_order(order("DLH-Q-0001"))
    before = await client.query("DLH-Q-0001")
    assert before is not None and before.trade_state == TradeState.NOTPAY and before.amount_fen == 2500
    assert before.transaction_id is None
    await sim_pay(session, sim_server, "DLH-Q-0001")
    after = await client.query("DLH-Q-0001")
    assert after is not None and after.trade_state == TradeState.SUCCESS
    assert after.payer_total_fen == 2500 and after.transaction_id and after.success_time
    assert after.success_time.tzinfo is not None
    await sim.drain()


async def test_out_trade_no_with_reserved_characters_is_signed_as_sent(client: WeChatPayV3) -> None:
    await client.create_order(order("DLH|2026*11_27-1"))
    found = await client.query("DLH|2026*11_27-1")
    assert found is not None and found.out_trade_no == "DLH|2026*11_27-1"


async def test_close_unpaid_closed_paid_refused_unknown_ignored(client: WeChatPayV3, session: aiohttp.ClientSession,
                                                               sim_server: TestServer, sim: WeChatPaySimulator) -> None:
    await client.create_order(order("DLH-C-0001"))
    await client.close("DLH-C-0001")
    closed = await client.query("DLH-C-0001")
    assert closed is not None and closed.trade_state == TradeState.CLOSED
    await client.close("DLH-C-0001")  # closing twice is fine

    await client.create_order(order("DLH-C-0002"))
    await sim_pay(session, sim_server, "DLH-C-0002")
    with pytest.raises(WeChatPayError) as info:
        await client.close("DLH-C-0002")
    assert (info.value.status, info.value.code) == (400, "ORDERPAID")

    await client.close("DLH-C-NEVER")  # never reached WeChat: nobody can pay it
    await sim.drain()


async def test_same_order_again_gets_a_prepay_id_a_different_one_is_refused(client: WeChatPayV3) -> None:
    request = order("DLH-D-0001")  # the same request twice: a retry (its expiry must not move between the two)
    first = await client.create_order(request)
    again = await client.create_order(request)
    assert again.prepay_id and again.prepay_id != first.prepay_id
    with pytest.raises(WeChatPayError) as info:
        await client.create_order(order("DLH-D-0001", amount=1))
    assert (info.value.status, info.value.code) == (400, "INVALID_REQUEST")


async def test_query_unknown_order_and_refund_is_none(client: WeChatPayV3) -> None:
    assert await client.query("DLH-NOPE-01") is None
    assert await client.query_refund("RF-NOPE-01") is None


async def test_bad_parameters_are_a_wechatpay_error(client: WeChatPayV3) -> None:
    with pytest.raises(WeChatPayError) as info:
        await client.create_order(order("short"))  # out_trade_no needs 6-32 characters
    assert (info.value.status, info.value.code) == (400, "PARAM_ERROR")


# --- refunds ------------------------------------------------------------------------------------------

async def test_refund_twice_with_the_same_out_refund_no_is_one_refund(
        client: WeChatPayV3, session: aiohttp.ClientSession, sim_server: TestServer, sim: WeChatPaySimulator,
        receiver: tuple[Receiver, str]) -> None:
    await client.create_order(order("DLH-R-0001"))
    await sim_pay(session, sim_server, "DLH-R-0001")
    first = await client.refund("DLH-R-0001", "RF-0001", 1000, 2500, "申请人撤回")
    second = await client.refund("DLH-R-0001", "RF-0001", 1000, 2500, "申请人撤回")
    assert first.refund_id and first.refund_id == second.refund_id
    assert first.status == RefundStatus.SUCCESS and first.amount_fen == 1000
    # only 1500 are left: a second refund of 2000 is refused, so the first one counted once
    with pytest.raises(WeChatPayError) as info:
        await client.refund("DLH-R-0001", "RF-0002", 2000, 2500, "再退")
    assert info.value.status == 400
    queried = await client.query_refund("RF-0001")
    assert queried is not None and queried.refund_id == first.refund_id and queried.out_trade_no == "DLH-R-0001"
    await sim.drain()
    refund_events = [a for a in sim.deliveries if a.event_type == "REFUND.SUCCESS"]
    assert len(refund_events) == 1

    headers, body = next((h, b) for h, b in receiver[0].received if b"REFUND.SUCCESS" in b)
    note = client.verify_notification(headers, body, now())
    assert note.refund is not None and note.order is None
    assert (note.refund.out_refund_no, note.refund.status, note.refund.amount_fen) == ("RF-0001", "SUCCESS", 1000)


async def test_refund_more_than_the_total_is_refused(client: WeChatPayV3, session: aiohttp.ClientSession,
                                                     sim_server: TestServer, sim: WeChatPaySimulator) -> None:
    await client.create_order(order("DLH-R-0002"))
    await sim_pay(session, sim_server, "DLH-R-0002")
    with pytest.raises(WeChatPayError) as info:
        await client.refund("DLH-R-0002", "RF-0003", 2600, 2500, "多退")
    assert info.value.status == 400
    await sim.drain()


async def test_a_delayed_refund_is_processing_then_success(keys: SimKeys, aiohttp_server: ServerFactory,
                                                          session: aiohttp.ClientSession,
                                                          receiver: tuple[Receiver, str]) -> None:
    slow_sim = WeChatPaySimulator.from_keys(keys, time_scale=0.001, refund_delay_seconds=0.05)
    server = await aiohttp_server(slow_sim.app())
    client = WeChatPayV3(WeChatPayConfig(**keys.client_config(str(server.make_url("")), receiver[1])), session)
    await client.create_order(order("DLH-R-0003"))
    await sim_pay(session, server, "DLH-R-0003")
    asked = await client.refund("DLH-R-0003", "RF-0004", 2500, 2500, "全额退款")
    assert asked.status == RefundStatus.PROCESSING
    await slow_sim.drain()
    done = await client.query_refund("RF-0004")
    assert done is not None and done.status == RefundStatus.SUCCESS
    assert [a.event_type for a in slow_sim.deliveries] == ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]


# --- transport and trust ------------------------------------------------------------------------------

async def test_a_tampered_response_is_not_trusted(client: WeChatPayV3, sim: WeChatPaySimulator) -> None:
    await client.create_order(order("DLH-T-0001"))
    sim.inject_fault("tamper")
    with pytest.raises(InvalidResponseSignature):
        await client.query("DLH-T-0001")
    sim.inject_fault("tamper")
    with pytest.raises(PaymentUnavailable):  # InvalidResponseSignature is a PaymentUnavailable
        await client.close("DLH-T-0001")  # 204 without body: the signature itself is wrong


async def test_server_errors_timeouts_and_dropped_connections_are_unavailable(
        make_client: Callable[..., WeChatPayV3], client: WeChatPayV3, sim: WeChatPaySimulator) -> None:
    await client.create_order(order("DLH-U-0001"))
    sim.inject_fault("server_error")
    with pytest.raises(PaymentUnavailable):
        await client.query("DLH-U-0001")

    sim.inject_fault("disconnect")  # a GET survives one dropped connection
    found = await client.query("DLH-U-0001")
    assert found is not None and found.trade_state == TradeState.NOTPAY
    sim.inject_fault("disconnect")  # a POST is never replayed
    with pytest.raises(PaymentUnavailable):
        await client.close("DLH-U-0001")

    impatient = make_client(timeout_seconds=0.1)
    sim.inject_fault("slow", delay_seconds=0.3)
    with pytest.raises(PaymentUnavailable):
        await impatient.create_order(order("DLH-U-0002"))


async def test_an_unreachable_gateway_is_unavailable(make_client: Callable[..., WeChatPayV3]) -> None:
    with pytest.raises(PaymentUnavailable):
        await make_client(base_url="http://127.0.0.1:9").query("DLH-U-0003")


async def test_a_request_signed_with_another_merchant_key_is_refused(make_client: Callable[..., WeChatPayV3],
                                                                     other_key_pem: str) -> None:
    with pytest.raises(WeChatPayError) as info:
        await make_client(merchant_private_key_pem=other_key_pem).query("DLH-S-0001")
    assert (info.value.status, info.value.code) == (401, "SIGN_ERROR")


def test_config_repr_and_errors_hide_the_keys(keys: SimKeys) -> None:
    config = WeChatPayConfig(**keys.client_config("http://sim", "http://app/notify"))
    assert keys.api_v3_key not in repr(config) and "PRIVATE KEY" not in repr(config)
    with pytest.raises(ValueError) as info:
        WeChatPayConfig(**keys.client_config("http://sim", "http://app/notify") | {"api_v3_key": "tooShortSecret"})
    assert "tooShortSecret" not in str(info.value)


# --- notifications ------------------------------------------------------------------------------------

async def test_a_payment_notification_verifies_and_decrypts(
        client: WeChatPayV3, session: aiohttp.ClientSession, sim_server: TestServer, sim: WeChatPaySimulator,
        receiver: tuple[Receiver, str]) -> None:
    await client.create_order(order("DLH-N-0001"))
    paid = await sim_pay(session, sim_server, "DLH-N-0001")
    await sim.drain()
    [(headers, body)] = receiver[0].received
    note = client.verify_notification(headers, body, now())
    assert note.event_type == "TRANSACTION.SUCCESS" and note.refund is None and note.order is not None
    assert note.order.out_trade_no == "DLH-N-0001" and note.order.trade_state == TradeState.SUCCESS
    assert note.order.amount_fen == 2500 and note.order.payer_total_fen == 2500
    assert note.order.transaction_id == paid["transaction_id"]
    assert note.order.success_time == crypto.parse_time(paid["success_time"])
    assert note.nonce == headers["Wechatpay-Nonce"] and note.timestamp.tzinfo is not None
    assert note.id == json.loads(body)["id"]
    # lower-case keys in a plain dict work as well as aiohttp's CIMultiDict
    plain = {key.lower(): value for key, value in headers.items()}
    assert client.verify_notification(plain, body, now()) == note


async def test_a_tampered_amount_reaches_the_notification(
        client: WeChatPayV3, session: aiohttp.ClientSession, sim_server: TestServer, sim: WeChatPaySimulator,
        receiver: tuple[Receiver, str]) -> None:
    await client.create_order(order("DLH-N-0002"))
    await sim_pay(session, sim_server, "DLH-N-0002", amount=1)
    await sim.drain()
    [(headers, body)] = receiver[0].received
    note = client.verify_notification(headers, body, now())
    assert note.order is not None and note.order.amount_fen == 1


def _corrupt_ciphertext(body: bytes) -> bytes:
    event = json.loads(body)
    raw = bytearray(base64.b64decode(event["resource"]["ciphertext"]))
    raw[0] ^= 0x01
    event["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(event).encode()


@pytest.mark.parametrize("forgery", ["other key", "wrong serial", "stale", "future", "corrupted ciphertext",
                                     "changed body", "missing header"])
async def test_forged_notifications_are_rejected(forgery: str, client: WeChatPayV3, sim: WeChatPaySimulator,
                                                 keys: SimKeys, other_key_pem: str) -> None:
    resource = {"mchid": keys.mchid, "appid": keys.appid, "out_trade_no": "DLH-F-0001", "trade_state": "SUCCESS",
                "transaction_id": "4200000000000000000000000001", "success_time": "2026-11-27T10:00:00+08:00",
                "amount": {"total": 2500, "payer_total": 2500, "currency": "CNY"}}
    moment = now()
    forgeries: dict[str, dict[str, Any]] = {
        "other key": {"sign_with": other_key_pem}, "wrong serial": {"serial": "PUB_KEY_ID_0000000000"},
        "stale": {"timestamp": int(moment.timestamp()) - 301}, "future": {"timestamp": int(moment.timestamp()) + 301},
    }
    options = forgeries.get(forgery, {})
    headers, body = sim.build_notification("TRANSACTION.SUCCESS", resource, **options)
    if forgery == "corrupted ciphertext":
        body = _corrupt_ciphertext(body)
        headers = sim.sign_notification(body)  # genuinely signed, but the resource does not open
    elif forgery == "changed body":
        body = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESS ")
    elif forgery == "missing header":
        del headers["Wechatpay-Signature"]
    with pytest.raises(NotificationRejected) as info:
        client.verify_notification(headers, body, moment)
    assert keys.api_v3_key not in str(info.value)


async def test_a_replay_verifies_identically_so_the_caller_can_spot_it(client: WeChatPayV3, sim: WeChatPaySimulator,
                                                                       keys: SimKeys) -> None:
    resource = {"mchid": keys.mchid, "out_trade_no": "DLH-P-0001", "trade_state": "NOTPAY", "amount": {"total": 1}}
    headers, body = sim.build_notification("TRANSACTION.SUCCESS", resource)
    first = client.verify_notification(headers, body, now())
    again = client.verify_notification(dict(headers), bytes(body), now())
    assert (again.id, again.nonce, again.signature) == (first.id, first.nonce, first.signature)


async def test_failed_deliveries_are_retried_freshly_signed(
        client: WeChatPayV3, session: aiohttp.ClientSession, sim_server: TestServer, sim: WeChatPaySimulator,
        receiver: tuple[Receiver, str]) -> None:
    recv, _ = receiver
    recv.statuses = [500, 500]
    await client.create_order(order("DLH-N-0003"))
    await sim_pay(session, sim_server, "DLH-N-0003")
    await sim.drain()
    assert len(recv.received) == 3
    nonces = {headers["Wechatpay-Nonce"] for headers, _ in recv.received}
    assert len(nonces) == 3
    assert len({body for _, body in recv.received}) == 1  # the same event, signed anew each time
    notes = [client.verify_notification(headers, body, now()) for headers, body in recv.received]
    assert {note.id for note in notes} == {notes[0].id}
    async with session.get(sim_server.make_url("/sim/notifications")) as resp:
        listed = (await resp.json())["deliveries"]
    assert [(d["attempt"], d["status"]) for d in listed] == [(1, 500), (2, 500), (3, 200)]
    assert {d["event_id"] for d in listed} == {notes[0].id}
