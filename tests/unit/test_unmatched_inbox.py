"""The unmatched inbox alone: personal data masked before anything is kept, similar utterances grouped, the
buffer bounded and a failed flush kept for the next one."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.inbox.grouping import Grouper, Words, normalise
from bot.inbox.models import MissKind
from bot.inbox.recorder import MissBuffer
from bot.privacy import mask_text
from tests.chat import ROOT

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)


def test_an_id_number_and_a_phone_are_never_kept_in_clear() -> None:
    buffer = MissBuffer(lambda: NOW)
    buffer.record(MissKind.miss, "我身份证63280219900101123x丢了，电话13812345678，卡号6222021234567890123")
    kept = buffer.drain()[0].text
    assert "63280219900101123" not in kept and "13812345678" not in kept and "6222021234567890123" not in kept
    assert kept == "我身份证632802********123X丢了，电话138****5678，卡号****0123"


@pytest.mark.parametrize("text, masked", [
    ("我叫张三丰，想办低保", "我叫张**，想办低保"),
    ("姓名：李四", "姓名：李*"),
    ("我住在德令哈市河西街道长江路1号3单元", "我住在德令哈市河西****"),
    ("社保卡怎么补办", "社保卡怎么补办"),  # nothing personal: unchanged
    ("2026年12月办结婚证", "2026年12月办结婚证"),  # short numbers are not phones
])
def test_names_and_addresses_are_masked_like_in_staff_views(text: str, masked: str) -> None:
    assert mask_text(text) == masked


WORDS = Words.load(ROOT / "intents" / "dictionaries" / "synonyms.yaml")


def test_normalising_folds_width_punctuation_numbers_and_fillers() -> None:
    assert normalise("  办 狗证？？ＡＢ 138****5678 ") == "办狗证ab"  # personal data says nothing of the wish
    assert normalise("2026年12月") == "#年#月"
    assert normalise("请问我想办宠物狗证去哪里办呀？", WORDS) == "宠物狗"  # 办, 证: stop characters at the ends
    assert normalise("办证", WORDS) == "办证"  # nothing would be left: kept as it is


def key(text: str) -> str:
    return normalise(text, WORDS)


def test_similar_utterances_share_a_group_and_others_do_not() -> None:
    grouper = Grouper([(7, key("我想办宠物狗证"))])
    assert grouper.assign(key("我想办宠物狗证，电话138****5678")) == 7
    assert grouper.assign(key("宠物狗证去哪里办")) == 7
    fishing = grouper.assign(key("钓鱼证在哪里办"))
    assert fishing < 0  # a new group
    assert grouper.assign(key("请问钓鱼证怎么办理")) == fishing
    assert grouper.assign(key("驾照")) not in (7, fishing)
    assert grouper.assign(key("宠物医院")) not in (7, fishing)


def test_a_full_buffer_drops_the_oldest_and_a_failed_flush_is_kept() -> None:
    buffer = MissBuffer(lambda: NOW, capacity=2)
    for text in ("一", "二", "三"):
        buffer.record(MissKind.miss, text)
    assert [m.text for m in buffer.drain()] == ["二", "三"] and buffer.dropped == 1
    buffer.record(MissKind.miss, "四")
    failed = MissBuffer(lambda: NOW)
    failed.record(MissKind.miss, "五")
    buffer.put_back(failed.drain())
    assert [m.text for m in buffer.drain()] == ["五", "四"]


def test_a_question_answered_before_the_flush_is_never_written_and_a_failed_flush_keeps_the_answers() -> None:
    buffer = MissBuffer(lambda: NOW)
    answered = buffer.asked("公积金", ["GJJ01", "GJJ02"])
    buffer.asked("社保", ["SB01"])
    buffer.settle(answered)
    buffer.settle("heard-elsewhere")
    assert [(m.kind, m.text) for m in buffer.drain()] == [(MissKind.unanswered_clarify, "社保")]
    assert buffer.drain_settled() == ["heard-elsewhere"]  # the question was written by another instance
    buffer.put_back([], ["heard-elsewhere"])
    assert buffer.drain_settled() == ["heard-elsewhere"]
