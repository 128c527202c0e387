"""The chat response body is exactly the documented ChatResponse, whatever the replies hold."""
from __future__ import annotations

from hypothesis import given, strategies as st

from bot.dialogue.replies import (CardField, CardReply, ChatResponse, ChoicesReply, FormStepReply,
                                  MaterialStepReply, Option, PaymentReply, Progress, Reply, TextReply,
                                  reply_json, response_json)

texts = st.text(max_size=30)
options = st.lists(st.builds(Option, label=texts, value=texts), max_size=3)
progress = st.builds(Progress, current=st.integers(0, 20), total=st.integers(1, 20))
replies: st.SearchStrategy[Reply] = st.one_of(
    st.builds(TextReply, text=texts),
    st.builds(ChoicesReply, text=texts, options=options),
    st.builds(FormStepReply, key=texts, label=texts, input=texts, text=texts, hint=st.none() | texts,
              options=options, current_value=st.none() | texts, progress=progress),
    st.builds(MaterialStepReply, key=texts, name=texts, text=texts, required=st.booleans(),
              accept=st.lists(texts, max_size=3), max_bytes=st.integers(0, 10**8), options=options,
              progress=progress),
    st.builds(CardReply, title=texts, fields=st.lists(st.builds(CardField, label=texts, value=texts), max_size=3),
              actions=options),
    st.builds(PaymentReply, text=texts, case_number=texts, amount=texts, out_trade_no=texts, provider=texts,
              request=st.dictionaries(texts, texts, max_size=3)),
)


@given(st.lists(replies, max_size=4))
def test_response_body_is_the_documented_chat_response(sent: list[Reply]) -> None:
    body = response_json(sent)
    assert body == ChatResponse(replies=sent).model_dump_json(exclude_none=True).encode()
    assert ChatResponse.model_validate_json(body).replies == sent


@given(st.lists(replies, min_size=1, max_size=4))
def test_replies_serialised_once_give_the_same_body(sent: list[Reply]) -> None:
    known = {id(sent[0]): (sent[0], reply_json(sent[0]))}
    assert response_json(sent, known) == ChatResponse(replies=sent).model_dump_json(exclude_none=True).encode()


def test_json_kept_for_another_object_is_not_sent() -> None:
    gone, new = TextReply(text="旧卡片"), TextReply(text="新卡片")
    body = response_json([new], {id(new): (gone, reply_json(gone))})  # as if an id had been reused
    assert "新卡片" in body.decode() and "旧卡片" not in body.decode()
