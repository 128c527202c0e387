"""Dialogue flows driven end to end through the HTTP chat API on SQLite."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone

from app import build_app
from tests.chat import PNG
from tests.e2e.casework import fill_renewal_fields, start_renewal

VALID_ID = "11010519491231002X"


async def renewal_to_confirmation(chat) -> None:
    """The renewal with its fields, 户口簿 from 电子证照, the old card uploaded and the photo skipped."""
    await start_renewal(chat)
    await fill_renewal_fields(chat)
    await chat.tap("电子证照")
    await chat.upload(PNG)
    await chat.tap("跳过")
    assert "核对" in chat.last()["title"]


async def test_renewal_from_colloquial_request_to_case(chat_factory, client):
    chat = chat_factory("citizen-1")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say("123")
    assert "18位" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say("110105194912310021")
    assert "校验" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say(VALID_ID.lower())
    assert chat.last()["key"] == "phone"
    await chat.say("12345")
    assert "11位" in chat.text()
    await chat.say("138 0013 8000")
    await chat.say("我也不知道")  # not one of the choices
    assert "选项" in chat.text() and chat.last()["key"] == "reason"
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say("德令哈市河西街道长江路1号")
    # materials: 户口簿 from the e-licence platform, old card deferred (容缺: handed in at collection), photo
    # uploaded
    assert chat.last()["type"] == "material_step" and chat.last()["key"] == "household_register"
    await chat.tap("电子证照")
    assert "已调取电子证照" in chat.text() and chat.last()["key"] == "old_id_card"
    await chat.tap("容缺")
    assert "补交" in chat.text() and chat.last()["key"] == "id_photo"
    await chat.upload(PNG, "photo.png")
    summary = chat.last()
    assert summary["type"] == "card" and "核对" in summary["title"]
    shown = chat.text()
    assert "110105********002X" in shown and VALID_ID not in shown and "138****8000" in shown
    await chat.tap("确认提交")
    match = re.search(r"DLH\d{8}\d{6}", chat.text())
    assert match, chat.text()
    assert "2026-12-18" in chat.text()  # 15 working days after Fri 2026-11-27
    number = match.group(0)

    response = await client.get(f"/api/v1/cases/{number}", params={"user": "citizen-1"})
    case = await response.json()
    assert case["status"] == "submitted" and case["name"] == "居民身份证换领"
    assert case["fields"]["id_number"] == "110105********002X"
    provided = {m["key"]: m["provided_as"] for m in case["materials"]}
    assert provided == {"household_register": "licence", "old_id_card": "deferred", "id_photo": "upload"}
    other = await client.get(f"/api/v1/cases/{number}", params={"user": "someone-else"})
    assert other.status == 404


async def test_questions_are_answered_from_the_catalog(chat_factory, content):
    chat = chat_factory("asker")
    await chat.say("居住证需要什么材料")
    item = content.catalog.items["GA0050000"]
    for material in item.materials:
        assert material.name in chat.text()
    await chat.say("/ask time")
    assert f"{item.promised_days}个工作日" in chat.text()
    await chat.say("收费吗")
    assert "不收费" in chat.text()
    await chat.say("在哪办")
    assert item.locations[0].name in chat.text()
    await chat.say("有什么依据")
    assert item.legal_basis[0] in chat.text()
    await chat.say("办理条件是什么")
    assert item.conditions[0] in chat.text()


async def test_question_during_application_keeps_the_step(chat_factory):
    chat = chat_factory("curious")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say("要交多少钱？")
    assert "20" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say("照片怎么弄？")
    assert "免费拍照" in chat.text() and chat.last()["key"] == "id_number"


async def test_ambiguous_and_unknown_requests(chat_factory):
    chat = chat_factory("vague")
    await chat.say("身份证")
    assert chat.last()["type"] == "choices"
    labels = [o["label"] for o in chat.last()["options"]]
    assert "居民身份证换领" in labels and "居民身份证补领" in labels
    await chat.tap("居民身份证补领")
    assert chat.last()["type"] == "card" and "居民身份证补领" in chat.last()["title"]
    await chat.say("今天天气怎么样")
    assert "帮不上忙" in chat.text() and "没找到" not in chat.text()  # not a government service: say what we do
    await chat.say("我那个事情咋整")
    assert "没找到" in chat.text()
    await chat.tap("人工")
    assert "德令哈市公安局" in chat.text() and "留言" in chat.text()  # nobody online: a message to call back about


async def test_back_edit_and_cancel(chat_factory, client):
    chat = chat_factory("changer")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say("上一步")
    assert chat.last()["key"] == "applicant_name" and chat.last()["current_value"] == "张三"
    await chat.say("李四")
    assert chat.last()["key"] == "id_number"
    await chat.say(VALID_ID)
    await chat.say("13800138000")
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say("德令哈市河西街道长江路1号")
    await chat.tap("电子证照")
    await chat.upload(PNG)
    await chat.tap("跳过")  # the photo is optional
    assert "核对" in chat.last()["title"]
    await chat.say("修改")
    await chat.tap("手机号码")
    assert chat.last()["key"] == "phone"
    await chat.say("13900139000")
    assert "核对" in chat.last()["title"] and "139****9000" in chat.text()
    assert "李四" in chat.text()
    await chat.say("取消")  # many answers would be lost: asked once first
    assert "确定不办" in chat.text()
    await chat.tap("确定取消")
    assert "已取消" in chat.text()
    cases = await (await client.get("/api/v1/cases", params={"user": "changer"})).json()
    assert cases["cases"] == []


async def test_leaving_and_coming_back_resumes(chat_factory):
    chat = chat_factory("returner")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say("/hello")  # the page is opened again later
    assert "接着办理" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say(VALID_ID)
    assert chat.last()["key"] == "phone"


async def test_bundle_asks_each_field_and_material_once_and_never_what_it_issues(chat_factory, client):
    chat = chat_factory("parent")
    await chat.say("新生儿出生一件事")
    assert "新生儿出生一件事" in chat.last()["title"]
    await chat.tap("我要办理")
    answers = {"applicant_name": "王芳", "id_number": VALID_ID, "phone": "13800138000", "child_name": "王小宝",
               "child_birth_date": "2026-11-20", "child_gender": "女", "birth_hospital": "海西州人民医院"}
    asked: list[str] = []
    named: list[str] = []  # the materials' names as the citizen reads them
    while chat.last()["type"] in ("form_step", "material_step"):
        step = chat.last()
        asked.append(step["key"])
        named += [step["name"]] if step["type"] == "material_step" else []
        if step["type"] == "form_step":
            await chat.say(answers[step["key"]])
        elif any("电子证照" in o["label"] for o in step["options"]):
            await chat.tap("电子证照")
        elif not step["required"]:
            await chat.tap("跳过")
        else:
            await chat.upload(PNG)
    assert len(asked) == len(set(asked)), asked
    assert asked[:7] == list(answers)
    assert asked.count("id_card") == 1 and "household_register" in asked
    # 出生医学证明签发 is one of the bundle's items: the certificate it issues is never asked for
    assert "birth_medical_certificate" not in asked and not any("出生医学证明" in name for name in named)
    await chat.tap("确认提交")
    number = re.search(r"DLH\d{14}", chat.text()).group(0)
    case = await (await client.get(f"/api/v1/cases/{number}", params={"user": "parent"})).json()
    assert case["items"] == ["WJ0020000", "WJ0030000", "GA0070000", "YB0010000", "RS0010000"]


async def test_second_application_reuses_what_was_given(chat_factory):
    chat = chat_factory("repeat")
    await renewal_to_confirmation(chat)
    await chat.tap("确认提交")
    await chat.say("居住证怎么办")
    await chat.tap("我要办理")
    offer = chat.text()
    assert "张三" in offer and "110105********002X" in offer and VALID_ID not in offer
    await chat.tap("沿用")
    assert chat.last()["key"] == "township"  # name, ID number and phone are not asked again
    await chat.say("上一步")
    assert chat.last()["key"] == "phone" and chat.last()["current_value"] == "138****8000"


async def test_reuse_can_be_declined(chat_factory):
    chat = chat_factory("fresh")
    await renewal_to_confirmation(chat)
    await chat.tap("确认提交")
    await chat.say("身份证丢了")
    await chat.tap("我要办理")
    await chat.tap("重新填写")
    assert chat.last()["key"] == "applicant_name"


async def test_pledge_instead_of_premises_proof(chat_factory, client):
    chat = chat_factory("shopkeeper")
    await chat.say("个体工商户设立登记")
    await chat.tap("我要办理")
    for answer in ("赵六", VALID_ID, "13800138000", "无", "日用百货零售", "德令哈市河东街道祁连路8号"):
        await chat.say(answer)
    while chat.last()["key"] != "premises_proof":
        await chat.tap("电子证照")
    await chat.tap("告知承诺")
    assert "承诺" in chat.text() and chat.last()["type"] == "choices"
    await chat.tap("我承诺")
    assert "已记录您的承诺" in chat.text()
    await chat.tap("确认提交")
    number = re.search(r"DLH\d{14}", chat.text()).group(0)
    case = await (await client.get(f"/api/v1/cases/{number}", params={"user": "shopkeeper"})).json()
    assert {m["key"]: m["provided_as"] for m in case["materials"]}["premises_proof"] == "pledge"


async def test_bad_uploads_are_refused_and_nothing_is_lost(chat_factory):
    chat = chat_factory("uploader")
    await chat.upload(PNG)
    assert "还不需要上传" in chat.text()
    await start_renewal(chat)
    await fill_renewal_fields(chat)
    await chat.tap("电子证照")
    assert chat.last()["key"] == "old_id_card"
    await chat.upload(b"GIF89a not allowed", "card.png")
    assert "只支持" in chat.text() and chat.last()["key"] == "old_id_card"
    await chat.upload(PNG + b"\0" * 300_000, "huge.png")
    assert "太大" in chat.text() and chat.last()["key"] == "old_id_card"
    await chat.upload(b"", "empty.pdf")
    assert chat.last()["key"] == "old_id_card"
    await chat.say("上一步")
    assert chat.last()["key"] == "household_register"
    await chat.say("/edit address")
    assert chat.last()["key"] == "address" and chat.last()["current_value"].startswith("德令哈")


async def test_double_submit_creates_one_case(chat_factory, client):
    chat = chat_factory("double")
    await renewal_to_confirmation(chat)
    first, second = await asyncio.gather(
        client.post("/api/v1/chat/messages", json={"user": "double", "text": "/submit"}),
        client.post("/api/v1/chat/messages", json={"user": "double", "text": "/submit"}))
    texts = [str(await r.json()) for r in (first, second)]
    numbers = {n for t in texts for n in re.findall(r"DLH\d{14}", t)}
    assert len(numbers) == 1
    cases = await (await client.get("/api/v1/cases", params={"user": "double"})).json()
    assert len(cases["cases"]) == 1


async def test_deadline_in_a_year_without_holiday_data_is_provisional(chat_factory, clock):
    clock.now = datetime(2026, 12, 20, 3, 0, tzinfo=timezone.utc)
    chat = chat_factory("late")
    await renewal_to_confirmation(chat)
    await chat.tap("确认提交")
    assert "2027-01-08" in chat.text() and "节假日安排尚未公布" in chat.text()


async def test_api_errors_are_problem_details(client):
    bad_json = await client.post("/api/v1/chat/messages", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert bad_json.status == 422 and bad_json.content_type == "application/problem+json"
    body = await bad_json.json()
    assert body["status"] == 422 and body["detail"]
    no_user = await client.post("/api/v1/chat/messages", json={"text": "你好"})
    assert no_user.status == 422
    too_long = await client.post("/api/v1/chat/messages", json={"user": "u", "text": "字" * 501})
    assert too_long.status == 422
    huge = await client.post("/api/v1/chat/messages", data=b"x" * 100_000,
                             headers={"Content-Type": "application/json"})
    assert huge.status == 413 and (await huge.json())["detail"]
    missing = await client.get("/api/v1/cases/DLH20260101000001", params={"user": "u"})
    assert missing.status == 404
    assert (await client.get("/nowhere")).content_type == "application/problem+json"


async def test_health_openapi_and_page(client):
    assert (await (await client.get("/healthz")).json())["status"] == "ok"
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/chat/messages" in spec["paths"] and "ChatResponse" in spec["components"]["schemas"]
    page = await client.get("/")
    assert page.status == 200 and "<html" in (await page.text()).lower()


async def test_the_page_has_an_icon(client):
    page = await (await client.get("/")).text()
    assert '<link rel="icon" href="/favicon.ico"' in page
    icon = await client.get("/favicon.ico")
    assert icon.status == 200 and icon.content_type == "image/svg+xml"
    assert (await icon.text()).startswith("<svg")


async def test_too_many_messages_get_a_polite_429(aiohttp_client, settings, content, clock):
    limited = settings.model_copy(update={"rate_limit": settings.rate_limit.model_copy(update={"messages": 2})})
    client = await aiohttp_client(build_app(limited, content, clock))
    for _ in range(2):
        assert (await client.post("/api/v1/chat/messages", json={"user": "fast", "text": "你好"})).status == 200
    response = await client.post("/api/v1/chat/messages", json={"user": "fast", "text": "你好"})
    assert response.status == 429 and "稍等" in (await response.json())["detail"]
    assert response.headers["Retry-After"]


async def test_back_while_an_item_is_offered_says_what_comes_next(chat_factory):
    chat = chat_factory("back-offered")
    await chat.say("身份证过期了咋办")
    await chat.say("上一步")
    assert "直接办理" in chat.text()
    await chat.say("办理")
    assert chat.last()["type"] == "form_step"
