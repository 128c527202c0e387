"""实名核验 before submitting: a refused identity blocks the submit politely; a verified one is remembered."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.casework import VALID_ID, renewal_until_confirm
from tests.e2e.miniprogram.session import DENIED_ID


async def test_a_refused_identity_is_not_submitted_until_corrected(client, chat_factory, settings) -> None:
    citizen = chat_factory("rn1")
    await renewal_until_confirm(citizen, DENIED_ID)
    await citizen.tap("确认提交")
    assert "未能通过实名核验" in citizen.text() and "确认提交" in citizen.text()
    assert (await (await client.get("/api/v1/cases", params={"user": "rn1"})).json()) == {"cases": []}

    await citizen.tap("修改")
    await citizen.tap("身份证号")
    await citizen.say(VALID_ID)
    await citizen.tap("确认提交")
    assert "提交成功" in citizen.text()
    number = re.search(r"DLH\d{14}", citizen.text()).group(0)
    cases = await (await client.get("/api/v1/cases", params={"user": "rn1"})).json()
    assert [c["number"] for c in cases["cases"]] == [number]

    db = create_async_engine(settings.database_url)
    async with db.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT user_id, identity_hash FROM verified_identities"))).all()
    await db.dispose()
    assert [r.user_id for r in rows] == ["rn1"] and VALID_ID not in rows[0].identity_hash


async def test_a_verified_identity_is_remembered_per_user(client, chat_factory, settings) -> None:
    citizen = chat_factory("rn2")
    for _ in range(2):
        await renewal_until_confirm(citizen, VALID_ID)
        await citizen.tap("确认提交")
        assert "提交成功" in citizen.text()
    db = create_async_engine(settings.database_url)
    async with db.connect() as conn:
        remembered = (await conn.execute(sa.text("SELECT count(*) FROM verified_identities"))).scalar_one()
    await db.dispose()
    assert remembered == 1


async def test_full_width_digits_do_not_get_past_the_deny_list(client, chat_factory) -> None:
    citizen = chat_factory("rn3")
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in DENIED_ID)
    await renewal_until_confirm(citizen, full_width)
    await citizen.tap("确认提交")
    assert "未能通过实名核验" in citizen.text()
    assert (await (await client.get("/api/v1/cases", params={"user": "rn3"})).json()) == {"cases": []}
