"""Helpers for tests against the WeChat Pay simulator: our settings pointed at it, a port for its notifications,
an accepted case with its payment reply, and a case's fee state as the citizen sees it."""
from __future__ import annotations

import socket
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from app import build_app
from bot.config import PaymentConfig, Settings, WeChatPaySettings
from bot.content import Content
from sim.wechatpay import WeChatPaySimulator
from sim.wechatpay_keys import SimKeys
from tests.clock import Clock
from tests.chat import Chat
from tests.e2e.casework import move, submitted_renewal

NOTIFY = "/api/v1/payments/wechat/notify"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wechatpay_settings(settings: Settings, keys: SimKeys, sim_url: str, tmp_path: Path, notify_port: int) -> Settings:
    merchant, platform = tmp_path / "apiclient_key.pem", tmp_path / "pub_key.pem"
    merchant.write_text(keys.merchant_private_key_pem)
    platform.write_text(keys.platform_public_key_pem)
    return settings.model_copy(update={"payments": PaymentConfig(provider="wechatpay", wechatpay=WeChatPaySettings(
        base_url=sim_url, appid=keys.appid, mchid=keys.mchid, merchant_serial=keys.merchant_serial,
        merchant_private_key_path=merchant, platform_public_key_path=platform,
        platform_public_key_id=keys.platform_public_key_id, api_v3_key=keys.api_v3_key,
        notify_url=f"http://127.0.0.1:{notify_port}{NOTIFY}"))})


async def ordered(client, citizen: Chat, tokens) -> tuple[str, dict]:
    """An accepted renewal and the payment reply the citizen gets for it."""
    number = await submitted_renewal(citizen)
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    payment = next(r for r in await citizen.say("缴费") if r["type"] == "payment")
    return number, payment


async def fee_state(citizen: Chat, number: str) -> str:
    case = await (await citizen.client.get(f"/api/v1/cases/{number}", params={"user": citizen.user})).json()
    return case["fee"]["state"]


async def app_on_simulator(aiohttp_client, aiohttp_server, settings: Settings, content: Content,
                           clock: Clock, keys: SimKeys, sim: WeChatPaySimulator, tmp_path: Path) -> TestClient:
    """Our app with WeChat Pay pointed at the simulator, listening where the simulator notifies."""
    sim_server: TestServer = await aiohttp_server(sim.app())
    port = free_port()
    app = build_app(wechatpay_settings(settings, keys, str(sim_server.make_url("")), tmp_path, port), content, clock)
    return await aiohttp_client(app, server_kwargs={"port": port})
