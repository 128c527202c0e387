"""WeChatApi against the WeChat simulator over real HTTP: results, errcode mapping, retries, metrics."""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from providers.wechat.api import WeChatApi
from providers.wechat.errors import (InvalidCode, MediaTooLarge, NoSubscribeConsent, QuotaExceeded, RateLimited,
                                     WeChatApiError, WeChatUnavailable, WindowExpired)
from providers.wechat.tokens import MemoryTokenCache
from sim.wechat import WeChatSimulator

SEND = "/cgi-bin/message/custom/send"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def sim() -> WeChatSimulator:
    return WeChatSimulator()


@pytest.fixture
async def api(sim: WeChatSimulator) -> AsyncIterator[WeChatApi]:
    async with sim.serve() as base, aiohttp.ClientSession() as session:
        yield WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=MemoryTokenCache(), timeout=1.0,
                        retries=1, retry_delay=0.01)


async def test_code2session(sim: WeChatSimulator, api: WeChatApi) -> None:
    login = await api.code2session(sim.issue_code("oUser1", unionid="uUnion1"))
    assert (login.openid, login.unionid) == ("oUser1", "uUnion1")
    assert login.session_key.get_secret_value() and "*" in repr(login)  # never printed by accident
    assert (await api.code2session(sim.issue_code("oUser2"))).unionid is None

    code = sim.issue_code("oUser3")
    await api.code2session(code)
    with pytest.raises(InvalidCode) as reused:
        await api.code2session(code)
    assert reused.value.errcode == 40163
    with pytest.raises(InvalidCode) as unknown:
        await api.code2session("made-up")
    assert unknown.value.errcode == 40029
    assert api.metrics()["code2session"]["errors"] == {"40163": 1, "40029": 1}


async def test_expired_login_code() -> None:
    now = [1_800_000_000.0]
    sim = WeChatSimulator(clock=lambda: now[0], code_ttl=300)
    async with sim.serve() as base, aiohttp.ClientSession() as session:
        api = WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=MemoryTokenCache())
        code = sim.issue_code("oUser1")
        now[0] += 301
        with pytest.raises(InvalidCode):
            await api.code2session(code)


async def test_phone_number(sim: WeChatSimulator, api: WeChatApi) -> None:
    phone = await api.get_phone_number(sim.issue_phone_code("13800138000"))
    assert (phone.phone_number, phone.pure_phone_number, phone.country_code) == ("13800138000", "13800138000", "86")
    with pytest.raises(InvalidCode):
        await api.get_phone_number("made-up")


async def test_customer_service_sends_are_recorded(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.note_user_message("oUser1")
    thumb = await api.upload_temp_media(PNG, "thumb.png", "image/png")
    await api.send_text("oUser1", "您的办件已受理")
    await api.send_image("oUser1", thumb)
    await api.send_miniprogram_page("oUser1", "查看办件", "pages/case?n=DLH1", thumb)
    await api.send_link("oUser1", "办事指南", "社保卡补领", "https://example.gov.cn/guide", "https://example.gov.cn/t.png")
    assert [(m["msgtype"], m["touser"]) for m in sim.sent] == [
        ("text", "oUser1"), ("image", "oUser1"), ("miniprogrampage", "oUser1"), ("link", "oUser1")]
    assert sim.sent[0]["text"] == {"content": "您的办件已受理"}
    assert sim.sent[2]["miniprogrampage"]["pagepath"] == "pages/case?n=DLH1"
    assert api.metrics()["custom_send"] == {"calls": 4, "retries": 0, "token_retries": 0, "errors": {}}


async def test_window_expired_is_mapped_and_not_retried(sim: WeChatSimulator, api: WeChatApi) -> None:
    with pytest.raises(WindowExpired):  # the user never wrote
        await api.send_text("oSilent", "hello")
    sim.note_user_message("oUser1", at=time.time() - 48 * 3600 - 60)
    with pytest.raises(WindowExpired) as expired:
        await api.send_text("oUser1", "hello")
    assert expired.value.errcode == 45015
    assert sim.sent == []
    assert api.metrics()["custom_send"] == {"calls": 2, "retries": 0, "token_retries": 0, "errors": {"45015": 2}}


async def test_quota_per_user_message(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.note_user_message("oUser1")
    for n in range(5):
        await api.send_text("oUser1", f"reply {n}")
    with pytest.raises(QuotaExceeded) as exceeded:
        await api.send_text("oUser1", "one too many")
    assert exceeded.value.errcode == 45047
    assert api.metrics()["custom_send"]["retries"] == 0
    sim.note_user_message("oUser1")  # the user writes again: the quota is back
    await api.send_text("oUser1", "thanks")
    assert len(sim.sent) == 6


async def test_network_drop_is_retried_once_and_counted(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.note_user_message("oUser1")
    sim.drop_next(SEND)
    await api.send_text("oUser1", "after a drop")
    assert [m["text"]["content"] for m in sim.sent] == ["after a drop"]
    assert api.metrics()["custom_send"] == {"calls": 1, "retries": 1, "token_retries": 0, "errors": {}}


async def test_timeout_is_retried(sim: WeChatSimulator) -> None:
    async with sim.serve() as base, aiohttp.ClientSession() as session:
        api = WeChatApi(session, sim.appid, sim.secret, api_base=base, token_cache=MemoryTokenCache(), timeout=0.2,
                        retries=1, retry_delay=0)
        sim.note_user_message("oUser1")
        sim.drop_next(SEND, after=0.4)
        await api.send_text("oUser1", "after a timeout")
        assert len(sim.sent) == 1 and api.metrics()["custom_send"]["retries"] == 1


async def test_network_failure_after_the_retries(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.note_user_message("oUser1")
    sim.drop_next(SEND)
    sim.drop_next(SEND)
    with pytest.raises(WeChatUnavailable):
        await api.send_text("oUser1", "lost")
    assert api.metrics()["custom_send"] == {"calls": 1, "retries": 1, "token_retries": 0, "errors": {"network": 1}}


async def test_unreachable_wechat() -> None:
    async with aiohttp.ClientSession() as session:
        api = WeChatApi(session, "wx1", "s", api_base="http://127.0.0.1:9", token_cache=MemoryTokenCache(), retries=1,
                        retry_delay=0)
        with pytest.raises(WeChatUnavailable):
            await api.code2session("code")
        assert api.metrics()["code2session"]["retries"] == 1


async def test_errcodes_are_never_retried(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.note_user_message("oUser1")
    sim.fail_next(SEND, 45009, "reach max api daily quota limit")
    with pytest.raises(RateLimited):
        await api.send_text("oUser1", "x")
    sim.fail_next(SEND, -1, "system error")
    with pytest.raises(WeChatApiError) as busy:
        await api.send_text("oUser1", "x")
    assert type(busy.value) is WeChatApiError and busy.value.errcode == -1
    assert sim.sent == []
    assert api.metrics()["custom_send"] == {"calls": 2, "retries": 0, "token_retries": 0,
                                            "errors": {"45009": 1, "-1": 1}}


async def test_subscribe_needs_consent_per_message(sim: WeChatSimulator, api: WeChatApi) -> None:
    data = {"thing1": "居民身份证换领", "phrase2": "已受理"}
    with pytest.raises(NoSubscribeConsent):
        await api.send_subscribe("oUser1", "TPL_PROGRESS", "pages/case?n=DLH1", data)
    sim.grant_subscription("oUser1", "TPL_PROGRESS")
    await api.send_subscribe("oUser1", "TPL_PROGRESS", "pages/case?n=DLH1", data)
    with pytest.raises(NoSubscribeConsent) as used_up:  # one consent, one message
        await api.send_subscribe("oUser1", "TPL_PROGRESS", "pages/case?n=DLH1", data)
    assert used_up.value.errcode == 43101
    assert [(m["touser"], m["template_id"], m["data"]) for m in sim.subscribe_sent] == [
        ("oUser1", "TPL_PROGRESS", data)]


async def test_media_download_and_size_limit(sim: WeChatSimulator, api: WeChatApi) -> None:
    sim.put_media("m-small", PNG, "image/png")
    media = await api.get_temp_media("m-small", max_bytes=1024)
    assert (media.data, media.content_type, media.filename) == (PNG, "image/png", "m-small.png")

    sim.put_media("m-big", b"x" * 200_000, "image/jpeg")
    with pytest.raises(MediaTooLarge):  # refused from Content-Length, before reading
        await api.get_temp_media("m-big", max_bytes=100_000)
    sim.put_media("m-chunked", b"x" * 200_000, "image/jpeg", declare_length=False)
    with pytest.raises(MediaTooLarge):  # no Content-Length: refused while streaming
        await api.get_temp_media("m-chunked", max_bytes=100_000)
    assert len((await api.get_temp_media("m-chunked", max_bytes=200_000)).data) == 200_000

    with pytest.raises(WeChatApiError) as unknown:
        await api.get_temp_media("m-unknown", max_bytes=1024)
    assert unknown.value.errcode == 40007
    assert api.metrics()["media_get"]["errors"] == {"too_large": 2, "40007": 1}


async def test_upload_refuses_what_is_not_an_image(sim: WeChatSimulator, api: WeChatApi) -> None:
    media_id = await api.upload_temp_media(PNG, "a.png", "image/png")
    assert (await api.get_temp_media(media_id, max_bytes=1024)).data == PNG
    with pytest.raises(WeChatApiError) as refused:
        await api.upload_temp_media(b"%PDF-1.7", "a.pdf", "application/pdf")
    assert refused.value.errcode == 40005


async def test_msg_sec_check(sim: WeChatSimulator, api: WeChatApi) -> None:
    ok = await api.msg_sec_check("oUser1", "我想补办身份证")
    assert ok.passed and (ok.suggest, ok.label) == ("pass", 100)
    sim.add_risky_word("办假证", 20006)
    risky = await api.msg_sec_check("oUser1", "有人能帮我办假证吗")
    assert not risky.passed and (risky.suggest, risky.label) == ("risky", 20006)


async def test_secrets_never_reach_the_log(sim: WeChatSimulator, api: WeChatApi,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim.note_user_message("oUser1")
    await api.code2session(sim.issue_code("oUser1"))
    await api.send_text("oUser1", "one")
    first = await api.tokens.get()
    sim.expire_tokens()
    sim.drop_next(SEND)
    await api.send_text("oUser1", "two")  # token refresh and a network retry, both logged
    second = await api.tokens.get()
    assert first != second
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/cgi-bin/message/custom/send" in logged and "retry" in logged
    for secret in (first, second, sim.secret):
        assert secret not in logged
