"""Helpers for tests where citizens submit cases and staff work on them."""
from __future__ import annotations

import re

from app import DISPATCHER

from tests.chat import PNG
from tests.waiting import eventually

VALID_ID = "11010519491231002X"


async def start_renewal(chat) -> None:
    await chat.say("身份证过期了咋办")
    assert "居民身份证换领" in chat.text()
    await chat.tap("我要办理")
    assert chat.last()["type"] == "form_step" and chat.last()["key"] == "applicant_name"


async def residence_permit_until_materials(chat, name: str = "张三",
                                          address: str = "德令哈市河西街道长江路1号") -> None:
    """A 居住证申领 (公安局, township) with every field answered: the chat is at its first material."""
    await chat.say("居住证怎么办")
    await chat.tap("我要办理")
    for answer in (name, VALID_ID, "13800138000"):
        await chat.say(answer)
    await chat.tap("河西街道")
    await chat.say(address)


async def fill_renewal_fields(chat) -> None:
    await chat.say("张三")
    await chat.say(VALID_ID)
    await chat.say("13800138000")
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say("德令哈市河西街道长江路1号")


async def renewal_until_confirm(chat, id_number: str = VALID_ID, defer_old_card: bool = False,
                                photo: bytes = PNG) -> None:
    """A citizen's 居民身份证换领 (公安局, township level) filled in up to the confirmation card."""
    await chat.say("身份证过期了咋办")
    await chat.tap("我要办理")
    if "沿用" in chat.text():
        await chat.tap("重新填写")
    for answer in ("张三", id_number, "13800138000"):
        await chat.say(answer)
    await chat.tap("有效期满")
    await chat.tap("邮寄到家")
    await chat.say("德令哈市河西街道长江路1号")
    await chat.tap("电子证照")
    if defer_old_card:
        await chat.tap("容缺")  # the old card is handed in when the new one is collected
    else:
        await chat.upload(photo)
    await chat.tap("跳过")


async def submitted_renewal(chat, defer_old_card: bool = False, photo: bytes = PNG) -> str:
    """The renewal submitted; returns the case number."""
    await renewal_until_confirm(chat, defer_old_card=defer_old_card, photo=photo)
    await chat.tap("确认提交")
    return re.search(r"DLH\d{14}", chat.text()).group(0)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def move(client, token: str, number: str, **body) -> tuple[int, dict]:
    response = await client.post(f"/api/v1/staff/cases/{number}/transitions", json=body, headers=auth(token))
    return response.status, await response.json()


async def pay_fee(chat, number: str) -> dict:
    """The citizen asks to pay, pays in the sandbox, and the asynchronous notification is recorded."""
    replies = await chat.say("缴费")
    payment = next(r for r in replies if r["type"] == "payment" and r["case_number"] == number)
    confirmed = await chat.client.post(f"/api/v1/payments/sandbox/{payment['out_trade_no']}/confirm",
                                        params={"user": chat.user})
    assert confirmed.status == 200, await confirmed.text()
    async def fee() -> dict:
        case = await (await chat.client.get(f"/api/v1/cases/{number}", params={"user": chat.user})).json()
        return case["fee"]

    await eventually(fee, lambda state: state["state"] == "paid", what=f"the payment of {number}")
    return payment


async def completed_case(client, citizen, tokens) -> str:
    """A renewal taken through pre-review, acceptance, payment of its fee and approval."""
    number = await submitted_renewal(citizen)
    for role, to in (("clerk", "pre_reviewed"), ("clerk", "accepted"), ("approver", "in_progress")):
        assert (await move(client, tokens[role], number, to=to))[0] == 200
    await pay_fee(citizen, number)
    assert (await move(client, tokens["approver"], number, to="completed"))[0] == 200
    return number


async def deliver(client) -> None:
    """Every progress message due now, delivered (including those the app's own dispatcher, woken by the
    outbox write, is delivering at the same moment)."""
    await client.app[DISPATCHER].drain()


NEWBORN = {"applicant_name": "王芳", "id_number": VALID_ID, "phone": "13800138000", "child_name": "王小宝",
           "child_birth_date": "2026-11-20", "child_gender": "女", "birth_hospital": "海西州人民医院"}


async def submitted_newborn(chat) -> str:
    """新生儿出生一件事 (卫健委 leads; 公安局's 出生登记 among its items) submitted; returns the case number."""
    await chat.say("新生儿出生一件事")
    await chat.tap("我要办理")
    while chat.last()["type"] in ("form_step", "material_step"):
        step = chat.last()
        if step["type"] == "form_step":
            await chat.say(NEWBORN[step["key"]])
        elif not step["required"]:
            await chat.tap("跳过")
        else:
            await chat.upload(PNG)
    await chat.tap("确认提交")
    return re.search(r"DLH\d{14}", chat.text()).group(0)


async def bad_rating(citizen, level: str = "非常不满意", tags: tuple[str, ...] = (),
                     comment: str = "跑了三趟才办好") -> None:
    """The citizen rates their finished case badly (with these tags and comment), which opens a rectification
    ticket."""
    await citizen.say("评价")
    await citizen.tap(level)
    for tag in tags:
        await citizen.tap(tag)
    await citizen.tap("选好了")
    await citizen.say(comment)
    assert "回访并整改" in citizen.text()


async def new_messages(client, user: str) -> list[str]:
    """The citizen's unread progress messages, acknowledged as a client does once it has shown them."""
    body = await (await client.get("/api/v1/messages", params={"user": user, "unread": "true"})).json()
    if body["messages"]:
        ack = await client.post("/api/v1/messages/ack", json={"user": user, "up_to": body["messages"][-1]["id"]})
        assert ack.status == 200
    return [m["text"] for m in body["messages"]]
