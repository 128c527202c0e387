"""The chat API is idempotent per client message id: a retry, a duplicate sent at the same time, or a retry after
the instance that took the message died gets the first answer, and never a second case."""
from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

from app import SERVICES
from bot.ports import SessionUnavailable
from tests.chat import Chat
from tests.e2e.casework import renewal_until_confirm


async def post(client, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
    response = await client.post("/api/v1/chat/messages", json=body, headers=headers or {})
    return response.status, await response.read()


async def cases_of(client, user: str) -> list[dict]:
    response = await client.get("/api/v1/cases", params={"user": user})
    return (await response.json())["cases"]


async def test_a_submit_sent_twice_answers_the_same_and_makes_one_case(client) -> None:
    chat = Chat(client, "idem-retry")
    await renewal_until_confirm(chat)
    submit = {"user": chat.user, "text": chat.option("确认提交"), "client_message_id": str(uuid.uuid4())}
    first = await post(client, submit)
    again = await post(client, submit)  # the client timed out and sends it again
    assert first[0] == again[0] == 200 and "DLH" in first[1].decode()
    assert again[1] == first[1]  # the very same body
    assert len(await cases_of(client, chat.user)) == 1


async def test_two_duplicates_at_once_run_one_turn(client) -> None:
    chat = Chat(client, "idem-race")
    await chat.say("身份证过期了咋办")
    await chat.tap("我要办理")
    assert chat.last()["key"] == "applicant_name"
    message = {"user": chat.user, "text": "张三", "client_message_id": uuid.uuid4().hex}
    first, second = await asyncio.gather(post(client, message), post(client, message))
    assert first == second and first[0] == 200
    after = await chat.say("11010519491231002X")  # had the duplicate run, this would answer a later step
    assert after[-1]["key"] == "phone"


async def test_the_header_works_like_the_field_and_a_reused_id_is_refused(client) -> None:
    chat = Chat(client, "idem-header")
    key = str(uuid.uuid4())
    first = await post(client, {"user": chat.user, "text": "身份证过期了咋办"}, {"Idempotency-Key": key})
    again = await post(client, {"user": chat.user, "text": "身份证过期了咋办", "client_message_id": key},
                       {"Idempotency-Key": key})
    assert first[0] == 200 and again == first
    other = await post(client, {"user": chat.user, "text": "居住证怎么办"}, {"Idempotency-Key": key})
    assert other[0] == 422 and "编号" in other[1].decode()
    differ = await post(client, {"user": chat.user, "text": "你好", "client_message_id": uuid.uuid4().hex},
                        {"Idempotency-Key": uuid.uuid4().hex})
    bad = await post(client, {"user": chat.user, "text": "你好"}, {"Idempotency-Key": "x"})
    assert differ[0] == bad[0] == 422


class _DiesBeforeSaving:
    """The real session store, as seen by an instance killed between committing the case and saving the
    conversation: its first save never happens (the lock is released, as a lease would run out)."""

    def __init__(self, store) -> None:
        self._store, self.dead = store, False

    @asynccontextmanager
    async def session(self, user: str):
        async with self._store.session(user) as session:
            if not self.dead:
                self.dead = True
                session.save = self._die
            yield session

    @staticmethod
    async def _die(state) -> None:
        raise SessionUnavailable("killed before saving")


async def test_a_retry_after_the_instance_died_mid_submit_finds_the_first_case(client) -> None:
    """The case was committed but the conversation never saved: the retry submits the same draft again, and the
    case store's key on the draft (its submit key) returns the case already made."""
    services = client.app[SERVICES]
    chat = Chat(client, "idem-crash")
    await renewal_until_confirm(chat)
    engine = services.engine
    real = engine._sessions
    engine._sessions = _DiesBeforeSaving(real)
    submit = {"user": chat.user, "text": chat.option("确认提交"), "client_message_id": str(uuid.uuid4())}
    try:
        died = await post(client, submit)
        assert died[0] == 503  # the client saw an error, as it would from a dead instance
        assert len(await cases_of(client, chat.user)) == 1  # yet the case was committed
        retried = await post(client, submit)
    finally:
        engine._sessions = real
    assert retried[0] == 200 and "DLH" in retried[1].decode()
    assert len(await cases_of(client, chat.user)) == 1
    assert (await post(client, submit)) == retried  # and from now on the same answer
