"""Everyday talk at any point of a conversation, driven through the HTTP chat API: small talk, consent, cancel,
skip and progress in the citizen's own words, choices and dates typed freely, precise validation messages."""
from __future__ import annotations

import re

from tests.chat import PNG
from tests.e2e.casework import (VALID_ID, completed_case, fill_renewal_fields, move, start_renewal,
                               submitted_renewal)

CAPABILITIES = ("办事指南", "查办件进度", "查进度")


async def to_material(chat, key: str | None) -> None:
    """Answer the steps of the application on screen (first option, e-licence, an upload) until `key` is asked
    (None: until the confirmation card)."""
    answers = {"applicant_name": "张三", "id_number": VALID_ID, "phone": "13800138000",
               "address": "德令哈市河西街道长江路1号", "move_from": "青海省西宁市城中区南滩派出所"}
    while chat.last().get("key") != key and "核对" not in chat.last().get("title", ""):
        step = chat.last()
        assert step["type"] in ("form_step", "material_step"), chat.text()
        if step["type"] == "form_step":
            await (chat.say(step["options"][0]["value"]) if step["options"] else chat.say(answers[step["key"]]))
        elif any("电子证照" in o["label"] for o in step["options"]):
            await chat.tap("电子证照")
        else:
            await chat.upload(PNG)


async def test_small_talk_gets_a_friendly_answer_and_never_no_match(chat_factory):
    chat = chat_factory("hello-there")
    for text in ("你好", "在吗", "您好，在吗？", "谢谢", "好的，谢谢！", "再见", "拜拜"):
        await chat.say(text)
        assert "没找到" not in chat.text(), text
        assert any(word in chat.text() for word in CAPABILITIES), (text, chat.text())
    await chat.say("你好，身份证过期了咋办")  # a request with a greeting is still a request
    assert "居民身份证换领" in chat.text()


async def test_small_talk_during_a_step_repeats_the_pending_question(chat_factory):
    chat = chat_factory("polite")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say("在吗？")
    assert "在的" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say("谢谢")
    assert "不客气" in chat.text() and chat.last()["key"] == "id_number"
    await chat.say(VALID_ID)
    assert chat.last()["key"] == "phone"


async def test_consent_in_words_starts_the_application(chat_factory):
    for user, consent in (("consent-1", "好的，我要申请"), ("consent-2", "那就办吧"), ("consent-3", "嗯，帮我办理一下吧")):
        chat = chat_factory(user)
        await chat.say("身份证过期了咋办")
        await chat.say(consent)
        assert chat.last()["type"] == "form_step" and chat.last()["key"] == "applicant_name", (consent, chat.text())


async def test_cancel_in_words_cancels_and_never_offers_an_item(chat_factory):
    for user, words in (("cancel-1", "算了不办了"), ("cancel-2", "不办了，取消"), ("cancel-3", "不想弄了")):
        chat = chat_factory(user)
        await start_renewal(chat)
        await chat.say("张三")
        await chat.say(words)
        assert "已取消" in chat.text(), (words, chat.text())
        assert "公积金" not in chat.text() and "提取" not in chat.text()
    idle = chat_factory("cancel-idle")
    await idle.say("不办了，取消")
    assert "公积金" not in idle.text() and "没有正在办理" in idle.text()


async def test_withdrawal_of_housing_fund_is_not_a_cancel(chat_factory):
    chat = chat_factory("fund")
    await chat.say("提取公积金")
    assert "公积金" in chat.text() and "没有正在办理" not in chat.text()
    await chat.say("我打算了解一下租房提取公积金")  # 算了 inside 打算了解 is no cancel
    assert "公积金" in chat.text() and "没有正在办理" not in chat.text()


async def test_cancel_late_in_the_form_is_confirmed_once(chat_factory):
    chat = chat_factory("late-cancel")
    await start_renewal(chat)
    await fill_renewal_fields(chat)
    await chat.say("算了，不想弄了")
    assert "确定不办「居民身份证换领」了吗" in chat.text()
    await chat.say("继续办")
    assert "接着办" in chat.text() and chat.last()["key"] == "household_register"
    await chat.say("不办了")
    assert "确定不办" in chat.text()
    await chat.say("是的")
    assert "已取消" in chat.text()
    await chat.say("/hello")
    assert "接着办理" not in chat.text()


async def test_an_answer_after_the_cancel_question_is_taken_as_an_answer(chat_factory):
    chat = chat_factory("changed-mind")
    await start_renewal(chat)
    await fill_renewal_fields(chat)
    await chat.say("不办了")
    await chat.upload(PNG)  # neither yes nor no: the step is answered, the application goes on
    assert chat.last()["key"] == "old_id_card"
    await chat.say("是的")  # no question is pending any more: not a cancel
    assert "已取消" not in chat.text() and chat.last()["key"] == "old_id_card"


async def test_skip_in_words_on_an_optional_material(chat_factory):
    chat = chat_factory("no-marriage")
    await chat.say("户口迁移登记")
    await chat.tap("我要办理")
    await to_material(chat, "marriage_certificate")
    await chat.say("没有结婚证，跳过吧")
    assert chat.last().get("key") != "marriage_certificate" and "需要上传" not in chat.text()

    photo = chat_factory("no-photo")
    await start_renewal(photo)
    await fill_renewal_fields(photo)
    await photo.tap("电子证照")
    await photo.say("跳过吧")  # the old card is required: it cannot be skipped
    assert photo.last()["key"] == "old_id_card"
    await photo.upload(PNG)
    assert photo.last()["key"] == "id_photo"
    await photo.say("这个没有")
    assert "核对" in photo.last()["title"] and "未提供" in photo.text()


async def test_progress_in_words_lists_the_citizens_cases(chat_factory, client, tokens):
    chat = chat_factory("progress")
    await chat.say("查进度")
    assert "还没有办件" in chat.text() and "没找到" not in chat.text()
    number = await submitted_renewal(chat)
    await chat.say("我的身份证办到哪一步了")
    assert number in chat.text() and "等待工作人员预审" in chat.text() and "居民身份证换领" in chat.text()
    for to in ("pre_reviewed", "accepted"):
        assert (await move(client, tokens["clerk"], number, to=to))[0] == 200
    await chat.say("钱交了没")
    assert number in chat.text() and "已受理" in chat.text() and "待缴费 20.00 元" in chat.text()
    await chat.say("居住证怎么办")
    await chat.tap("我要办理")
    await chat.tap("沿用")
    await to_material(chat, None)
    await chat.tap("确认提交")
    other = re.search(r"DLH\d{14}", chat.text()).group(0)
    await chat.say("我的办件")
    assert number in chat.text() and other in chat.text()
    await chat.say("我的身份证办到哪一步了")  # names the item: only its cases
    assert number in chat.text() and other not in chat.text()
    await chat.say("身份证过期了咋办")
    await chat.tap("我要办理")
    await chat.tap("重新填写")
    await chat.say("查进度")  # in the middle of a form: the cases, then the question again
    assert number in chat.text() and chat.last()["type"] == "form_step"


async def test_a_rating_comment_is_never_read_as_talk_or_a_query(chat_factory, client, tokens):
    chat = chat_factory("rater")
    number = await completed_case(client, chat, tokens)
    await chat.say("办好了没")
    assert number in chat.text() and "已办结" in chat.text() and "评价" in chat.text()
    await chat.say("评价")
    await chat.tap("非常满意")
    await chat.tap("选好了")
    await chat.say("谢谢，查进度很方便")  # a comment, although it thanks and names 查进度
    assert "感谢您的评价" in chat.text() and number not in chat.text()


async def test_choice_steps_take_words_and_numbers(chat_factory):
    chat = chat_factory("chooser")
    await start_renewal(chat)
    for answer in ("张三", VALID_ID, "13800138000"):
        await chat.say(answer)
    await chat.say("我也不知道")
    assert "选项" in chat.text() and chat.last()["key"] == "reason"
    await chat.say("到期了")
    assert chat.last()["key"] == "delivery"
    await chat.say("不要邮寄，自取")  # names both options: asked again
    assert "选项" in chat.text() and chat.last()["key"] == "delivery"
    await chat.say("寄到家里吧")
    assert chat.last()["key"] == "address"
    await chat.say("上一步")
    await chat.say("2")
    assert chat.last()["key"] == "address"
    await chat.say("/edit delivery")
    assert chat.last()["current_value"] == "窗口自取"


async def test_dates_and_choices_in_natural_forms(chat_factory):
    chat = chat_factory("new-parent")
    await chat.say("新生儿出生一件事")
    await chat.tap("我要办理")
    for answer in ("王芳", VALID_ID, "13800138000", "王小宝"):
        await chat.say(answer)
    assert chat.last()["key"] == "child_birth_date"
    await chat.say("上个月28号")  # the clock's China date is 2026-11-27
    assert chat.last()["key"] == "child_gender", chat.text()
    await chat.say("男孩")
    assert chat.last()["key"] == "birth_hospital"
    await chat.say("/edit child_birth_date")
    assert chat.last()["current_value"] == "2026-10-28"
    for typed, meant in (("11月20号", "2026-11-20"), ("前天", "2026-11-25"), ("2026.11.18", "2026-11-18"),
                         ("二〇二六年十一月十六日", "2026-11-16"), ("11月28号", "2025-11-28")):
        await chat.say(typed)
        await chat.say("/edit child_birth_date")
        assert chat.last()["current_value"] == meant, (typed, chat.text())
    await chat.say("/edit child_gender")
    assert chat.last()["current_value"] == "男"


async def test_phone_refusals_say_what_is_wrong(chat_factory):
    chat = chat_factory("digits")
    await start_renewal(chat)
    await chat.say("张三")
    await chat.say(VALID_ID)
    await chat.say("12345678901")
    assert "12开头" in chat.text() and "第二位" in chat.text() and chat.last()["key"] == "phone"
    await chat.say("1380013800")
    assert "11位" in chat.text() and "10位" in chat.text()
    await chat.say("23800138000")
    assert "以1开头" in chat.text()
    await chat.say("13800138000")
    assert chat.last()["key"] == "reason"
