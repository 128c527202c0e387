"""What the chat offers follows the catalog's facts: an item done on site gets a checklist, never an online
application; an optional material is skipped, never put off (容缺)."""
from __future__ import annotations

from tests.e2e.casework import residence_permit_until_materials


async def test_apply_for_an_on_site_item_gets_the_checklist_and_never_a_case(chat_factory, client, content) -> None:
    chat = chat_factory("temporary-id")
    await chat.say("临时身份证")
    assert "临时居民身份证申领" in chat.last()["title"] and "需要本人到窗口办理" in chat.text()
    await chat.tap("我要办理")
    assert [reply["type"] for reply in chat.replies] == ["text"]  # 一次性告知: everything in one message
    notice = chat.text()
    item = content.catalog.items["GA0040000"]
    assert "需要本人到窗口办理" in notice and "网上不能提交申请" in notice
    for material in item.materials:  # what to bring, the receipt the window issued included
        assert material.name in notice
    for location in item.locations:  # where and when
        assert location.name in notice and location.address in notice and str(location.hours) in notice
    assert "10 元" in notice and "当场办结" in notice  # fee and time
    assert "临时居民身份证（当场制发，有效期三个月）" in notice  # what the citizen gets
    assert "暂不能在线预约" in notice  # no booking is pretended
    await chat.say("我要办理")  # typed, and again
    assert chat.last()["type"] == "text" and "网上不能提交申请" in chat.text()
    await chat.say("确认提交")
    assert all(reply["type"] not in ("form_step", "material_step") for reply in chat.replies)
    cases = await (await client.get("/api/v1/cases", params={"user": "temporary-id"})).json()
    assert cases["cases"] == []


async def test_an_on_site_item_with_a_window_phone_offers_booking_by_phone(chat_factory, client) -> None:
    chat = chat_factory("first-card")
    await chat.say("第一次办身份证")
    await chat.tap("我要办理")
    assert chat.last()["type"] == "text"
    assert "想预约的话，请拨打12345，说明要办「居民身份证首次申领」" in chat.text()
    assert "居民身份证（制证后到窗口领取或邮寄）" in chat.text()
    cases = await (await client.get("/api/v1/cases", params={"user": "first-card"})).json()
    assert cases["cases"] == []


async def test_an_optional_material_offers_skip_only(chat_factory) -> None:
    chat = chat_factory("newcomer")
    await residence_permit_until_materials(chat)
    await chat.tap("电子证照")
    await chat.tap("告知承诺")
    await chat.tap("我承诺")
    step = chat.last()
    assert step["key"] == "employment_or_study_proof" and not step["required"]
    assert [option["label"] for option in step["options"]] == ["跳过"]
    assert "非必需，可以跳过" in step["text"] and "容缺" not in chat.text()
    await chat.say("容缺")  # typed anyway: not a way to provide this material
    assert chat.last()["key"] == "employment_or_study_proof"
    await chat.tap("跳过")
    assert chat.last()["key"] == "id_photo" and [o["label"] for o in chat.last()["options"]] == ["跳过"]
