"""Fees through WeChat Pay v3, end to end over HTTP against the local WeChat Pay simulator (real RSA signatures,
real AES-GCM): wx.requestPayment parameters, notifications retried, replayed, forged, stale or with a tampered
amount, refunds on refusal, a lost notification settled by query, and the daily reconciliation."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from app import PAYMENTS
from bot.payments.ports import PaymentUnavailable
from providers import wechatpay_crypto as crypto
from sim.wechatpay import WeChatPaySimulator
from sim.wechatpay_keys import SimKeys, generate_test_keys
from tests.clock import Clock
from tests.e2e.casework import auth, deliver, move
from tests.metrics import sample, scrape
from tests.e2e.wechatpay import NOTIFY, app_on_simulator, fee_state, ordered



@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return generate_test_keys()


@pytest.fixture
def clock() -> Clock:
    """Real time: the simulator signs with it and our timestamp window checks against it."""
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture
def sim(keys: SimKeys) -> WeChatPaySimulator:
    return WeChatPaySimulator.from_keys(keys, time_scale=0.001)


@pytest.fixture
async def client(aiohttp_client, aiohttp_server, settings, content, clock, keys, sim, tmp_path):
    return await app_on_simulator(aiohttp_client, aiohttp_server, settings, content, clock, keys, sim, tmp_path)


async def payment_events(client, tokens, number: str) -> list[dict]:
    view = await (await client.get(f"/api/v1/staff/cases/{number}", headers=auth(tokens["clerk"]))).json()
    return [e for e in view["events"] if e["actor"] == "payment"]


def success_resource(sim: WeChatPaySimulator, out_trade_no: str, total: int = 2000) -> dict:
    """What a TRANSACTION.SUCCESS notification carries, for notifications the tests craft themselves."""
    resource = sim.transaction_resource(out_trade_no)
    resource.update(trade_state="SUCCESS", transaction_id="4200000000000000000000000001",
                    success_time=crypto.format_time(datetime.now(timezone.utc)))
    resource["amount"] = {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
    return resource


async def test_wx_request_payment_parameters_and_a_paid_notification(client, chat_factory, tokens, sim, keys):
    citizen = chat_factory("oWx1")
    number, payment = await ordered(client, citizen, tokens)
    request = payment["request"]
    assert payment["provider"] == "wechatpay" and payment["amount"] == "20.00"
    assert set(request) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert request["appId"] == keys.appid and request["package"].startswith("prepay_id=wx")
    message = crypto.pay_sign_message(request["appId"], request["timeStamp"], request["nonceStr"], request["package"])
    assert crypto.verify(crypto.load_public_key(keys.merchant_public_key_pem), message, request["paySign"])

    sim.pay(payment["out_trade_no"])  # the payer pays in WeChat; WeChat Pay notifies us in the background
    await sim.drain()
    assert await fee_state(citizen, number) == "paid"
    assert [d.status for d in sim.deliveries] == [204]
    assert len(await payment_events(client, tokens, number)) == 1


async def test_fifteen_retries_change_nothing_after_the_first(client, chat_factory, tokens, sim):
    citizen = chat_factory("oWx2")
    number, payment = await ordered(client, citizen, tokens)
    resource = success_resource(sim, payment["out_trade_no"])
    for _ in range(16):  # the first delivery and WeChat Pay's 15 retries, each freshly signed
        headers, body = sim.build_notification("TRANSACTION.SUCCESS", resource, event_id="EV-same")
        assert (await client.post(NOTIFY, data=body, headers=headers)).status == 204
    assert await fee_state(citizen, number) == "paid"
    assert len(await payment_events(client, tokens, number)) == 1
    await deliver(client)
    await citizen.say("/hello")
    assert citizen.text().count("已收到缴费") == 1


async def test_forged_stale_wrong_serial_and_replayed_notifications_are_refused(client, chat_factory, tokens, sim):
    citizen = chat_factory("oWx3")
    number, payment = await ordered(client, citizen, tokens)
    resource = success_resource(sim, payment["out_trade_no"])
    forger = crypto.generate_private_key_pem()
    attempts = {
        "forged": sim.build_notification("TRANSACTION.SUCCESS", resource, sign_with=forger),
        "stale": sim.build_notification("TRANSACTION.SUCCESS", resource, timestamp=int(time.time()) - 600),
        "wrong serial": sim.build_notification("TRANSACTION.SUCCESS", resource, serial="PUB_KEY_ID_0000"),
    }
    for name, (headers, body) in attempts.items():
        response = await client.post(NOTIFY, data=body, headers=headers)
        assert response.status == 401, name
        assert (await response.json())["code"] == "FAIL"
    tampered_headers, body = sim.build_notification("TRANSACTION.SUCCESS", resource)
    response = await client.post(NOTIFY, data=body.replace(b'"id"', b'"id" ', 1), headers=tampered_headers)
    assert response.status == 401  # one changed byte breaks the signature
    assert await fee_state(citizen, number) == "unpaid"

    headers, body = sim.build_notification("TRANSACTION.SUCCESS", resource)
    assert (await client.post(NOTIFY, data=body, headers=headers)).status == 204
    assert (await client.post(NOTIFY, data=body, headers=headers)).status == 401  # the very same delivery again
    assert await fee_state(citizen, number) == "paid"
    assert len(await payment_events(client, tokens, number)) == 1


async def test_tampered_amount_is_not_taken_and_reconciliation_reports_it(client, chat_factory, tokens, sim):
    citizen = chat_factory("oWx4")
    number, payment = await ordered(client, citizen, tokens)
    sim.pay(payment["out_trade_no"], amount=1)  # WeChat Pay reports one fen for a 20 yuan order
    await sim.drain()
    assert await fee_state(citizen, number) == "unpaid"
    assert await payment_events(client, tokens, number) == []
    day = (datetime.now(timezone.utc) + timedelta(hours=8)).date().isoformat()
    forbidden = await client.get("/api/v1/staff/payments/reconciliation", params={"date": day},
                                 headers=auth(tokens["clerk"]))
    assert forbidden.status == 403
    report = await (await client.get("/api/v1/staff/payments/reconciliation", params={"date": day},
                                     headers=auth(tokens["supervisor"]))).json()
    kinds = {m["kind"] for m in report["mismatches"] if m["out_trade_no"] == payment["out_trade_no"]}
    assert kinds == {"flagged", "amount", "paid_at_provider_only"}


async def test_refusal_after_payment_refunds_once(client, chat_factory, tokens, sim):
    citizen = chat_factory("oWx5")
    number, payment = await ordered(client, citizen, tokens)
    sim.pay(payment["out_trade_no"])
    await sim.drain()
    assert (await move(client, tokens["approver"], number, to="refused", reason="不符合申领条件"))[0] == 200
    await deliver(client)
    await sim.drain()  # the REFUND.SUCCESS notification
    assert await fee_state(citizen, number) == "refunded"
    await client.app[PAYMENTS].end_case(number, "again")  # a redelivered refusal: the same refund number
    await deliver(client)
    await citizen.say("/hello")
    assert citizen.text().count("已原路退回") == 1
    events = await payment_events(client, tokens, number)
    assert [e["detail"]["payment"] for e in events] == ["payment.paid", "payment.refunded"]


async def test_lost_notification_is_settled_by_query(client, chat_factory, tokens, sim, clock):
    citizen = chat_factory("oWx6")
    number, payment = await ordered(client, citizen, tokens)
    await deliver(client)
    day = (clock.now + timedelta(hours=8)).date()
    headers, body = sim.build_notification("TRANSACTION.SUCCESS", success_resource(sim, payment["out_trade_no"]))
    sim.pay(payment["out_trade_no"])
    await sim.aclose()  # every delivery of the notification is lost
    payments = client.app[PAYMENTS]
    mismatches = await payments.reconcile(day)
    assert [m.kind for m in mismatches if m.case_number == number] == ["paid_at_provider_only"]
    assert await payments.settle() == 0  # too fresh to query yet
    clock.now += timedelta(minutes=6)
    assert await payments.settle() == 1
    assert await fee_state(citizen, number) == "paid"
    assert [m for m in await payments.reconcile(day) if m.case_number == number] == []


@pytest.mark.parametrize("where", ["body", "resource"])
async def test_a_signed_notification_nested_too_deeply_is_refused_in_one_line(client, sim, keys, caplog, where):
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    if where == "body":
        body = b'{"id":"evt-deep","resource":' + deep + b"}"
    else:
        nonce = crypto.new_nonce(12)
        resource = {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "associated_data": "transaction",
                    "nonce": nonce, "ciphertext": crypto.encrypt_resource(keys.api_v3_key, deep, nonce, "transaction")}
        body = json.dumps({"id": "evt-deep", "event_type": "TRANSACTION.SUCCESS", "resource": resource}).encode()
    caplog.set_level(logging.INFO)
    response = await client.post(NOTIFY, data=body, headers=sim.sign_notification(body))
    assert response.status == 401 and (await response.json())["code"] == "FAIL"
    ours = [record for record in caplog.records if not record.name.startswith("aiohttp")]
    assert len(ours) == 1 and ours[0].exc_info is None


async def test_wechat_pay_calls_and_errors_are_counted_in_the_metrics(client, chat_factory, tokens, sim, clock):
    await ordered(client, chat_factory("oWxMetrics"), tokens)  # a JSAPI order at the simulator
    sim.inject_fault("server_error", times=2)
    clock.now += timedelta(minutes=6)
    with pytest.raises(PaymentUnavailable):  # the housekeeping round logs it and tries again next round
        await client.app[PAYMENTS].settle()  # queries the open order: WeChat Pay answers 500 this time
    scraped = await scrape(client)
    assert sample(scraped, "zwb_provider_requests_total", provider="wechatpay", outcome="2xx") >= 1
    assert sample(scraped, "zwb_provider_requests_total", provider="wechatpay", outcome="5xx") >= 1
