"""Option values are built and read in one place; the command words of the product team are checked at load; the
numbers of the text-only channel are the numbers the engine records."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content import Content
from bot.content_errors import ContentInvalid
from bot.dialogue.answers import QuestionWords
from bot.dialogue.commands import Command, Invocation, TicketAnswer, parse
from bot.dialogue.plain import as_text
from bot.dialogue.replies import (CardReply, ChoicesReply, FormStepReply, MaterialStepReply, Option, Progress,
                                  TextReply, numbered_options)
from bot.dialogue.topics import Topic
from bot.ratings import RatingLevel
from tests.chat import ROOT

EXAMPLES = [Invocation(Command.pick, "GA0020000"), Invocation(Command.rate_level, RatingLevel.basic),
            Invocation(Command.ask, Topic.materials), Invocation(Command.edit, "phone"), Invocation(Command.edit),
            Invocation(Command.pay, "DLH20261127000001"), Invocation(Command.withdraw_confirm, "DLH1"),
            Invocation(Command.rectified, TicketAnswer(12, True)), Invocation(Command.reuse, False),
            Invocation(Command.accept_pledge)]


@pytest.mark.parametrize("invocation", EXAMPLES, ids=lambda i: i.value)
def test_a_value_reads_back_as_the_invocation_it_came_from(invocation: Invocation) -> None:
    assert parse(invocation.value) == invocation


def test_values_are_what_clients_already_send() -> None:
    assert [i.value for i in EXAMPLES[:3]] == ["/pick GA0020000", "/rate_level 3", "/ask materials"]
    assert Invocation(Command.rectified, TicketAnswer(12, True)).value == "/rectified 12 yes"
    assert Invocation(Command.reuse, True).value == "/reuse yes"


def test_unknown_verbs_and_arguments_that_do_not_fit() -> None:
    assert parse("/nonsense 1") is None and parse("身份证") is None
    assert parse("/rate_level 9") == Invocation(Command.rate_level)  # the handler repeats its question
    assert parse("/ask weather") == Invocation(Command.ask)
    with pytest.raises(TypeError):
        Invocation(Command.rate_level, "3")
    with pytest.raises(TypeError):
        Invocation(Command.apply, "GA0020000")


def test_an_unknown_command_word_is_an_error_with_its_line(tmp_path: Path) -> None:
    dictionaries = tmp_path / "dictionaries"
    dictionaries.mkdir()
    text = (ROOT / "intents" / "dictionaries" / "questions.yaml").read_text(encoding="utf-8")
    (dictionaries / "questions.yaml").write_text(text.replace("  pay: [", "  payy: ["), encoding="utf-8")
    with pytest.raises(ContentInvalid) as raised:
        QuestionWords.load(dictionaries / "questions.yaml")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("  pay: ["))
    assert [(e.file, e.line) for e in raised.value.errors] == [("dictionaries/questions.yaml", line)]


def test_every_command_word_of_the_dictionary_means_a_command(content: Content) -> None:
    assert content.words.meaning("取消") == {Command.cancel} and content.words.means("转人工", Command.human)


def test_the_numbers_in_the_text_are_the_options_a_number_picks(content: Content) -> None:
    progress = Progress(current=1, total=3)
    replies = [
        TextReply(text="您好"),
        ChoicesReply(text="哪一项？", options=[Option(label="甲", value="/pick A"), Option(label="乙", value="/pick B")]),
        FormStepReply(key="reason", label="原因", input="text", text="原因？", progress=progress,
                      options=[Option(label="跳过", value="/skip")]),  # words to type, not numbered
        MaterialStepReply(key="m", name="材料", text="请上传", required=True, accept=[], max_bytes=1,
                          upload_label="上传", options=[Option(label="容缺", value="/defer")], progress=progress),
        CardReply(title="核对", actions=[Option(label="确认提交", value="/submit")]),
        FormStepReply(key="gender", label="性别", input="choice", text="性别？", progress=progress,
                      options=[Option(label="男", value="男"), Option(label="女", value="女")]),
    ]
    shown = "\n".join(as_text(replies, content.prompts))
    numbers = {int(n): label for n, label in re.findall(r"^(\d+)\. (.+)$", shown, re.MULTILINE)}
    picked = numbered_options(replies)
    assert numbers == {n: o.label for n, o in enumerate(picked, 1)}
    assert [o.value for o in picked] == ["/pick A", "/pick B", "/defer", "/submit", "男", "女"]
