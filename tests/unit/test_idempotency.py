"""Client message ids remembered in the conversation state: the last few, and only for the same message."""
from __future__ import annotations

import pytest

from bot.dialogue.idempotency import KEPT, ClientIdReused, earlier_answer, message_digest, remember_answer
from bot.dialogue.replies import TextReply
from bot.dialogue.state import Conversation, decode, encode
from bot.uploads import Upload


def test_the_last_few_answers_are_kept_and_survive_a_reset() -> None:
    state = Conversation()
    for n in range(KEPT + 1):
        remember_answer(state, f"client-id-{n:03d}", message_digest(str(n), None), [TextReply(text=f"答{n}")])
    state.reset()  # e.g. the turn that submitted a case
    state = decode(encode(state))
    assert earlier_answer(state, "client-id-000", message_digest("0", None)) is None  # the oldest was dropped
    assert earlier_answer(state, f"client-id-{KEPT:03d}", message_digest(str(KEPT), None)) == [
        TextReply(text=f"答{KEPT}")]


def test_an_id_sent_again_with_another_message_is_refused() -> None:
    state = Conversation()
    remember_answer(state, "client-id-1", message_digest("张三", None), [TextReply(text="好")])
    with pytest.raises(ClientIdReused):
        earlier_answer(state, "client-id-1", message_digest("李四", None))
    photo = message_digest(None, Upload(filename="a.png", data=b"1"))
    assert photo != message_digest(None, Upload(filename="a.png", data=b"2")) != message_digest("1", None)
