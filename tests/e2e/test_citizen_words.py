"""What the citizen reads on screen: each staff move worded as what it is, the rating invitation as its own
message, nothing shown twice, no greeting after a question, and help that shows what can be done now."""
from __future__ import annotations

from tests.chat import PNG
from tests.e2e.casework import auth, completed_case, deliver, move, new_messages, submitted_renewal


async def test_a_pass_gives_no_reason_a_refusal_does(client, chat_factory, tokens) -> None:
    citizen = chat_factory("w1")
    number = await submitted_renewal(citizen)
    await move(client, tokens["clerk"], number, to="pre_reviewed", reason="材料齐全")
    await deliver(client)
    assert await new_messages(client, "w1") == [f"办件 {number} 进度：预审通过，等待受理。"]  # own submit is not news
    await move(client, tokens["clerk"], number, to="accepted")
    await move(client, tokens["approver"], number, to="refused", reason="申请人户籍不在本辖区。")
    await deliver(client)
    *_, refused, invitation = await new_messages(client, "w1")
    assert refused == f"办件 {number} 进度：不予受理。原因：申请人户籍不在本辖区。"
    assert invitation == f"办件 {number} 已办完，回复「评价」为这次服务打个分吧。"


async def test_the_citizens_own_moves_are_not_news(client, chat_factory, tokens) -> None:
    citizen = chat_factory("w6")
    number = await submitted_renewal(citizen)
    await move(client, tokens["clerk"], number, to="returned", reason="材料不清晰",
               materials={"old_id_card": "照片模糊，请重新拍摄"})
    await deliver(client)
    assert await new_messages(client, "w6") == [f"办件 {number} 进度：需要补正材料，回复「补正」即可办理。原因：材料不清晰。"]
    await citizen.say("/hello")
    await citizen.upload(PNG + b"clearer")
    await citizen.tap("确认提交")
    assert "重新进入预审" in citizen.text()
    await citizen.say("撤回")
    await citizen.tap(number)
    await citizen.tap("确定撤回")
    assert "已撤回" in citizen.text()
    await deliver(client)
    assert await new_messages(client, "w6") == []  # both answered in the chat when made


async def test_the_rating_invitation_is_its_own_message(client, chat_factory, tokens) -> None:
    citizen = chat_factory("w2")
    number = await completed_case(client, citizen, tokens)
    await deliver(client)
    news = await new_messages(client, "w2")
    assert news[-2:] == [f"办件 {number} 进度：已办结。", f"办件 {number} 已办完，回复「评价」为这次服务打个分吧。"]
    assert not any("原因" in text for text in news)


async def test_a_rectification_result_is_shown_once_as_a_question(client, chat_factory, tokens) -> None:
    citizen = chat_factory("w3")
    number = await completed_case(client, citizen, tokens)
    await citizen.say("评价")
    await citizen.tap("非常不满意")
    await citizen.tap("选好了")
    await citizen.tap("跳过")
    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [ticket] = [t for t in tickets["rectifications"] if t["case_number"] == number]
    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    await client.post(f"{path}/callback", json={"text": "已电话回访"}, headers=auth(tokens["clerk"]))
    await client.post(f"{path}/close", json={"text": "增设一个户籍窗口，不再要求重复提交。"},
                      headers=auth(tokens["clerk"]))
    await deliver(client)
    await citizen.say("/hello")
    shown = citizen.text()
    assert shown.count("增设一个户籍窗口") == 1 and "。。" not in shown
    assert "不再要求重复提交。问题解决了吗？" in shown
    assert citizen.last()["type"] == "choices" and "小助手" not in shown  # the question last, no greeting after it


async def test_help_and_reopening_while_a_choice_is_pending_show_the_choices(chat_factory) -> None:
    chat = chat_factory("w4")
    await chat.say("身份证")
    choices = [o["label"] for o in chat.last()["options"]]
    for text in ("帮助", "/hello"):
        await chat.say(text)
        assert chat.last()["type"] == "choices" and [o["label"] for o in chat.last()["options"]] == choices
        assert "小助手" not in chat.text()
    await chat.tap("居民身份证补领")
    assert chat.last()["type"] == "card"


async def test_material_choices_are_in_plain_words(chat_factory) -> None:
    chat = chat_factory("w5")
    await chat.say("个体工商户设立登记")
    await chat.tap("我要办理")
    for answer in ("赵六", "11010519491231002X", "13800138000", "无", "日用百货零售", "德令哈市河东街道祁连路8号"):
        await chat.say(answer)
    while chat.last()["key"] != "premises_proof":
        await chat.tap("电子证照")
    labels = [o["label"] for o in chat.last()["options"]]
    assert "用承诺代替证明（告知承诺）" in labels and "告知承诺" not in labels
