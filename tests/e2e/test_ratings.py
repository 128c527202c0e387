"""好差评 end to end: rating in the chat, a bad rating through rectification to the citizen's answer, statistics."""
from __future__ import annotations

from datetime import timedelta

from tests.e2e.casework import auth, bad_rating, completed_case, deliver


async def test_good_rating_in_four_taps_and_editable_for_a_while(client, chat_factory, tokens, clock) -> None:
    citizen = chat_factory("r1")
    await citizen.say("评价")
    assert "没有可以评价" in citizen.text()
    number = await completed_case(client, citizen, tokens)
    await deliver(client)
    await citizen.say("/hello")
    assert "已办结" in citizen.text() and "评价" in citizen.text()
    await citizen.say("评价")
    assert [o["label"] for o in citizen.last()["options"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    await citizen.tap("非常满意")
    await citizen.tap("一次办好")
    assert "一次办好" not in [o["label"] for o in citizen.last()["options"]]
    await citizen.tap("选好了")
    await citizen.say("窗口的同志很耐心，谢谢！")
    assert "感谢您的评价" in citizen.text()
    await citizen.say("评价")  # still within the edit window
    await citizen.tap("满意")
    await citizen.tap("选好了")
    await citizen.tap("跳过")
    clock.now += timedelta(hours=25)
    await citizen.say("评价")
    assert "没有可以评价" in citizen.text()
    stats = await (await client.get("/api/v1/staff/statistics", headers=auth(tokens["supervisor"]))).json()
    assert stats["items"]["居民身份证换领"] == {"ratings": 1, "satisfaction_rate": 1.0, "bad_rate": 0.0}
    assert number


async def test_bad_rating_through_rectification_to_the_citizens_answer(client, chat_factory, tokens) -> None:
    citizen = chat_factory("r2")
    number = await completed_case(client, citizen, tokens)
    await citizen.say("评价")
    await citizen.tap("非常不满意")
    await citizen.tap("超时限")
    await citizen.tap("态度不好")
    await citizen.tap("选好了")
    await citizen.say("跑了三趟才办好")
    assert "回访并整改" in citizen.text()

    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [ticket] = [t for t in tickets["rectifications"] if t["case_number"] == number]
    assert ticket["status"] == "open" and ticket["department"] == "德令哈市公安局" and not ticket["overdue"]
    assert ticket["callback_due"] == "2026-11-30" and ticket["rectify_due"] == "2026-12-18"
    other = await client.get("/api/v1/staff/rectifications", headers=auth(tokens["other_clerk"]))
    assert all(t["case_number"] != number for t in (await other.json())["rectifications"])
    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    assert (await client.post(f"{path}/close", json={"text": "x"}, headers=auth(tokens["supervisor"]))).status == 403
    assert (await client.post(f"{path}/close", json={"text": "x"},
                              headers=auth(tokens["other_clerk"]))).status == 404
    called = await client.post(f"{path}/callback", json={"text": "已电话回访，群众反映排队时间长"},
                               headers=auth(tokens["clerk"]))
    assert (await called.json())["status"] == "called_back"
    closed = await client.post(f"{path}/close", json={"text": "增设一个户籍窗口，高峰期排队缩短到15分钟"},
                               headers=auth(tokens["clerk"]))
    assert (await closed.json())["status"] == "closed"

    await deliver(client)
    await citizen.say("/hello")
    shown = citizen.text()
    assert "增设一个户籍窗口" in shown and "问题解决了吗" in shown
    await citizen.tap("已解决")
    assert "谢谢" in citizen.text()
    await citizen.say("/hello")
    assert "问题解决了吗" not in citizen.text()
    tickets = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    assert next(t for t in tickets["rectifications"] if t["id"] == ticket["id"])["citizen_resolved"] is True
    stats = await (await client.get("/api/v1/staff/statistics", headers=auth(tokens["clerk"]))).json()
    assert stats["departments"]["德令哈市公安局"]["bad_rate"] == 1.0
    assert stats["rectification"] == {"tickets": 1, "closed": 1, "on_time_rate": 1.0}
    assert 0 < stats["online_rate"] < 1 and 0 < stats["online_rates"]["德令哈市公安局"] < 1


async def test_unrated_cases_get_the_default_rating_after_the_period(client, chat_factory, tokens, clock) -> None:
    from app import FEEDBACK
    citizen = chat_factory("r3")
    await completed_case(client, citizen, tokens)
    feedback = client.app[FEEDBACK]
    assert await feedback.apply_defaults() == 0
    clock.now += timedelta(days=16)
    assert await feedback.apply_defaults() == 1
    assert await feedback.apply_defaults() == 0
    stats = await (await client.get("/api/v1/staff/statistics", headers=auth(tokens["clerk"]))).json()
    assert stats["items"]["居民身份证换领"]["ratings"] == 1 and stats["items"]["居民身份证换领"]["satisfaction_rate"] == 1
    await citizen.say("评价")
    assert "没有可以评价" in citizen.text()  # a default rating is not the citizen's to edit


async def test_not_resolved_reopens_the_ticket_and_tells_the_supervisors(client, chat_factory, tokens, clock) -> None:
    citizen = chat_factory("r4")
    number = await completed_case(client, citizen, tokens)
    await bad_rating(citizen, "不满意", ("多次跑腿",), "材料清单没有一次说清")
    listed = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    [ticket] = [t for t in listed["rectifications"] if t["case_number"] == number]
    assert ticket["rating"]["label"] == "不满意" and ticket["rating"]["tags"] == ["多次跑腿"]
    assert ticket["rating"]["comment"] == "材料清单没有一次说清" and ticket["citizen_answers"] == []
    path = f"/api/v1/staff/rectifications/{ticket['id']}"
    closed = await client.post(f"{path}/close", json={"text": "已在窗口张贴材料清单"}, headers=auth(tokens["clerk"]))
    assert (await closed.json())["status"] == "closed"
    await deliver(client)
    await citizen.say("/hello")
    assert "问题解决了吗" in citizen.text()

    clock.now += timedelta(days=3)  # the next Monday: new deadlines count from it
    await citizen.say("还是没有解决")  # typed, not tapped
    told = citizen.text()
    assert "重新打开" in told and "德令哈市公安局" in told and "回访" in told, told
    await citizen.say("没有解决")  # once is enough: nothing is reopened twice
    assert "没有待确认的整改结果" in citizen.text()

    listed = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    reopened = next(t for t in listed["rectifications"] if t["id"] == ticket["id"])
    assert reopened["status"] == "open" and reopened["citizen_resolved"] is False
    assert len(reopened["citizen_answers"]) == 1 and reopened["citizen_answers"][0]["resolved"] is False
    assert reopened["rectify_due"] > ticket["rectify_due"] and reopened["result"] == "已在窗口张贴材料清单"
    notices = await (await client.get("/api/v1/staff/notifications", headers=auth(tokens["supervisor"]))).json()
    [notice] = [n for n in notices["notifications"] if n["kind"] == "rectification.reopened"]
    assert notice["ticket_id"] == ticket["id"] and number in notice["text"]
    others = await (await client.get("/api/v1/staff/notifications", headers=auth(tokens["other_clerk"]))).json()
    assert not others["notifications"]

    again = await client.post(f"{path}/close", json={"text": "材料清单已改为一次性告知"}, headers=auth(tokens["clerk"]))
    assert (await again.json())["status"] == "closed"
    await deliver(client)
    await citizen.say("/hello")
    assert "一次性告知" in citizen.text() and "问题解决了吗" in citizen.text()
    await citizen.tap("已解决")
    assert "谢谢" in citizen.text()
    listed = await (await client.get("/api/v1/staff/rectifications", headers=auth(tokens["clerk"]))).json()
    assert next(t for t in listed["rectifications"] if t["id"] == ticket["id"])["citizen_resolved"] is True
